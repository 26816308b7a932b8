"""Text cleaning and the document filters, with a count of what each filter removed.

The cleaning rule, applied to every document in order:

1. ``\r\n`` and ``\r`` become ``\n``;
2. on each line, every run of whitespace (spaces, tabs, no-break spaces, and the control
   characters Python counts as whitespace: vertical tab, form feed, the information separators)
   becomes one space, and the ends of the line are trimmed;
3. the remaining control characters (Unicode category Cc other than newline, and the
   byte-order mark) are removed;
4. three or more newlines become one blank line, and the document is stripped;
5. Unicode NFC, so that the same text typed two ways hashes (and dedupes) the same.

Then the filters, in order: ``empty`` (nothing left), ``min_chars``, ``max_chars`` and, when
``dedupe`` is on, exact duplicates by a hash of the cleaned text (the first occurrence stays).
"""

import re
import unicodedata
from dataclasses import dataclass

# Cc except \t and \n, plus DEL/C1 and the BOM; \r is handled before this runs.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff]")
_NEWLINES = re.compile(r"\r\n?")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _collapse_lines(text: str) -> str:
    # str.split() with no argument splits on every Unicode whitespace run and drops the ends: the
    # fastest way Python has to collapse spaces, line by line so that newlines survive.
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


def clean_text(text: str) -> str:
    """Normalise one document by the module's rule; may return an empty string."""
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    if "\n" not in text:
        # One line, the common case. Printable means no whitespace but the plain space, so text
        # without double or edge spaces is already clean, and most prose is.
        if not text.isprintable():
            text = " ".join(text.split())
            if not text.isprintable():
                text = " ".join(_CONTROL.sub("", text).split())
        elif "  " in text or text[:1] == " " or text[-1:] == " ":
            text = " ".join(text.split())
    else:
        text = _collapse_lines(text)
        # After collapsing, the only unprintable characters left besides newlines are controls
        # (and format characters, which stay); the check is cheap, the regex runs only when needed.
        if not text.replace("\n", "").isprintable() and _CONTROL.search(text):
            text = _collapse_lines(_CONTROL.sub("", text))
        if "\n\n\n" in text:
            text = _BLANK_RUNS.sub("\n\n", text)
        text = text.strip()
    # NFC last: a removed control character may have stood between a letter and its accent.
    return text if text.isascii() else unicodedata.normalize("NFC", text)


@dataclass
class FilterCounts:
    """How many documents were read, and how many each filter removed."""

    read: int = 0
    empty: int = 0
    too_short: int = 0
    too_long: int = 0
    passed: int = 0
    """Documents through the length filters (before de-duplication)."""
    duplicates: int = 0

    @property
    def kept(self) -> int:
        """Documents kept by every filter."""
        return self.passed - self.duplicates

    @property
    def removed(self) -> int:
        """Documents removed by any filter."""
        return self.read - self.kept

    def as_dict(self) -> dict[str, int]:
        """The counts as a flat mapping (for stats, metrics and the status details)."""
        return {
            "read": self.read,
            "empty": self.empty,
            "min_chars": self.too_short,
            "max_chars": self.too_long,
            "duplicates": self.duplicates,
            "kept": self.kept,
            "removed": self.removed,
        }


class LengthFilter:
    """Drops empty documents and those outside [min_chars, max_chars], counting each removal.

    Exact duplicates are found afterwards, over all the content keys at once
    (:func:`flows.data.split.content_order`), and recorded in the same counts.
    """

    def __init__(self, min_chars: int, max_chars: int):
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.counts = FilterCounts()

    def accept(self, text: str) -> bool:
        """True when the cleaned ``text`` passes the length filters."""
        n = len(text)
        c = self.counts
        if n == 0:
            c.empty += 1
        elif n < self.min_chars:
            c.too_short += 1
        elif n > self.max_chars:
            c.too_long += 1
        else:
            c.passed += 1
            return True
        return False

    def nothing_left_message(self) -> str:
        """The explanation when every document was removed, e.g.
        ``0 documents left: min_chars=50 removed 1,203 of 1,203``."""
        c = self.counts
        if c.read == 0:
            return "0 documents read: the sources hold no text"
        parts = [
            ("empty after cleaning", c.empty),
            (f"min_chars={self.min_chars}", c.too_short),
            (f"max_chars={self.max_chars}", c.too_long),
        ]
        removed = "; ".join(f"{name} removed {n:,} of {c.read:,}" for name, n in parts if n)
        return f"0 documents left: {removed}"
