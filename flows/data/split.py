"""Content keys: the hash that dedupes a document, orders it, and sends it to train or validation.

Everything here depends on a document's cleaned text alone, so a document lands on the same
side, in the same place, whatever the order of the files and whatever is added later.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

KEY_BYTES = 16
_SPAN = 2**64


def document_key(text: str) -> bytes:
    """A 16-byte content hash of a cleaned document."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_BYTES).digest()


def is_validation(key: bytes, fraction: float) -> bool:
    """True when the document belongs to validation: the last 8 bytes of its key, read as a
    fraction of 2**64, fall below ``fraction``."""
    return int.from_bytes(key[8:16], "big") < validation_threshold(fraction)


def validation_threshold(fraction: float) -> int:
    """The bound below which a key's last 8 bytes send its document to validation."""
    return int(fraction * _SPAN)


def corpus_digest(keys: Iterable[bytes]) -> str:
    """The SHA-256 of the sorted document keys: the same documents give the same digest in any order."""
    h = hashlib.sha256()
    for key in sorted(keys):
        h.update(key)
    return h.hexdigest()


@dataclass(frozen=True)
class ContentOrder:
    """The documents to keep, in content order, and what that decided."""

    rows: np.ndarray
    """Row numbers (in reading order) of the kept documents, sorted by key."""
    validation: np.ndarray
    """For each of ``rows``, whether the document belongs to validation (:func:`is_validation`)."""
    duplicates: int
    digest: str
    """:func:`corpus_digest` of the kept documents' keys."""


def content_order(keys: bytes | bytearray, dedupe: bool, fraction: float) -> ContentOrder:
    """Sort the documents by their concatenated 16-byte ``keys``, split them by ``fraction``, and
    with ``dedupe`` keep only the first occurrence of each. 16 bytes a document, in numpy rather
    than a set of Python objects."""
    packed = np.frombuffer(bytes(keys), dtype=">u8").reshape(-1, 2)
    hi, lo = packed[:, 0].astype(np.uint64), packed[:, 1].astype(np.uint64)
    # lexsort is stable: among equal keys the earliest document comes first, and is the one kept.
    rows = np.lexsort((lo, hi))
    hi, lo = hi[rows], lo[rows]
    duplicates = 0
    if dedupe and len(rows) > 1:
        repeat = np.zeros(len(rows), dtype=bool)
        repeat[1:] = (hi[1:] == hi[:-1]) & (lo[1:] == lo[:-1])
        duplicates = int(repeat.sum())
        rows, hi, lo = rows[~repeat], hi[~repeat], lo[~repeat]
    # Big-endian (hi, lo) pairs are the keys' own bytes, so this equals corpus_digest of the kept keys.
    digest = hashlib.sha256(np.column_stack([hi, lo]).astype(">u8").tobytes()).hexdigest()
    validation = lo < np.uint64(validation_threshold(fraction))
    return ContentOrder(rows.astype(np.int64), validation, duplicates, digest)
