"""The overview's trend as an inline SVG, drawn on the server: numbers only, no script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.console.overview import DayCount

WIDTH, HEIGHT, PAD = 640, 200, 30


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    level: str
    count: int
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]  # x, day
    top: int
    baseline: float


def trend_chart(days: Sequence[DayCount]) -> Chart:
    top = max([d.yellow + d.red for d in days] + [1])
    slot = (WIDTH - 2 * PAD) / max(len(days), 1)
    scale = (HEIGHT - 2 * PAD) / top
    baseline = HEIGHT - PAD
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for i, d in enumerate(days):
        x = PAD + i * slot + slot * 0.15
        width = slot * 0.7
        red_h = d.red * scale
        yellow_h = d.yellow * scale
        day = f"{d.day.month}月{d.day.day}日"
        bars.append(Bar(x, baseline - red_h, width, red_h, "red", d.red, day))
        bars.append(Bar(x, baseline - red_h - yellow_h, width, yellow_h, "yellow", d.yellow, day))
        labels.append((x + width / 2, f"{d.day.month}/{d.day.day}"))
    return Chart(WIDTH, HEIGHT, tuple(bars), tuple(labels), top, baseline)
