"""Badges are byte-identical to shields' badge-maker 6.x: golden files it rendered, every style.

The golden SVGs and ``cases.json`` come from ``bench/badge-maker/make-golden.mjs``; this suite
does not need node.
"""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from status.badge import STYLES, endpoint_json, normalize_color, render_badge
from status.model import COLORS, STATES
from status.widths import text_width

GOLDEN = Path(__file__).parent / "golden"
CASES = json.loads((GOLDEN / "cases.json").read_text(encoding="utf-8"))["cases"]
SVG = "{http://www.w3.org/2000/svg}"


def _render(case: dict) -> str:
    return render_badge(
        case["label"],
        case["message"],
        case.get("color"),
        label_color=case.get("labelColor"),
        style=case["style"],
        links=case.get("links", ("", "")),
        id_suffix=case.get("idSuffix", ""),
    )


def test_the_golden_set_covers_every_style_and_the_hard_texts():
    styles = {c["style"] for c in CASES}
    assert styles == set(STYLES)
    texts = " ".join(c["label"] + c["message"] for c in CASES)
    assert "训练" in texts and "😀" in texts and "<" in texts and "&" in texts
    assert max(len(c["message"]) for c in CASES) > 100


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_badge_matches_badge_maker_byte_for_byte(case):
    expected = (GOLDEN / f"{case['name']}.svg").read_text(encoding="utf-8")
    assert _render(case) == expected


@pytest.mark.parametrize("style", STYLES)
def test_a_badge_says_what_it_shows_to_screen_readers(style):
    root = ET.fromstring(render_badge("training", "stalled · no heartbeat for 5m", "orange", style=style))
    label = "TRAINING: STALLED · NO HEARTBEAT FOR 5M" if style == "for-the-badge" else None
    expected = label or ("Training: stalled · no heartbeat for 5m" if style == "social" else "training: stalled · no heartbeat for 5m")
    assert root.get("role") == "img"
    assert root.get("aria-label") == expected
    assert root.find(f"{SVG}title").text == expected


_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp")), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(label=_TEXT, message=_TEXT, style=st.sampled_from(STYLES))
def test_any_text_yields_well_formed_svg_with_the_text_intact(label, message, style):
    # \ufeff is whitespace to JavaScript's trim(); keep it inside the text so nothing is trimmed.
    label, message = f"a{label}z", f"b{message}y"
    svg = render_badge(label, message, "blue", style=style)
    root = ET.fromstring(svg)  # every character escaped where needed: the document parses
    texts = {t.text for t in root.iter(f"{SVG}text")}
    if style == "for-the-badge":
        label, message = label.upper(), message.upper()
    elif style == "social":
        label = label[0].upper() + label[1:]
    assert {label, message} <= texts
    assert root.get("aria-label") == f"{label}: {message}"
    assert float(root.get("width")) > 0


def test_state_colours_follow_the_spec():
    expected = {
        "brightgreen": {"ready", "passing", "live"},
        "blue": {"preparing", "training", "deploying"},
        "red": {"failed", "down"},
        "lightgrey": {"unknown"},
    }
    for color, states in expected.items():
        for state in states:
            assert COLORS[state] == color
    for state in ("stale", "stalled", "degraded", "drift"):
        assert COLORS[state] in ("yellow", "orange")
    every = {s for states in STATES.values() for s in states}
    assert every <= set(COLORS)
    # And the fill drawn is shields' hex for the name.
    assert 'fill="#dd4343"' in render_badge("serving", "down", COLORS["down"])
    assert 'fill="#4b0"' in render_badge("data", "ready", COLORS["ready"])


def test_widths_come_from_anafanafos_verdana_table():
    # Known values of anafanafo's 11px Verdana table (a wrong table would shift every badge).
    assert text_width("m") == pytest.approx(10.7)
    assert text_width("data") == pytest.approx(24.4)
    assert text_width("\x07") == 0.0
    assert text_width("\U00030000") == text_width("m")  # no width known: guessed as an "m"
    assert text_width("DATA", "bold 10px Verdana") > text_width("DATA", "10px Verdana")


def test_colour_names_and_hex_normalise_like_badge_maker():
    assert normalize_color("success") == "brightgreen"
    assert normalize_color("ABC") == "#abc"
    assert normalize_color("#ABCDEF") == "#abcdef"
    assert normalize_color("abc\n") is None
    assert normalize_color("javascript:alert(1)") is None


def test_endpoint_json_only_carries_keys_shields_accepts():
    body = endpoint_json(" data ", "", "nonsense")
    assert body == {
        "schemaVersion": 1,
        "label": "data",
        "message": "unknown",
        "color": "lightgrey",
        "isError": False,
        "cacheSeconds": 300,
    }


def test_unknown_style_and_bad_id_suffix_are_refused():
    with pytest.raises(ValueError, match="unknown badge style"):
        render_badge("a", "b", style="round")
    with pytest.raises(ValueError, match="id_suffix"):
        render_badge("a", "b", id_suffix="x y")
