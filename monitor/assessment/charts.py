"""Charts for the published assessment as inline SVG: no script, no library, printable, and
safe on a page with a strict Content-Security-Policy. Every label is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 720
BAR = 22
LEFT = 200


def bars(title: str, rows: Sequence[tuple[str, float]], maximum: float | None = None, unit: str = "") -> str:
    """A horizontal bar chart: one bar per (label, value), in the order given."""
    top = max([maximum or 0.0, *(v for _, v in rows)]) or 1.0
    height = 40 + BAR * len(rows)
    span = WIDTH - LEFT - 70
    parts = [_open(height, title)]
    for i, (label, value) in enumerate(rows):
        y = 30 + i * BAR
        w = max(1.0, span * value / top) if value else 0.0
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LEFT}" y="{y + 3}" width="{w:.1f}" height="{BAR - 6}" fill="#c0392b"/>'
            f'<text x="{LEFT + w + 6:.1f}" y="{y + 15}">{value:g}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line(title: str, labels: Sequence[str], values: Sequence[float | None], unit: str = "") -> str:
    """A line over the months: a gap where a month has no value."""
    height, bottom, left = 220, 180, 50
    top = max([v for v in values if v is not None], default=0.0) or 1.0
    step = (WIDTH - left - 30) / max(1, len(labels) - 1)
    parts = [_open(height, title)]
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - 20}" y2="{bottom}" stroke="#999"/>')
    points: list[tuple[float, float] | None] = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * step
        parts.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{escape(label)}</text>')
        if value is None:
            points.append(None)
            continue
        y = bottom - (bottom - 40) * value / top
        points.append((x, y))
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2c6fbb"/>')
        parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{value:g}{escape(unit)}</text>')
    run: list[str] = []
    for p in [*points, None]:
        if p is None:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="#2c6fbb" stroke-width="2"/>'
                )
            run = []
        else:
            run.append(f"{p[0]:.1f},{p[1]:.1f}")
    parts.append("</svg>")
    return "".join(parts)


def _open(height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-size="12" font-family="sans-serif">'
        f"<title>{escape(title)}</title>"
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>'
    )
