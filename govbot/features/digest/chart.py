"""The digest's 12-week chart: velocity as bars, incidents per feature as a line on a second axis, as PNG bytes.

matplotlib's object API on the Agg canvas (no pyplot: no global figure state, safe from several threads), with
the DejaVu Sans font matplotlib ships, so drawing needs no display, no system font and no network. The PNG carries
no creation time, so the same weeks always give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from govbot.domain.digest import ChartWeek

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 4.0, 100
BAR_COLOUR = "#4C72B0"
LINE_COLOUR = "#C44E52"


def _short(week: ChartWeek) -> str:
    return f"W{week.week.week:02d}"


def render_png(weeks: Sequence[ChartWeek], *, title: str, unit: str = "points") -> bytes:
    """The chart of ``weeks`` (oldest first) as PNG bytes; a week without values draws no bar and no point."""
    with matplotlib.rc_context({"font.family": "DejaVu Sans", "font.size": 9}):
        figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
        FigureCanvasAgg(figure)
        bars = figure.add_subplot(1, 1, 1)
        positions = list(range(len(weeks)))
        heights = [w.velocity if w.velocity is not None else 0.0 for w in weeks]
        bars.bar(positions, heights, color=BAR_COLOUR, label=f"velocity ({unit})", width=0.6)
        bars.set_ylabel(f"velocity ({unit})")
        bars.set_xticks(positions, [_short(w) for w in weeks])
        bars.set_title(title)
        bars.set_ylim(0, max(heights + [1.0]) * 1.3)  # headroom for the legend
        line = bars.twinx()
        points = [(x, w.incidents_per_feature) for x, w in zip(positions, weeks, strict=True)]
        known = [(x, y) for x, y in points if y is not None]
        if known:
            line.plot(
                [x for x, _ in known], [y for _, y in known], color=LINE_COLOUR, marker="o",
                label="incidents per feature",
            )
        line.set_ylabel("incidents per feature")
        line.set_ylim(0, max([y for _, y in known] + [1.0]) * 1.3)
        handles = bars.get_legend_handles_labels()[0] + line.get_legend_handles_labels()[0]
        bars.legend(handles=handles, loc="upper left", fontsize=8, ncols=2)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def alt_text(weeks: Sequence[ChartWeek], *, team: str, unit: str = "points") -> str:
    """What the chart shows, in words, for screen readers (Slack's alt text)."""
    shown = [w for w in weeks if w.velocity is not None]
    if not shown:
        return f"Chart of the last {len(weeks)} weeks of team {team}: no week has figures yet."
    first, last = shown[0], shown[-1]
    speeds = ", ".join(f"{_short(w)} {w.velocity:g}" for w in shown)
    ratios = [w for w in shown if w.incidents_per_feature is not None]
    quality = (
        f"Incidents per feature went from {ratios[0].incidents_per_feature:.2f} in {_short(ratios[0])} "
        f"to {ratios[-1].incidents_per_feature:.2f} in {_short(ratios[-1])}."
        if ratios
        else "No week shipped a feature, so incidents per feature has no points."
    )
    return (
        f"Bar chart of the velocity of team {team}, in {unit} per week, from {first.week.label} to "
        f"{last.week.label}: "
        f"{speeds}. {quality}"
    )
