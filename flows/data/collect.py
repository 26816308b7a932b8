"""The cleaning pass: every source, read in order, cleaned, filtered and streamed into one Arrow file.

Memory holds one batch of documents plus a 16-byte key per document (for de-duplication, the
content order and the digest), whatever the documents' length; the text itself goes straight to
disk and is memory-mapped from there.
"""

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.data.clean import LengthFilter, clean_text
from flows.data.fetch import fetch_url
from flows.data.sources import (
    ReadStats,
    SourceFile,
    expand_path,
    format_of,
    read_documents,
    read_hf_dataset,
    source_file,
)
from flows.data.split import content_order, document_key
from flows.errors import DataError

BATCH = 16384
BATCH_CHARS = 32_000_000


@dataclass(frozen=True)
class Corpus:
    """The cleaned documents on disk (an Arrow stream file) and what the pass counted."""

    path: str
    """Arrow stream file of every document through the length filters: columns text, chars."""
    order_path: str
    """``.npz`` with ``rows`` (the kept documents in content order) and ``validation`` (their side)."""
    digest: str
    """SHA-256 of the sorted document keys."""
    counts: dict[str, int]
    per_source: dict[str, int]
    sources: list[str]
    files: list[str]
    input_bytes: int
    kept_chars: int
    replaced_chars: int
    seconds: float
    fetched: dict[str, str] = field(default_factory=dict)
    """URL → SHA-256 of what was downloaded."""

    @property
    def documents(self) -> int:
        """Documents kept."""
        return self.counts["kept"]


def corpus_schema() -> Any:
    """The Arrow schema of the cleaned corpus file."""
    import pyarrow as pa

    return pa.schema([("text", pa.string()), ("chars", pa.int32())])


def read_corpus(corpus: Corpus) -> tuple[Any, Any, Any]:
    """The corpus table (memory-mapped), and the kept rows in content order with their sides."""
    import numpy as np
    import pyarrow as pa

    order = np.load(corpus.order_path)
    return pa.ipc.open_stream(pa.memory_map(corpus.path)).read_all(), order["rows"], order["validation"]


@dataclass(frozen=True)
class _Planned:
    location: str
    where: str
    files: list[SourceFile]
    hf: Any = None


def _plan(data: Any, root: Path, downloads: Path, fetched: dict[str, str]) -> list[_Planned]:
    """Find every file (downloading URLs) before reading any, so a missing one fails fast."""
    planned = []
    for i, src in enumerate(data.sources):
        where = f"data.sources[{i}]"
        text_field = src.text_field or data.text_field
        if src.hf:
            planned.append(_Planned(src.location, where, [], hf=(src.hf, src.hf_split, text_field)))
        elif src.url:
            name = src.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"
            got = fetch_url(
                src.url,
                downloads / f"{i}-{name}",
                timeout=data.url_timeout.total_seconds(),
                retries=data.url_retries,
                max_bytes=data.url_max_bytes,
                sha256=src.sha256,
                where=where,
            )
            fetched[src.url] = got.sha256
            fmt = src.format or _url_format(name, src.url, where)
            planned.append(_Planned(src.location, where, [source_file(got.path, root, where, text_field, fmt, src.url)]))
        else:
            paths = expand_path(src.path, root, where)
            files = [source_file(p, root, where, text_field, src.format) for p in paths]
            planned.append(_Planned(src.location, where, files))
    return planned


def _url_format(name: str, url: str, where: str) -> str:
    fmt = format_of(name)
    if fmt is None:
        raise DataError(f"{where}: cannot tell the format of {url} from its name; set format on the source")
    return fmt


def _raw_batches(planned: Sequence[_Planned], data: Any, stats: ReadStats, tmp: Path) -> Iterator[tuple[str, list[str]]]:
    for p in planned:
        if p.hf is not None:
            stats.files.append(p.location)
            for batch in read_hf_dataset(*p.hf, where=p.where):
                yield p.location, batch
        for f in p.files:
            for batch in read_documents(f, data.txt_documents, data.encoding_errors, stats, tmp):
                yield p.location, batch


def collect_corpus(data: Any, root: str | Path, work: str | Path, progress: bool = False) -> Corpus:
    """Read, clean and filter every source of ``data`` (a :class:`~flows.spec.DataSpec`) into
    ``work/corpus.arrow``; raise :class:`DataError` when nothing is left."""
    import numpy as np
    import pyarrow as pa
    from tqdm import tqdm

    started = time.monotonic()
    root, work = Path(root), Path(work)
    work.mkdir(parents=True, exist_ok=True)
    fetched: dict[str, str] = {}
    planned = _plan(data, root, work / "downloads", fetched)
    input_bytes = sum(f.path.stat().st_size for p in planned for f in p.files)
    schema = corpus_schema()
    out = work / "corpus.arrow"
    keep = LengthFilter(data.min_chars, data.max_chars)
    stats = ReadStats()
    per_source = {s.location: 0 for s in data.sources}
    keys = bytearray()
    texts: list[str] = []
    lengths: list[int] = []
    buffered = 0

    with pa.OSFile(str(out), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer, tqdm(
        desc="cleaning", unit=" docs", disable=not progress, mininterval=0.5
    ) as bar:

        def flush() -> None:
            """Write the buffered documents as one record batch."""
            if texts:
                columns = [pa.array(texts, pa.string()), pa.array(lengths, pa.int32())]
                writer.write_batch(pa.record_batch(columns, schema=schema))
                texts.clear()
                lengths.clear()

        accept = keep.accept
        for location, batch in _raw_batches(planned, data, stats, work / "unpacked"):
            keep.counts.read += len(batch)
            per_source[location] += len(batch)
            for text in map(clean_text, batch):
                if accept(text):
                    keys += document_key(text)
                    texts.append(text)
                    lengths.append(len(text))
                    buffered += len(text)
            bar.update(len(batch))
            # A batch is bounded in documents and in characters: documents may be up to max_chars long.
            if len(texts) >= BATCH or buffered >= BATCH_CHARS:
                flush()
                buffered = 0
        flush()

    if keep.counts.passed == 0:
        raise DataError(f"{keep.nothing_left_message()} (sources: {', '.join(s.location for s in data.sources)})")
    order = content_order(keys, data.dedupe, data.validation_fraction)
    del keys
    keep.counts.duplicates = order.duplicates
    order_path = work / "order.npz"
    np.savez(order_path, rows=order.rows, validation=order.validation)
    chars = pa.ipc.open_stream(pa.memory_map(str(out))).read_all().column("chars").to_numpy()
    return Corpus(
        path=str(out),
        order_path=str(order_path),
        digest=order.digest,
        counts=keep.counts.as_dict(),
        per_source=per_source,
        sources=[s.location for s in data.sources],
        files=stats.files,
        input_bytes=input_bytes,
        kept_chars=int(chars[order.rows].sum()),
        replaced_chars=stats.replaced_chars,
        seconds=time.monotonic() - started,
        fetched=fetched,
    )
