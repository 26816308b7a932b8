"""Tokenize and pack: documents in content order → token ids → fixed ``block_size`` blocks.

The ``group_texts`` approach of transformers' ``run_clm.py``: token ids of consecutive documents
(each followed by the end-of-text token, so the model sees where one ends) are concatenated and
cut into blocks; labels equal the inputs (the model shifts them). Unlike ``run_clm.py`` the
remainder carries over from one batch to the next, so only the tail of the whole split is lost.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TEXT_BATCH = 1000
Encoder = Callable[[list[str]], list[list[int]]]


def tokenizer_identity(tokenizer: Any) -> str:
    """A 16-hex-digit hash of the tokenizer's vocabulary and merges (and what else changes ids)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        data = json.loads(backend.to_str())
        ident: Any = {k: data.get(k) for k in ("model", "normalizer", "pre_tokenizer", "added_tokens")}
    else:
        ident = sorted(tokenizer.get_vocab().items())
    blob = json.dumps(ident, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def batch_encoder(tokenizer: Any) -> Encoder:
    """A function from a batch of texts to their token ids, on the tokenizer's batched Rust path."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return lambda texts: tokenizer(texts, add_special_tokens=False)["input_ids"]
    from tokenizers import Tokenizer

    # A private copy: the saved tokenizer may carry truncation or padding, which must not cut documents.
    fast = Tokenizer.from_str(backend.to_str())
    fast.no_truncation()
    fast.no_padding()
    encode = getattr(fast, "encode_batch_fast", fast.encode_batch)
    return lambda texts: [e.ids for e in encode(texts, add_special_tokens=False)]


class BlockPacker:
    """Concatenates token ids and cuts ``block_size`` blocks, carrying the remainder forward."""

    def __init__(self, block_size: int, eos_id: int | None):
        self.block_size = block_size
        self.eos = [] if eos_id is None else [eos_id]
        self.carry = np.empty(0, dtype=np.int64)
        self.tokens = 0
        self.blocks = 0

    def add(self, ids: list[list[int]]) -> np.ndarray:
        """Add one batch of documents' ids; return the complete blocks, shape (n, block_size)."""
        joined: list[int] = []
        for doc in ids:
            joined.extend(doc)
            joined.extend(self.eos)
        self.tokens += len(joined)
        flat = np.concatenate([self.carry, np.asarray(joined, dtype=np.int64)])
        n_blocks = len(flat) // self.block_size
        cut = n_blocks * self.block_size
        self.carry = flat[cut:].copy()
        self.blocks += n_blocks
        return flat[:cut].reshape(n_blocks, self.block_size)

    @property
    def dropped(self) -> int:
        """Tokens left over at the end, shorter than one block."""
        return len(self.carry)


def text_batches(table: Any, indices: np.ndarray, size: int = TEXT_BATCH) -> Iterator[list[str]]:
    """The ``text`` of ``indices``, in that order, ``size`` documents at a time."""
    import pyarrow as pa

    # Arrow's take over a many-chunk column costs time proportional to the whole column per call;
    # taking from each chunk separately keeps a batch's cost proportional to the batch.
    chunks = table.column("text").chunks
    starts = np.cumsum([0] + [len(c) for c in chunks])
    for begin in range(0, len(indices), size):
        batch = indices[begin : begin + size]
        which = np.searchsorted(starts, batch, side="right") - 1
        out: list[str] = [""] * len(batch)
        for chunk in np.unique(which):
            positions = np.flatnonzero(which == chunk)
            local = pa.array(batch[positions] - starts[chunk])
            for pos, text in zip(positions.tolist(), chunks[chunk].take(local).to_pylist()):
                out[pos] = text
        yield out


@dataclass(frozen=True)
class Packed:
    """What packing one split produced."""

    path: str
    documents: int
    tokens: int
    blocks: int
    dropped: int


def block_schema(block_size: int) -> Any:
    """Arrow schema of a block dataset: input_ids and labels, fixed-length int64 lists."""
    import pyarrow as pa

    kind = pa.list_(pa.int64(), block_size)
    return pa.schema([("input_ids", kind), ("labels", kind)])


def write_blocks(
    batches: Iterable[list[str]],
    encode: Encoder,
    block_size: int,
    eos_id: int | None,
    out_dir: str | Path,
    documents: int,
    progress: bool = False,
    desc: str = "tokenizing",
) -> Packed:
    """Tokenize ``batches`` and save the blocks with ``datasets.Dataset.save_to_disk`` at ``out_dir``."""
    import pyarrow as pa
    from datasets import Dataset
    from tqdm import tqdm

    out_dir = Path(out_dir)
    scratch = out_dir.with_name(out_dir.name + ".arrow")
    schema = block_schema(block_size)
    packer = BlockPacker(block_size, eos_id)
    with pa.OSFile(str(scratch), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer, tqdm(
        total=documents, desc=desc, unit=" docs", disable=not progress, mininterval=0.5
    ) as bar:
        for texts, ids in _encode_ahead(batches, encode):
            blocks = packer.add(ids)
            bar.update(len(texts))
            if len(blocks):
                column = pa.FixedSizeListArray.from_arrays(pa.array(blocks.reshape(-1)), block_size)
                # labels == input_ids: the same Arrow array twice, no copy.
                writer.write_batch(pa.record_batch([column, column], schema=schema))
    try:
        with _datasets_progress(progress):
            Dataset.from_file(str(scratch)).save_to_disk(str(out_dir))
    finally:
        scratch.unlink(missing_ok=True)
    return Packed(str(out_dir), documents, packer.tokens, packer.blocks, packer.dropped)


def _encode_ahead(batches: Iterable[list[str]], encode: Encoder) -> Iterator[tuple[list[str], list[list[int]]]]:
    """(texts, ids) per batch, encoding the next batch on a second thread while the caller packs
    and writes this one: the Rust encoder releases the GIL, so the two overlap."""
    from concurrent.futures import ThreadPoolExecutor

    it = iter(batches)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode") as pool:
        texts = next(it, None)
        pending = pool.submit(encode, texts) if texts is not None else None
        while pending is not None:
            upcoming = next(it, None)
            ids = pending.result()
            pending = pool.submit(encode, upcoming) if upcoming is not None else None
            yield texts, ids
            texts = upcoming


@contextmanager
def _datasets_progress(enabled: bool) -> Iterator[None]:
    """Let ``datasets`` draw its own bars only when ours are drawn (on a terminal)."""
    from datasets.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )

    was_disabled = are_progress_bars_disabled()
    if not enabled and not was_disabled:
        disable_progress_bars()
    try:
        yield
    finally:
        if not enabled and not was_disabled:
            enable_progress_bars()
