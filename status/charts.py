"""Charts drawn on the server as SVG: line charts of training curves, bar charts of histograms.

Pure functions returning SVG text: no script, no fonts or styles fetched from anywhere, so the
project page draws its charts offline, in a static export and in any browser. Every point is
drawn where its value says (and carries its value in ``data-x``/``data-y`` and a tooltip).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
BAR_COLOR = "#4c72b0"
_GRID = "#e6e6e6"
_AXIS = "#888"
_TEXT = "#333"
_FONT = "font-family=\"Verdana,DejaVu Sans,sans-serif\""
_MARGIN = {"left": 64, "right": 16, "top": 34, "bottom": 46}


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend, ``[x, y]`` points, a colour."""

    name: str
    points: Sequence[Sequence[float]]
    color: str = PALETTE[0]


def format_number(value: float) -> str:
    """A short label: ``1200`` → ``1.2k``, ``0.000123`` → ``1.23e-04``, ``5.40`` → ``5.4``."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= size:
            return f"{value / size:.3g}{unit}"
    if magnitude < 1e-3:
        return f"{value:.2e}"
    return f"{value:.3g}"


def nice_ticks(lo: float, hi: float, count: int = 5, integers: bool = False) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (steps of 1, 2, 2.5 or 5 times a power of ten).

    With ``integers`` (training steps, say) every tick is a whole number.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("tick range must be finite")
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    steps = (m * power for m in (1, 2, 2.5, 5, 10) if not (integers and (m * power) % 1))
    step = next((s for s in steps if s >= raw), 10 * power)
    if integers:
        step = max(1, step)
    first = math.floor(lo / step) * step
    ticks: list[float] = []
    # Multiples of the step rather than repeated sums, so no error accumulates.
    for i in range(64):
        value = round(first + i * step, 12)
        ticks.append(value)
        if value >= hi and i >= 1:
            break
    return ticks


def _finite(points: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    out = []
    for p in points:
        try:
            x, y = float(p[0]), float(p[1])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isfinite(x) and math.isfinite(y):
            out.append((x, y))
    return out


def _n(value: float) -> str:
    # Two decimals are finer than a pixel; fewer bytes, stable output.
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _frame(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{_MARGIN["left"]}" y="20" font-size="13" font-weight="bold" fill="{_TEXT}" {_FONT}>{escape(title)}</text>',
    ]


def _axis_labels(width: int, height: int, x_label: str, y_label: str) -> list[str]:
    mid_x = (_MARGIN["left"] + width - _MARGIN["right"]) / 2
    mid_y = (_MARGIN["top"] + height - _MARGIN["bottom"]) / 2
    return [
        f'<text x="{_n(mid_x)}" y="{height - 8}" font-size="11" text-anchor="middle" fill="{_TEXT}" {_FONT}>{escape(x_label)}</text>',
        f'<text x="14" y="{_n(mid_y)}" font-size="11" text-anchor="middle" fill="{_TEXT}" {_FONT} '
        f'transform="rotate(-90 14 {_n(mid_y)})">{escape(y_label)}</text>',
    ]


def empty_chart(title: str, note: str = "no data yet", width: int = 560, height: int = 120) -> str:
    """A placeholder of a chart with nothing to draw yet."""
    parts = _frame(width, height, title)
    parts.append(
        f'<text x="{width / 2:.0f}" y="{height / 2 + 10:.0f}" font-size="12" text-anchor="middle" fill="#777" {_FONT}>{escape(note)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str = "step",
    y_label: str = "",
    width: int = 560,
    height: int = 260,
) -> str:
    """A line chart of one or more series; non-finite points are left out. Empty input draws a placeholder."""
    drawn = [(s, _finite(s.points)) for s in series]
    drawn = [(s, pts) for s, pts in drawn if pts]
    if not drawn:
        return empty_chart(title, width=width)
    xs = [x for _, pts in drawn for x, _ in pts]
    ys = [y for _, pts in drawn for _, y in pts]
    x_ticks = nice_ticks(min(xs), max(xs), 6, integers=all(x.is_integer() for x in xs))
    y_ticks = nice_ticks(min(ys), max(ys), 5)
    left, right = _MARGIN["left"], width - _MARGIN["right"]
    top, bottom = _MARGIN["top"], height - _MARGIN["bottom"]
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (right - left)

    def py(y: float) -> float:
        return bottom - (y - y0) / (y1 - y0) * (bottom - top)

    parts = _frame(width, height, title)
    for t in y_ticks:
        y = py(t)
        parts.append(f'<line x1="{left}" y1="{_n(y)}" x2="{right}" y2="{_n(y)}" stroke="{_GRID}"/>')
        parts.append(
            f'<text x="{left - 6}" y="{_n(y + 4)}" font-size="10" text-anchor="end" fill="{_TEXT}" {_FONT}>{format_number(t)}</text>'
        )
    for t in x_ticks:
        x = px(t)
        parts.append(f'<line x1="{_n(x)}" y1="{bottom}" x2="{_n(x)}" y2="{bottom + 4}" stroke="{_AXIS}"/>')
        parts.append(
            f'<text x="{_n(x)}" y="{bottom + 16}" font-size="10" text-anchor="middle" fill="{_TEXT}" {_FONT}>{format_number(t)}</text>'
        )
    parts.append(f'<polyline points="{left},{top} {left},{bottom} {right},{bottom}" fill="none" stroke="{_AXIS}"/>')
    parts += _axis_labels(width, height, x_label, y_label)
    for i, (s, pts) in enumerate(drawn):
        coords = " ".join(f"{_n(px(x))},{_n(py(y))}" for x, y in pts)
        name = escape(s.name)
        parts.append(
            f'<polyline class="series" data-series="{name}" points="{coords}" fill="none" stroke="{s.color}" '
            'stroke-width="2" stroke-linejoin="round"/>'
        )
        for x, y in pts:
            parts.append(
                f'<circle data-series="{name}" data-x="{x!r}" data-y="{y!r}" cx="{_n(px(x))}" cy="{_n(py(y))}" r="2.5" '
                f'fill="{s.color}"><title>{name} at {x_label} {format_number(x)}: {y:.4g}</title></circle>'
            )
        legend_x = right - 150 * (len(drawn) - i)
        parts.append(f'<rect x="{legend_x}" y="12" width="12" height="3" fill="{s.color}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="17" font-size="10" fill="{_TEXT}" {_FONT}>{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    width: int = 560,
    height: int = 260,
    color: str = BAR_COLOR,
) -> str:
    """A bar chart, one bar per label. Empty input draws a placeholder."""
    pairs = [(str(label), float(v)) for label, v in zip(labels, values) if math.isfinite(float(v))]
    if not pairs:
        return empty_chart(title, width=width)
    y_ticks = nice_ticks(0, max(max(v for _, v in pairs), 1), 5)
    left, right = _MARGIN["left"], width - _MARGIN["right"]
    top, bottom = _MARGIN["top"], height - _MARGIN["bottom"]
    y1 = y_ticks[-1]
    slot = (right - left) / len(pairs)
    bar = max(1.0, slot * 0.8)

    def py(y: float) -> float:
        return bottom - y / y1 * (bottom - top)

    parts = _frame(width, height, title)
    for t in y_ticks:
        y = py(t)
        parts.append(f'<line x1="{left}" y1="{_n(y)}" x2="{right}" y2="{_n(y)}" stroke="{_GRID}"/>')
        parts.append(
            f'<text x="{left - 6}" y="{_n(y + 4)}" font-size="10" text-anchor="end" fill="{_TEXT}" {_FONT}>{format_number(t)}</text>'
        )
    small = len(pairs) > 8
    for i, (label, v) in enumerate(pairs):
        x = left + i * slot + (slot - bar) / 2
        top_y = py(v)
        parts.append(
            f'<rect class="bar" data-label="{escape(label)}" data-value="{v!r}" x="{_n(x)}" y="{_n(top_y)}" '
            f'width="{_n(bar)}" height="{_n(bottom - top_y)}" fill="{color}"><title>{escape(label)}: {format_number(v)}</title></rect>'
        )
        cx, ly = x + bar / 2, bottom + 14
        # Many bars leave no room for level labels: slant them.
        slant = f' transform="rotate(-30 {_n(cx)} {ly})"' if small else ""
        anchor = "end" if small else "middle"
        parts.append(
            f'<text x="{_n(cx)}" y="{ly}" font-size="{9 if small else 10}" text-anchor="{anchor}" fill="{_TEXT}" {_FONT}{slant}>'
            f"{escape(label)}</text>"
        )
    parts.append(f'<polyline points="{left},{top} {left},{bottom} {right},{bottom}" fill="none" stroke="{_AXIS}"/>')
    parts += _axis_labels(width, height, x_label, y_label)
    parts.append("</svg>")
    return "".join(parts)
