"""Text widths as shields measures them: anafanafo's per-character width tables.

The tables (``status/widths-*.json``) are anafanafo's data files, MIT-licensed, copied verbatim
with their notice by ``bench/badge-maker/export-widths.cjs``. Each holds sorted, disjoint
``[first, last, width]`` code-point ranges. A table is read on first use, then kept.
"""

import json
from bisect import bisect_right
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent

FONTS: dict[str, str] = {
    "11px Verdana": "verdana-11px-normal",
    "10px Verdana": "verdana-10px-normal",
    "bold 10px Verdana": "verdana-10px-bold",
    "bold 11px Helvetica": "helvetica-11px-bold",
}


class WidthTable:
    """Widths of one font, measured the way ``char-width-table-consumer`` does."""

    def __init__(self, ranges: list[list[float]]):
        self._firsts = [int(r[0]) for r in ranges]
        self._lasts = [int(r[1]) for r in ranges]
        self._widths = [float(r[2]) for r in ranges]
        self._ascii = [self._lookup(code) for code in range(128)]
        # Characters missing from the table are guessed as wide as "m".
        self.em_width = self._lookup(ord("m"))

    def _lookup(self, code: int) -> float | None:
        if code <= 31 or code == 127:
            return 0.0
        i = bisect_right(self._firsts, code) - 1
        if i >= 0 and code <= self._lasts[i]:
            return self._widths[i]
        return None

    def width_of(self, text: str) -> float:
        """The summed width of ``text``, adding character by character in order (as JavaScript does)."""
        total = 0.0
        ascii_widths = self._ascii
        for ch in text:
            code = ord(ch)
            width = ascii_widths[code] if code < 128 else self._lookup(code)
            total += self.em_width if width is None else width
        return total


@cache
def table(font: str) -> WidthTable:
    """The width table of ``font`` (one of :data:`FONTS`), loaded once."""
    try:
        name = FONTS[font]
    except KeyError:
        raise ValueError(f"no width table for font {font!r}; fonts are {', '.join(FONTS)}") from None
    doc = json.loads((_HERE / f"widths-{name}.json").read_text(encoding="utf-8"))
    return WidthTable(doc["ranges"])


def text_width(text: str, font: str = "11px Verdana") -> float:
    """Width in pixels of ``text`` set in ``font``, as anafanafo computes it."""
    return table(font).width_of(text)
