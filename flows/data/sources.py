"""Data sources: find the files a spec names, and read documents out of them.

Formats, by extension (``.gz`` on top of any of them is decompressed), or by a source's
``format``:

- ``.txt`` / ``.text`` / ``.md``: plain text. ``data.txt_documents: paragraph`` (the default)
  makes each block of lines separated by one or more blank lines a document; ``line`` makes each
  non-blank line a document.
- ``.jsonl`` / ``.ndjson``: one JSON object per line; the document is its ``text_field``.
- ``.json``: one array of objects (or of strings).
- ``.csv``: a header row, then one document per row from the ``text_field`` column.
- ``.parquet``: the ``text_field`` column.

Bytes that are not UTF-8 fail naming the file and byte offset, or, with
``data.encoding_errors: replace``, become U+FFFD and are counted. Every problem is a
:class:`DataError` naming the source and, for JSONL and CSV, the line.
"""

import csv
import glob
import gzip
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from flows.errors import DataError

EXTENSIONS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "txt",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}
_GLOB_CHARS = set("*?[")
_GZIP_MAGIC = b"\x1f\x8b"
CHUNK_BYTES = 1 << 22
BATCH_DOCS = 1024
# A paragraph ends at a line holding nothing but whitespace.
_PARAGRAPH_BREAK = re.compile(r"\n(?:[^\S\n]*\n)+")
_LINE_BREAK = re.compile(r"\n")


@dataclass(frozen=True)
class SourceFile:
    """One file to read, and how."""

    path: Path
    label: str
    """How messages name it: the path relative to the project, or the URL."""
    format: str
    text_field: str
    where: str
    """The spec location that named it, e.g. ``data.sources[1]``."""


@dataclass
class ReadStats:
    """What reading found besides documents."""

    replaced_chars: int = 0
    """Characters that were not UTF-8 and became U+FFFD (with ``encoding_errors: replace``)."""
    files: list[str] = field(default_factory=list)


def format_of(name: str) -> str | None:
    """The format a file name implies (``notes.jsonl.gz`` → ``jsonl``), or None."""
    lower = name.lower()
    lower = lower.removesuffix(".gz")
    return EXTENSIONS.get(Path(lower).suffix)


def _label(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def expand_path(pattern: str, root: Path, where: str) -> list[Path]:
    """The files a path, directory or glob names, sorted; :class:`DataError` when there are none."""
    full = Path(pattern).expanduser()
    if not full.is_absolute():
        full = root / full
    if _GLOB_CHARS & set(pattern):
        found = sorted(Path(p) for p in glob.glob(str(full), recursive=True) if Path(p).is_file())
        if not found:
            raise DataError(f"{where}: {pattern!r} matches no files (looked under {root})")
        return found
    if full.is_dir():
        found = sorted(
            p for p in full.rglob("*")
            if p.is_file() and format_of(p.name) and not any(part.startswith(".") for part in p.relative_to(full).parts)
        )
        if not found:
            known = ", ".join(sorted(EXTENSIONS))
            raise DataError(f"{where}: directory {pattern!r} holds no data files ({known}, optionally .gz)")
        return found
    if not full.exists():
        raise DataError(f"{where}: {pattern!r} does not exist (looked for {full})")
    return [full]


def source_file(path: Path, root: Path, where: str, text_field: str, fmt: str | None, label: str | None = None) -> SourceFile:
    """Describe one file to read; :class:`DataError` when its format cannot be told."""
    label = label or _label(path, root)
    fmt = fmt or format_of(path.name)
    if fmt is None:
        known = ", ".join(sorted(EXTENSIONS))
        raise DataError(f"{where}: cannot tell the format of {label} from its name ({known}); set format on the source")
    return SourceFile(path, label, fmt, text_field, where)


@contextmanager
def _open_binary(path: Path) -> Iterator[IO[bytes]]:
    with open(path, "rb") as raw:
        # Sniff rather than trust the name: a URL body or a renamed file may be gzip either way.
        if raw.read(2) == _GZIP_MAGIC:
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) as gz:
                yield gz
        else:
            raw.seek(0)
            yield raw


def _char_boundary(block: bytes) -> int:
    """Where ``block`` can be cut without splitting a UTF-8 character (at most 3 bytes back)."""
    for back in range(1, min(4, len(block)) + 1):
        byte = block[-back]
        if byte < 0x80:
            return len(block)
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(block) if back >= need else len(block) - back
    return len(block)


def _decoded_chunks(f: IO[bytes], src: SourceFile, errors: str, stats: ReadStats) -> Iterator[str]:
    """The file as text, a few MB at a time, decoded as UTF-8 by the spec's ``encoding_errors`` rule."""
    offset = 0  # bytes before the current block
    newlines = 0  # line breaks before the current block
    carry = b""
    first = True
    while True:
        data = f.read(CHUNK_BYTES)
        block = carry + data
        if not block:
            return
        cut = _char_boundary(block) if data else len(block)
        block, carry = block[:cut], block[cut:]
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            if errors != "replace":
                line = newlines + block.count(b"\n", 0, exc.start) + 1
                raise DataError(
                    f"{src.where}: {src.label}: line {line}: byte offset {offset + exc.start} "
                    f"(0x{block[exc.start]:02x}) is not UTF-8; convert the file to UTF-8 or set "
                    "data.encoding_errors: replace"
                ) from None
            text = block.decode("utf-8", errors="replace")
            # U+FFFD already in the file (as its three UTF-8 bytes) is text, not a replacement.
            stats.replaced_chars += text.count("\ufffd") - block.count(b"\xef\xbf\xbd")
        if first:
            text = text.removeprefix("\ufeff")
            first = False
        offset += len(block)
        newlines += block.count(b"\n")
        yield text
        if not data:
            return


def _lines(chunks: Iterator[str], keepends: bool = False) -> Iterator[str]:
    """The lines of chunked text (split on ``\n`` only: JSON and CSV may hold other line breaks)."""
    pending = ""
    end = "\n" if keepends else ""
    for text in chunks:
        lines = (pending + text).split("\n")
        pending = lines.pop()
        for line in lines:
            yield line + end
    if pending:
        yield pending


def _read_txt(f: IO[bytes], src: SourceFile, mode: str, errors: str, stats: ReadStats) -> Iterator[list[str]]:
    # Whole chunks are split at once (a regex or str.split in C); only the piece after the last
    # break waits for the next chunk.
    split = _PARAGRAPH_BREAK.split if mode == "paragraph" else _LINE_BREAK.split
    pending = ""
    for text in _decoded_chunks(f, src, errors, stats):
        pieces = split(pending + text)
        pending = pieces.pop()
        yield [p for p in pieces if p and not p.isspace()]
    if pending and not pending.isspace():
        yield [pending]


def _text_of(record: Any, src: SourceFile, at: str) -> str:
    if isinstance(record, str):
        return record
    if not isinstance(record, dict):
        raise DataError(f"{src.where}: {src.label}: {at}: expected a JSON object, found {type(record).__name__}")
    if src.text_field not in record:
        fields = ", ".join(map(str, list(record)[:10])) or "none"
        raise DataError(
            f"{src.where}: {src.label}: {at}: no field {src.text_field!r} (fields: {fields}); "
            "set data.text_field, or text_field on this source"
        )
    value = record[src.text_field]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DataError(f"{src.where}: {src.label}: {at}: field {src.text_field!r} is a {type(value).__name__}, not text")
    return value


def _read_jsonl(f: IO[bytes], src: SourceFile, errors: str, stats: ReadStats) -> Iterator[str]:
    for number, line in enumerate(_lines(_decoded_chunks(f, src, errors, stats)), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{src.where}: {src.label}: line {number}: not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
        if isinstance(record, str):
            raise DataError(f"{src.where}: {src.label}: line {number}: expected a JSON object, found a string")
        yield _text_of(record, src, f"line {number}")


def _read_json(f: IO[bytes], src: SourceFile, errors: str, stats: ReadStats) -> Iterator[str]:
    text = "".join(_decoded_chunks(f, src, errors, stats))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{src.where}: {src.label}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise DataError(
            f"{src.where}: {src.label}: expected a JSON array of objects (or strings), found {type(data).__name__}; "
            "use JSONL for one object per line"
        )
    for i, record in enumerate(data):
        yield _text_of(record, src, f"item {i}")


def _read_csv(f: IO[bytes], src: SourceFile, errors: str, stats: ReadStats) -> Iterator[str]:
    # Documents can be long; the csv module's default field limit (128 KiB) would cut them off.
    if csv.field_size_limit() < 2**31 - 1:
        csv.field_size_limit(2**31 - 1)
    reader = csv.reader(_lines(_decoded_chunks(f, src, errors, stats), keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise DataError(f"{src.where}: {src.label}: line 1: {exc}") from None
    if src.text_field not in header:
        raise DataError(
            f"{src.where}: {src.label}: line 1: no column {src.text_field!r} (columns: {', '.join(header)}); "
            "set data.text_field, or text_field on this source"
        )
    column = header.index(src.text_field)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{src.where}: {src.label}: line {reader.line_num}: {exc}") from None
        if not row:
            continue
        if column >= len(row):
            raise DataError(
                f"{src.where}: {src.label}: line {reader.line_num}: {len(row)} columns, "
                f"no value for {src.text_field!r} (column {column + 1})"
            )
        yield row[column]


def _read_parquet(path: Path, src: SourceFile, tmp_dir: Path) -> Iterator[list[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(path, "rb") as probe:
        gzipped = probe.read(2) == _GZIP_MAGIC
    if gzipped:
        # Parquet needs a seekable file; decompress next to the work, streaming.
        plain = tmp_dir / (path.name + ".parquet")
        plain.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "rb") as gz, open(plain, "wb") as out:
            while chunk := gz.read(1 << 20):
                out.write(chunk)
        path = plain
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{src.where}: {src.label}: not a readable Parquet file ({exc})") from None
    names = pf.schema_arrow.names
    if src.text_field not in names:
        raise DataError(
            f"{src.where}: {src.label}: no column {src.text_field!r} (columns: {', '.join(names)}); "
            "set data.text_field, or text_field on this source"
        )
    kind = pf.schema_arrow.field(src.text_field).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise DataError(f"{src.where}: {src.label}: column {src.text_field!r} is {kind}, not text")
    try:
        for batch in pf.iter_batches(columns=[src.text_field], batch_size=BATCH_DOCS):
            yield [value or "" for value in batch.column(0).to_pylist()]
    finally:
        pf.close()


def _batched(docs: Iterator[str]) -> Iterator[list[str]]:
    while batch := list(islice(docs, BATCH_DOCS)):
        yield batch


def read_documents(src: SourceFile, txt_documents: str, encoding_errors: str, stats: ReadStats, tmp_dir: Path) -> Iterator[list[str]]:
    """Yield the raw documents of one file, in file order, in lists of up to a few thousand."""
    stats.files.append(src.label)
    if src.format == "parquet":
        yield from _read_parquet(src.path, src, tmp_dir)
        return
    try:
        with _open_binary(src.path) as f:
            if src.format == "txt":
                yield from _read_txt(f, src, txt_documents, encoding_errors, stats)
            elif src.format == "jsonl":
                yield from _batched(_read_jsonl(f, src, encoding_errors, stats))
            elif src.format == "json":
                yield from _batched(_read_json(f, src, encoding_errors, stats))
            elif src.format == "csv":
                yield from _batched(_read_csv(f, src, encoding_errors, stats))
            else:  # pragma: no cover - the spec's Literal admits nothing else
                raise DataError(f"{src.where}: {src.label}: unsupported format {src.format!r}")
    except (gzip.BadGzipFile, EOFError) as exc:
        raise DataError(f"{src.where}: {src.label}: damaged gzip data ({exc})") from None
    except OSError as exc:
        raise DataError(f"{src.where}: {src.label}: cannot be read ({exc.strerror or exc})") from None


def read_hf_dataset(name: str, split: str, text_field: str, where: str, environ: Any = None) -> Iterator[list[str]]:
    """Yield the ``text_field`` of every row of a Hugging Face dataset (cached, or from the Hub), in lists."""
    from flows.models.hub import hub_reachable

    env = os.environ if environ is None else environ
    offline = env.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    if not offline and not hub_reachable(env):
        raise DataError(
            f"{where}: hf:{name}: the Hugging Face Hub is unreachable; set HF_HUB_OFFLINE=1 to use a cached "
            "copy, or export the dataset to a local file (jsonl, parquet) and list that path"
        )
    import datasets

    try:
        ds = datasets.load_dataset(name, split=split)
    except Exception as exc:  # noqa: BLE001 - datasets raises many unrelated types for "not available"
        hint = " (offline: only cached datasets can be read)" if offline else ""
        raise DataError(f"{where}: hf:{name} split {split!r} cannot be loaded{hint}: {type(exc).__name__}: {str(exc)[:200]}") from None
    if text_field not in ds.column_names:
        raise DataError(f"{where}: hf:{name}: no column {text_field!r} (columns: {', '.join(ds.column_names)}); set text_field on the source")
    for start in range(0, len(ds), BATCH_DOCS):
        yield [v if isinstance(v, str) else "" for v in ds[start : start + BATCH_DOCS][text_field]]

