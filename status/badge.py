"""SVG badges identical to shields' renderer, the npm package ``badge-maker`` 6.x.

A line-by-line port of ``badge-maker/lib/badge-renderers.js`` (and its colour and XML helpers):
the same widths (anafanafo's tables, :mod:`status.widths`), heights, colours, ``textLength``,
gradients, ``role="img"``, ``aria-label`` and ``<title>``, attribute order and number formatting,
so the output is byte-for-byte what badge-maker writes. Golden files made by badge-maker itself
(``bench/badge-maker/make-golden.mjs``) keep it honest.

Pure: no I/O beyond reading a width table once.
"""

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from status.widths import text_width

STYLES: tuple[str, ...] = ("flat", "flat-square", "plastic", "for-the-badge", "social")

NAMED_COLORS: dict[str, str] = {
    "brightgreen": "#4b0",
    "green": "#67ac09",
    "yellow": "#d8b800",
    "yellowgreen": "#95991a",
    "orange": "#ea7233",
    "red": "#dd4343",
    "blue": "#007ec6",
    "grey": "#555",
    "lightgrey": "#939393",
}

COLOR_ALIASES: dict[str, str] = {
    "gray": "grey",
    "lightgray": "lightgrey",
    "critical": "red",
    "important": "orange",
    "success": "brightgreen",
    "informational": "blue",
    "inactive": "lightgrey",
}

_FONT_SCALE_UP = 10
_FONT_SCALE_DOWN = "scale(.1)"
_FONT_FAMILY = "Verdana,Geneva,DejaVu Sans,sans-serif"
_WIDTH_FONT = "11px Verdana"
_SOCIAL_FONT_FAMILY = "Helvetica Neue,Helvetica,Arial,sans-serif"
_DEFAULT_TEXT_FILL = "#fff"

_HEX_RE = re.compile(r"^(?:[0-9a-f]{3}){1,2}$", re.IGNORECASE)
# JavaScript's \s and String.prototype.trim() whitespace (differs from Python's str.isspace()).
_JS_SPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_STRIP_AFTER_GT = re.compile(f">[{_JS_SPACE}]+")
_STRIP_AFTER_LT = re.compile(f"<[{_JS_SPACE}]+")
_TRIM = re.compile(f"^[{_JS_SPACE}]+|[{_JS_SPACE}]+$")


# -- colours ------------------------------------------------------------------------------------


def normalize_color(color: str | None) -> str | None:
    """A colour as badge-maker's JSON output names it: a named colour, ``#hex``, or None if unusable.

    Named colours, their aliases and hex (with or without ``#``) are understood; other CSS colour
    syntaxes are not, and fall back to the default colour like an invalid one.
    """
    if color is None:
        return None
    if color in NAMED_COLORS:
        return color
    if color in COLOR_ALIASES:
        return COLOR_ALIASES[color]
    if _HEX_RE.fullmatch(color):
        return f"#{color.lower()}"
    if color.startswith("#") and _HEX_RE.fullmatch(color[1:]):
        return color.lower()
    return None


def svg_color(color: str | None) -> str | None:
    """The fill a colour is drawn with (a named colour becomes its hex)."""
    normalized = normalize_color(color)
    if normalized in NAMED_COLORS:
        return NAMED_COLORS[normalized]
    return normalized


def _brightness(color: str | None) -> float:
    if not color or not color.startswith("#"):
        return 0.0
    digits = color[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    value = (r * 299 + g * 587 + b * 114) / 255000
    # JavaScript's toFixed(2): the exact binary value rounded half up.
    return float(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _colors_for_background(color: str | None) -> tuple[str, str]:
    if _brightness(color) <= 0.69:
        return _DEFAULT_TEXT_FILL, "#010101"
    return "#333", "#ccc"


# -- XML ----------------------------------------------------------------------------------------


def escape_xml(text: str) -> str:
    """Escape text for XML content and attribute values, as badge-maker does."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def _strip_xml_whitespace(xml: str) -> str:
    return _TRIM.sub("", _STRIP_AFTER_LT.sub("<", _STRIP_AFTER_GT.sub(">", xml)))


def _js_trim(text: str) -> str:
    return _TRIM.sub("", text)


def _num(value: float | int) -> str:
    # JavaScript's Number#toString for the values a badge holds: integers without ".0".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return repr(value)


def _attr(value: object) -> str:
    if isinstance(value, (int, float)):
        return _num(value)
    return escape_xml(str(value))


class _El:
    """An XML element rendered like badge-maker's ``XmlElement``."""

    __slots__ = ("name", "content", "attrs")

    def __init__(self, name: str, content: Sequence[object] = (), attrs: dict[str, object] | None = None):
        self.name = name
        self.content = list(content)
        self.attrs = attrs or {}

    def render(self) -> str:
        attrs = "".join(f' {k}="{_attr(v)}"' for k, v in self.attrs.items())
        if self.content:
            inner = " ".join(_render(c) for c in self.content)
            return _strip_xml_whitespace(f"<{self.name}{attrs}>{inner}</{self.name}>")
        return _strip_xml_whitespace(f"<{self.name}{attrs}/>")


class _List:
    """Several elements rendered one after another, unwrapped (badge-maker's ``ElementList``)."""

    __slots__ = ("content",)

    def __init__(self, content: Sequence[object]):
        self.content = list(content)

    def render(self) -> str:
        return "".join(_render(c) for c in self.content)


def _render(item: object) -> str:
    if isinstance(item, (_El, _List)):
        return item.render()
    return escape_xml(str(item))


# -- measuring ----------------------------------------------------------------------------------


def _round_up_to_odd(value: int) -> int:
    return value + 1 if value % 2 == 0 else value


def _js_int(value: float) -> int:
    # JavaScript's `x | 0` on the (small, non-negative) widths involved: truncation.
    return int(value)


def _preferred_width(text: str, font: str) -> int:
    return _round_up_to_odd(_js_int(text_width(text, font)))


def _utf16_length(text: str) -> int:
    # JavaScript's String#length counts UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


def _accessible_text(label: str, message: str) -> str:
    return f"{label}: {message}" if label else message


def _links(links: Sequence[str]) -> tuple[bool, bool, bool]:
    left = links[0] if len(links) > 0 else ""
    right = links[1] if len(links) > 1 else ""
    has_left, has_right = bool(left), bool(right)
    return has_left and has_right, has_left, has_right


def _wrap_body_with_link(links: Sequence[str]) -> bool:
    _, has_left, has_right = _links(links)
    return has_left and not has_right


def _with_text_fill(attrs: dict[str, object], text_color: str) -> dict[str, object]:
    # Parent groups set fill="#fff"; children repeat a fill only when it differs.
    return attrs if text_color == _DEFAULT_TEXT_FILL else {**attrs, "fill": text_color}


def _render_badge(
    links: Sequence[str], left_width: float, right_width: float, height: int, accessible: str, content: list
) -> str:
    width = left_width + right_width
    has_link, _, _ = _links(links)
    title = "" if has_link else _El("title", [accessible])
    if _wrap_body_with_link(links):
        body: object = _El("a", content, {"target": "_blank", "href": links[0]})
    else:
        body = _List(content)
    attrs: dict[str, object] = {"xmlns": "http://www.w3.org/2000/svg", "width": width, "height": height}
    if not has_link:
        attrs["role"] = "img"
        attrs["aria-label"] = accessible
    return _El("svg", [title, body], attrs).render()


# -- flat, flat-square, plastic -----------------------------------------------------------------


class _Classic:
    """The shared geometry of the flat, flat-square and plastic styles (badge-maker's ``Badge``)."""

    height = 20
    vertical_margin = 0
    shadow = True

    def __init__(self, label: str, message: str, links: Sequence[str], color: str, label_color: str | None, id_suffix: str):
        horiz_padding = 5
        self.accessible = _accessible_text(label, message)
        has_label = bool(label) or bool(label_color)
        if label_color is None:
            label_color = "#555"
        label_color = label_color if has_label else color
        label_width = _preferred_width(label, _WIDTH_FONT) if label else 0
        left_width = label_width + 2 * horiz_padding if has_label else 0
        message_width = _preferred_width(message, _WIDTH_FONT)
        message_margin = left_width - (1 if message else 0)
        if not has_label:
            message_margin += 1
        right_width = message_width + 2 * horiz_padding

        self.horiz_padding = horiz_padding
        self.label_margin = 1
        self.message_margin = message_margin
        self.links = list(links)
        self.label_width = label_width
        self.message_width = message_width
        self.left_width = left_width
        self.right_width = right_width
        self.width = left_width + right_width
        self.label_color = label_color
        self.color = color
        self.label = label
        self.message = message
        self.id_suffix = id_suffix

    def _text(self, left_margin: int, content: str, link: str | None, color: str, text_width: int, link_width: int):
        if not content:
            return ""
        text_color, shadow_color = _colors_for_background(color)
        x = _FONT_SCALE_UP * (left_margin + 0.5 * text_width + self.horiz_padding)
        y = 140 + self.vertical_margin
        text_length = _FONT_SCALE_UP * text_width
        if self.shadow:
            text = _El("text", [content], _with_text_fill({"x": x, "y": y, "textLength": text_length}, text_color))
            shadow_y = y + 10
            shadow_text = _El("text", [content], {"x": x, "y": shadow_y, "fill-opacity": ".3", "textLength": text_length})
            shadow_blur = _El(
                "text",
                [content],
                {"x": x, "y": shadow_y, "fill-opacity": ".8", "filter": "url(#blur)", "textLength": text_length},
            )
            shadow_group = _El("g", [shadow_blur, shadow_text], {"aria-hidden": "true", "fill": shadow_color})
            element: _El = _El("g", [shadow_group, text], {"transform": _FONT_SCALE_DOWN})
        else:
            element = _El(
                "text",
                [content],
                _with_text_fill({"x": x, "y": y, "textLength": text_length, "transform": _FONT_SCALE_DOWN}, text_color),
            )
        if not link:
            return element
        rect = _El(
            "rect",
            attrs={
                "width": link_width,
                "x": left_margin + 1 if left_margin > 1 else 0,
                "height": self.height,
                "fill": "rgba(0,0,0,0)",
            },
        )
        return _El("a", [rect, element], {"target": "_blank", "href": link})

    def _foreground(self) -> _El:
        left_link = self.links[0] if self.links else ""
        right_link = self.links[1] if len(self.links) > 1 else ""
        label = self._text(
            self.label_margin,
            self.label,
            None if _wrap_body_with_link(self.links) else left_link,
            self.label_color,
            self.label_width,
            self.left_width,
        )
        message = self._text(
            self.message_margin, self.message, right_link, self.color, self.message_width, self.right_width
        )
        return _El(
            "g",
            ["", label, message],
            {
                "fill": _DEFAULT_TEXT_FILL,
                "text-anchor": "middle",
                "font-family": _FONT_FAMILY,
                "text-rendering": "geometricPrecision",
                "font-size": 110,
            },
        )

    def _clip_path(self, rx: int) -> _El:
        return _El("clipPath", [_El("rect", attrs={"width": self.width, "height": self.height, "rx": rx})], {"id": f"r{self.id_suffix}"})

    def _background(self, with_gradient: bool, attrs: dict[str, object]) -> _El:
        left = _El("rect", attrs={"width": self.left_width, "height": self.height, "fill": self.label_color})
        right = _El("rect", attrs={"x": self.left_width, "width": self.right_width, "height": self.height, "fill": self.color})
        gradient = _El("rect", attrs={"width": self.width, "height": self.height, "fill": f"url(#s{self.id_suffix})"})
        return _El("g", [left, right, gradient] if with_gradient else [left, right], attrs)

    @staticmethod
    def _blur() -> _El:
        return _El("filter", [_El("feGaussianBlur", attrs={"stdDeviation": "16"})], {"id": "blur"})

    def _finish(self, content: list) -> str:
        return _render_badge(self.links, self.left_width, self.right_width, self.height, self.accessible, content)


class _Flat(_Classic):
    height, vertical_margin, shadow = 20, 0, True

    def render(self) -> str:
        gradient = _El(
            "linearGradient",
            [
                _El("stop", attrs={"offset": 0, "stop-color": "#bbb", "stop-opacity": ".1"}),
                _El("stop", attrs={"offset": 1, "stop-opacity": ".1"}),
            ],
            {"id": f"s{self.id_suffix}", "x2": 0, "y2": "100%"},
        )
        background = self._background(True, {"clip-path": f"url(#r{self.id_suffix})"})
        return self._finish([self._blur(), gradient, self._clip_path(3), background, self._foreground()])


class _Plastic(_Classic):
    height, vertical_margin, shadow = 18, -10, True

    def render(self) -> str:
        gradient = _El(
            "linearGradient",
            [
                _El("stop", attrs={"offset": 0, "stop-color": "#fff", "stop-opacity": ".7"}),
                _El("stop", attrs={"offset": ".1", "stop-color": "#aaa", "stop-opacity": ".1"}),
                _El("stop", attrs={"offset": ".9", "stop-color": "#000", "stop-opacity": ".3"}),
                _El("stop", attrs={"offset": 1, "stop-color": "#000", "stop-opacity": ".5"}),
            ],
            {"id": f"s{self.id_suffix}", "x2": 0, "y2": "100%"},
        )
        background = self._background(True, {"clip-path": f"url(#r{self.id_suffix})"})
        return self._finish([self._blur(), gradient, self._clip_path(4), background, self._foreground()])


class _FlatSquare(_Classic):
    height, vertical_margin, shadow = 20, 0, False

    def render(self) -> str:
        background = self._background(False, {"shape-rendering": "crispEdges"})
        return self._finish([background, self._foreground()])


# -- for-the-badge ------------------------------------------------------------------------------


def _for_the_badge(label: str, message: str, links: Sequence[str], color: str, label_color: str | None) -> str:
    font_size, height, text_margin, letter_spacing = 10, 28, 12, 1.25
    # Upper-cased before measuring, so widths are those of the capitals drawn.
    label, message = label.upper(), message.upper()
    _, has_left, has_right = _links(links)
    out_label_color = label_color or "#555"

    # badge-maker counts UTF-16 units here (JavaScript's .length), not characters.
    label_text_width = (
        _js_int(text_width(label, f"{font_size}px Verdana")) + letter_spacing * _utf16_length(label) if label else 0
    )
    message_text_width = (
        _js_int(text_width(message, f"bold {font_size}px Verdana")) + letter_spacing * _utf16_length(message)
        if message
        else 0
    )
    has_label = bool(label)
    label_text_min_x = text_margin
    if has_label:
        label_rect_width = label_text_min_x + label_text_width + text_margin
        message_text_min_x = label_rect_width + text_margin
    else:
        label_rect_width = 0
        message_text_min_x = text_margin
    message_rect_width = 2 * text_margin + message_text_width

    def label_element():
        text_color, _ = _colors_for_background(out_label_color)
        mid_x = label_text_min_x + 0.5 * label_text_width
        text = _El(
            "text",
            [label],
            _with_text_fill(
                {
                    "transform": _FONT_SCALE_DOWN,
                    "x": _FONT_SCALE_UP * mid_x,
                    "y": 175,
                    "textLength": _FONT_SCALE_UP * label_text_width,
                },
                text_color,
            ),
        )
        if has_left and not _wrap_body_with_link(links):
            rect = _El("rect", attrs={"width": label_rect_width, "height": height, "fill": "rgba(0,0,0,0)"})
            return _El("a", [rect, text], {"target": "_blank", "href": links[0]})
        return text

    def message_element():
        text_color, _ = _colors_for_background(color)
        mid_x = message_text_min_x + 0.5 * message_text_width
        text = _El(
            "text",
            [message],
            _with_text_fill(
                {
                    "transform": _FONT_SCALE_DOWN,
                    "x": _FONT_SCALE_UP * mid_x,
                    "y": 175,
                    "textLength": _FONT_SCALE_UP * message_text_width,
                    "font-weight": "bold",
                },
                text_color,
            ),
        )
        if has_right:
            rect = _El(
                "rect",
                attrs={
                    "width": message_rect_width,
                    "height": height,
                    "x": label_rect_width or 0,
                    "fill": "rgba(0,0,0,0)",
                },
            )
            return _El("a", [rect, text], {"target": "_blank", "href": links[1]})
        return text

    if has_label:
        background = [
            _El("rect", attrs={"width": label_rect_width, "height": height, "fill": out_label_color}),
            _El("rect", attrs={"x": label_rect_width, "width": message_rect_width, "height": height, "fill": color}),
        ]
    else:
        background = [_El("rect", attrs={"width": message_rect_width, "height": height, "fill": color})]
    foreground = _El(
        "g",
        ["", label_element() if has_label else "", message_element()],
        {
            "fill": _DEFAULT_TEXT_FILL,
            "text-anchor": "middle",
            "font-family": _FONT_FAMILY,
            "text-rendering": "geometricPrecision",
            "font-size": _FONT_SCALE_UP * font_size,
        },
    )
    return _render_badge(
        links,
        label_rect_width or 0,
        message_rect_width,
        height,
        _accessible_text(label, message),
        [_El("g", background, {"shape-rendering": "crispEdges"}), foreground],
    )


# -- social -------------------------------------------------------------------------------------


def _capitalize(text: str) -> str:
    # JavaScript's charAt(0) is one UTF-16 unit: a character outside the BMP is left alone.
    if not text or ord(text[0]) > 0xFFFF:
        return text
    return text[0].upper() + text[1:]


def _social(label: str, message: str, links: Sequence[str], id_suffix: str) -> str:
    label = _capitalize(label)
    external_height, internal_height = 20, 19
    label_horiz_padding, message_horiz_padding, horiz_gutter = 5, 4, 6
    has_message = bool(message)
    font = "bold 11px Helvetica"
    label_text_width = _preferred_width(label, font)
    message_text_width = _preferred_width(message, font)
    label_rect_width = label_text_width + 2 * label_horiz_padding
    message_rect_width = message_text_width + 2 * message_horiz_padding
    has_link, has_left, has_right = _links(links)
    accessible = _accessible_text(label, message)

    def message_bubble():
        if not has_message:
            return ""
        main_x = label_rect_width + horiz_gutter + 0.5
        notch_x = label_rect_width + horiz_gutter
        return _List(
            [
                _El(
                    "rect",
                    attrs={
                        "x": main_x,
                        "y": ".5",
                        "width": message_rect_width,
                        "height": internal_height,
                        "rx": 2,
                        "fill": "#fafafa",
                    },
                ),
                _El("rect", attrs={"x": notch_x, "y": 7.5, "width": ".5", "height": 5, "stroke": "#fafafa"}),
                _El("path", attrs={"d": f"M{_num(main_x)} 6.5 l-3 3v1 l3 3", "fill": "#fafafa"}),
            ]
        )

    def label_text():
        x = _FONT_SCALE_UP * (label_text_width / 2 + label_horiz_padding)
        text_length = _FONT_SCALE_UP * label_text_width
        wrap = has_left and not _wrap_body_with_link(links)
        rect = _El(
            "rect",
            attrs={
                "id": f"llink{id_suffix}",
                "stroke": "#d5d5d5",
                "fill": f"url(#a{id_suffix})",
                "x": ".5",
                "y": ".5",
                "width": label_rect_width,
                "height": internal_height,
                "rx": 2,
            },
        )
        shadow = _El(
            "text",
            [label],
            {
                "aria-hidden": "true",
                "x": x,
                "y": 150,
                "fill": "#fff",
                "transform": _FONT_SCALE_DOWN,
                "textLength": text_length,
            },
        )
        text = _El("text", [label], {"x": x, "y": 140, "transform": _FONT_SCALE_DOWN, "textLength": text_length})
        if wrap:
            return _El("a", [shadow, text, rect], {"target": "_blank", "href": links[0]})
        return _List([rect, shadow, text])

    def message_text():
        if not has_message:
            return ""
        x = _FONT_SCALE_UP * (label_rect_width + horiz_gutter + message_rect_width / 2)
        text_length = _FONT_SCALE_UP * message_text_width
        rect = _El(
            "rect",
            attrs={
                "width": message_rect_width + 1,
                "x": label_rect_width + horiz_gutter,
                "height": internal_height + 1,
                "fill": "rgba(0,0,0,0)",
            },
        )
        shadow = _El(
            "text",
            [message],
            {
                "aria-hidden": "true",
                "x": x,
                "y": 150,
                "fill": "#fff",
                "transform": _FONT_SCALE_DOWN,
                "textLength": text_length,
            },
        )
        text = _El(
            "text",
            [message],
            {"id": f"rlink{id_suffix}", "x": x, "y": 140, "transform": _FONT_SCALE_DOWN, "textLength": text_length},
        )
        if has_right:
            return _El("a", [rect, shadow, text], {"target": "_blank", "href": links[1]})
        return _List([shadow, text])

    style = _El(
        "style",
        [f"a:hover #llink{id_suffix}{{fill:url(#b{id_suffix});stroke:#ccc}}a:hover #rlink{id_suffix}{{fill:#4183c4}}"],
    )
    gradients = _List(
        [
            _El(
                "linearGradient",
                [
                    _El("stop", attrs={"offset": 0, "stop-color": "#fcfcfc", "stop-opacity": 0}),
                    _El("stop", attrs={"offset": 1, "stop-opacity": ".1"}),
                ],
                {"id": f"a{id_suffix}", "x2": 0, "y2": "100%"},
            ),
            _El(
                "linearGradient",
                [
                    _El("stop", attrs={"offset": 0, "stop-color": "#ccc", "stop-opacity": ".1"}),
                    _El("stop", attrs={"offset": 1, "stop-opacity": ".1"}),
                ],
                {"id": f"b{id_suffix}", "x2": 0, "y2": "100%"},
            ),
        ]
    )
    label_rect = _El(
        "rect",
        attrs={
            "stroke": "none",
            "fill": "#fcfcfc",
            "x": ".5",
            "y": ".5",
            "width": label_rect_width,
            "height": internal_height,
            "rx": 2,
        },
    )
    background = _El("g", [label_rect, message_bubble()], {"stroke": "#d5d5d5"})
    foreground = _El(
        "g",
        [label_text(), message_text()],
        {
            "aria-hidden": "false" if has_link else "true",
            "fill": "#333",
            "text-anchor": "middle",
            "font-family": _SOCIAL_FONT_FAMILY,
            "text-rendering": "geometricPrecision",
            "font-weight": 700,
            "font-size": "110px",
            "line-height": "14px",
        },
    )
    return _render_badge(
        links,
        label_rect_width + 1,
        horiz_gutter + message_rect_width if has_message else 0,
        external_height,
        accessible,
        [style, gradients, background, "", foreground],
    )


# -- entry point --------------------------------------------------------------------------------

_CLASSIC = {"flat": _Flat, "flat-square": _FlatSquare, "plastic": _Plastic}


def render_badge(
    label: str,
    message: str,
    color: str | None = None,
    *,
    label_color: str | None = None,
    style: str = "flat",
    links: Sequence[str] = ("", ""),
    id_suffix: str = "",
) -> str:
    """The SVG of one badge, byte-identical to badge-maker's ``makeBadge`` for the same input.

    ``color`` and ``label_color`` take shields' named colours or hex; an unusable colour falls
    back to the default (bright green; grey for the label), as in badge-maker.
    """
    if style not in STYLES:
        raise ValueError(f"unknown badge style {style!r}; styles are {', '.join(STYLES)}")
    if len(links) > 2:
        raise ValueError("a badge has at most two links")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", id_suffix):
        raise ValueError("id_suffix may contain only letters, digits, '-' and '_'")
    label, message = _js_trim(str(label)), _js_trim(str(message))
    links = list(links) + [""] * (2 - len(links))
    fill = svg_color(color) or "#4b0"
    label_fill = svg_color(label_color)
    if style in _CLASSIC:
        svg = _CLASSIC[style](label, message, links, fill, label_fill, id_suffix).render()
    elif style == "for-the-badge":
        svg = _for_the_badge(label, message, links, fill, label_fill)
    else:
        svg = _social(label, message, links, id_suffix)
    return _strip_xml_whitespace(svg)


def endpoint_json(label: str, message: str, color: str, *, cache_seconds: int = 300, is_error: bool = False, style: str | None = None) -> dict:
    """The shields.io endpoint-badge JSON (``schemaVersion: 1``) for ``img.shields.io/endpoint?url=…``.

    Only keys of shields' strict schema appear: shields rejects a response with any other key.
    """
    body: dict = {
        "schemaVersion": 1,
        "label": _js_trim(label),
        "message": _js_trim(message) or "unknown",
        "color": normalize_color(color) or "lightgrey",
        "isError": is_error,
        "cacheSeconds": int(cache_seconds),
    }
    if style:
        body["style"] = style
    return body
