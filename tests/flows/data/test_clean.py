"""Cleaning and filtering: the exact text a model will see, and an exact count of what was dropped."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.data.clean import LengthFilter, clean_text
from flows.data.split import content_order, document_key


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Cafe\u0301 au lait", "Caf\u00e9 au lait"),  # NFC: the combining accent joins its letter
        ("bell\x07 and\x00 null", "bell and null"),  # control characters go
        ("\ufeffbyte-order mark", "byte-order mark"),
        ("  many \t  spaces\u00a0here  ", "many spaces here"),  # tabs and no-break spaces collapse
        ("first line  \r\nsecond\r\n\r\n\r\n\r\nthird", "first line\nsecond\n\nthird"),
        ("form\x0cfeed\x0bvertical", "form feed vertical"),  # whitespace controls act as spaces
        ("a \x00 b", "a b"),  # removing a control never leaves a double space
        (" \n\t \n ", ""),
    ],
)
def test_clean_text_applies_the_documented_rule(raw, clean):
    assert clean_text(raw) == clean


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet="ab \t\n\r\x00\x0b\x0c\x1c\x85\xa0\u2028\ufeff\u200b\u00e9\u0301", max_size=16))
def test_cleaning_is_idempotent_and_leaves_no_controls_or_runs_of_space(raw):
    text = clean_text(raw)
    assert clean_text(text) == text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]|  |\n\n\n| \n|\n ", text)
    assert text == text.strip()


def _filter(docs: list[str], min_chars: int, max_chars: int, dedupe: bool) -> tuple[list[str], dict]:
    keep = LengthFilter(min_chars, max_chars)
    passed = []
    for raw in docs:
        keep.counts.read += 1
        text = clean_text(raw)
        if keep.accept(text):
            passed.append(text)
    order = content_order(b"".join(map(document_key, passed)), dedupe, 0.1)
    keep.counts.duplicates = order.duplicates
    return [passed[r] for r in sorted(order.rows.tolist())], keep.counts.as_dict()


def test_the_same_text_typed_two_ways_is_one_duplicate():
    kept, counts = _filter(["na\u00efve caf\u00e9", "nai\u0308ve cafe\u0301"], 1, 100, dedupe=True)
    assert kept == ["na\u00efve caf\u00e9"]
    assert counts["duplicates"] == 1


def test_each_filter_counts_exactly_what_it_removed():
    docs = ["", "  ", "tiny", "x" * 30, "y" * 30, "x" * 30, "z" * 500, "just right here", "just right here"]
    kept, counts = _filter(docs, min_chars=5, max_chars=100, dedupe=True)
    assert kept == ["x" * 30, "y" * 30, "just right here"]
    assert counts == {"read": 9, "empty": 2, "min_chars": 1, "max_chars": 1, "duplicates": 2, "kept": 3, "removed": 6}


def test_without_dedupe_duplicates_are_kept():
    kept, counts = _filter(["same"] * 3, 1, 100, dedupe=False)
    assert kept == ["same"] * 3 and counts["duplicates"] == 0


def test_nothing_left_names_the_filter_and_the_counts():
    keep = LengthFilter(min_chars=50, max_chars=1000)
    for i in range(1203):
        keep.counts.read += 1
        keep.accept(f"short {i}")
    assert keep.nothing_left_message() == "0 documents left: min_chars=50 removed 1,203 of 1,203"
