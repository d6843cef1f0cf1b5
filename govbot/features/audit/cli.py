"""`govbot audit export|verify|seal-key`: the audit trail from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from govbot.adapters.db.session import session_scope
from govbot.core import audit
from govbot.core.cli import actor, engine, fail, now, out, settings

app = typer.Typer(name="audit", help="The audit trail.", no_args_is_help=True)


@app.command("export")
def audit_export(
    format: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",  # noqa: A002
    output: Annotated[Path | None, typer.Option(help="file to write (default: standard output)")] = None,
) -> None:
    """Export every audit event."""
    if format not in ("csv", "jsonl"):
        raise fail("--format must be csv or jsonl")
    s = settings()
    with Session(engine(s)) as session:
        chunks = audit.export(audit.iter_events(session=session), fmt=format)
        if output:
            with output.open("w", encoding="utf-8", newline="") as handle:
                handle.writelines(chunks)
        else:
            sys.stdout.writelines(chunks)


@app.command("verify")
def audit_verify() -> None:
    """Check the audit hash chain; exit 1 naming the first bad event."""
    s = settings()
    with Session(engine(s)) as session:
        report = audit.verify(session=session, key=s.secret_key_bytes())
    if not report.ok:
        raise fail(f"audit chain broken after {report.checked} good events: {report.problem}")
    out.print(f"audit chain intact: {report.checked} events verified")


@app.command("seal-key")
def audit_seal_key() -> None:
    """End a key rotation: from now on only the current GOVBOT_SECRET_KEY may sign audit events."""
    s = settings()
    with session_scope(engine(s)) as session:
        event = audit.seal_key(session=session, key=s.secret_key_bytes(), now=now(), actor=actor())
    out.print(f"audit key sealed: only key {event.key_id} signs from event {event.id} on")
