"""The demo's digest step: backfill 12 weeks, post the last full week's digest with its chart, keep the files."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlmodel import Session

from govbot.adapters.slack.notifier import SlackNotifier
from govbot.core import teams
from govbot.domain.digest import to_json
from govbot.features.digest import chart, messages, service

if TYPE_CHECKING:
    from govbot.demo import DemoContext


def demo_digest_step(ctx: DemoContext) -> list[str]:
    """Backfill, post once (a second run finds it posted), and leave the text, the JSON and the PNG chart."""
    engine, now = ctx.runtime.engine, ctx.runtime.clock()
    with Session(engine) as session:
        team = teams.get_team(session=session, name=ctx.team)
    if team is None:
        raise RuntimeError(f"team {ctx.team} was not imported")
    tracker = ctx.runtime.tracker()
    notifier = SlackNotifier(ctx.runtime.slack)
    report = service.backfill(engine=engine, tracker=tracker, team=team, now=now)
    outcome = service.post_week(engine=engine, tracker=tracker, notifier=notifier, team=team, now=now)
    again = service.post_week(engine=engine, tracker=tracker, notifier=notifier, team=team, now=now)
    digest = outcome.digest
    if digest is None:
        raise RuntimeError(f"the digest was not posted: {outcome.summary()}")
    stem = ctx.out_dir / f"digest-{team.name}-{digest.week.label}"
    text_path, json_path, png_path = stem.with_suffix(".txt"), stem.with_suffix(".json"), stem.with_suffix(".png")
    text_path.write_text(messages.text(digest), encoding="utf-8")
    json_path.write_text(json.dumps(to_json(digest), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    unit = digest.figures.unit if digest.figures is not None else "points"
    shared = [f for f in ctx.slack.shared_files if f["channels"] == [team.spec.digest_channel]]
    png_path.write_bytes(shared[-1]["content"] if shared else chart.render_png(list(digest.chart), title=team.name,
                                                                               unit=unit))
    ctx.artefacts.extend([text_path, json_path, png_path])
    lines = [
        f"govbot digest backfill --team {team.name}: {report.summary()}",
        f"post-digest: {outcome.summary()}; run again: {again.summary()}",
        f"chart uploaded to the channel (files upload v2), alt text: {shared[-1]['alt_txt'][:100]}…"
        if shared else "chart: not uploaded",
        f"left {text_path.name}, {json_path.name} and {png_path.name} in {ctx.out_dir}/",
        "",
    ]
    return lines + [f"    {line}" for line in messages.text(digest).splitlines()]
