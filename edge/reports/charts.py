"""Charts as SVG, made once and used twice: inline in the HTML report and drawn by fpdf2 in the
PDF. Plain shapes and text only (what fpdf2's SVG renderer draws faithfully)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

#: The dashboard's series colours (colour-blind safe), one per week from oldest to newest.
WEEK_COLOURS = ("#c7d7e8", "#a6c3de", "#7fa9d1", "#5b8fc2", "#3a73b0", "#1f5a99", "#0b3f73")


def trend_svg(
    machines: list[tuple[str, list[tuple[str, float | None]]]],
    target: float | None,
    label: Callable[[float], str],
    width: int = 720,
    height: int = 240,
) -> str:
    """Grouped bars: per machine, its OEE in each week (oldest to newest), with the target as
    a dashed line. ``label`` writes a ratio in the reader's percent format."""
    left, right, top, bottom = 40, 10, 16, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica" font-size="10">'
    ]
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="#dddddd" stroke-width="0.5"/>'
        )
        out.append(
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#555555">{pct}</text>'
        )
    group = plot_w / max(len(machines), 1)
    for i, (name, weeks) in enumerate(machines):
        bar = group * 0.8 / max(len(weeks), 1)
        x0 = left + i * group + group * 0.1
        for j, (_week, oee) in enumerate(weeks):
            if oee is None:
                continue
            h = plot_h * max(0.0, min(oee, 1.2)) / 1.0
            colour = WEEK_COLOURS[max(0, len(WEEK_COLOURS) - len(weeks) + j)]
            out.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar * 0.9:.1f}" '
                f'height="{h:.1f}" fill="{colour}"/>'
            )
        last = weeks[-1][1] if weeks else None
        if last is not None:
            out.append(
                f'<text x="{x0 + (len(weeks) - 0.5) * bar:.1f}" '
                f'y="{top + plot_h - plot_h * min(last, 1.0) - 3:.1f}" text-anchor="middle" '
                f'fill="#0b3f73">{escape(label(last))}</text>'
            )
        out.append(
            f'<text x="{x0 + group * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'fill="#222222">{escape(name)}</text>'
        )
    if target is not None:
        y = top + plot_h * (1 - target)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#c0392b" '
            f'stroke-width="1" stroke-dasharray="4,3"/>'
        )
    if machines:
        names = [w for w, _ in machines[0][1]]
        x = left
        for j, w in enumerate(names):
            colour = WEEK_COLOURS[max(0, len(WEEK_COLOURS) - len(names) + j)]
            out.append(f'<rect x="{x}" y="{height - 16}" width="10" height="8" fill="{colour}"/>')
            out.append(f'<text x="{x + 13}" y="{height - 9}" fill="#333333">{escape(w)}</text>')
            x += 70
    out.append("</svg>")
    return "\n".join(out)
