"""Reading sources: every format, gzip, several sources in order, and one clear message per bad input."""

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.data.collect import Corpus, collect_corpus, read_corpus
from flows.errors import DataError
from tests.flows.data.conftest import make_spec, write_files


def collect(tmp_path: Path, files: dict, **data) -> tuple[Corpus, list[str]]:
    """Write ``files`` into a project and run the cleaning pass with ``data`` settings."""
    root = tmp_path / "proj"
    write_files(root, files)
    spec = make_spec(data={"block_size": 32, **data})
    corpus = collect_corpus(spec.data, root, tmp_path / "work")
    return corpus, kept_texts(corpus)


def kept_texts(corpus: Corpus) -> list[str]:
    """The kept documents, in reading order."""
    table, rows, _ = read_corpus(corpus)
    texts = table.column("text").to_pylist()
    return [texts[i] for i in sorted(rows.tolist())]


def fails(tmp_path: Path, files: dict, **data) -> str:
    with pytest.raises(DataError) as info:
        collect(tmp_path, files, **data)
    return str(info.value)


def parquet_bytes(rows: dict) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(rows), sink)
    return sink.getvalue()


def test_txt_paragraphs_are_blocks_separated_by_blank_lines(tmp_path):
    text = "First paragraph\nstill the first.\n\n\nSecond one.\n  \nThird.\n"
    corpus, texts = collect(tmp_path, {"notes.txt": text}, sources=["notes.txt"])
    assert texts == ["First paragraph\nstill the first.", "Second one.", "Third."]
    assert corpus.counts["read"] == 3


def test_txt_lines_mode_makes_every_non_blank_line_a_document(tmp_path):
    text = "one\ntwo\n\nthree\n"
    _, texts = collect(tmp_path, {"notes.txt": text}, sources=["notes.txt"], txt_documents="line")
    assert texts == ["one", "two", "three"]


def test_every_format_and_gzip_read_in_the_order_of_the_spec(tmp_path):
    files = {
        "a.txt": "from text",
        "b.jsonl.gz": json.dumps({"text": "from gzipped jsonl", "id": 1}) + "\n\n",
        "c.json": json.dumps([{"text": "from json"}, "a bare string"]),
        "d.csv": 'id,text\n1,"from csv, with a comma\nand a line break"\n',
        "e.parquet": parquet_bytes({"text": ["from parquet", None]}),
        "f.txt.gz": "from gzipped text",
        "g.md": "from markdown",
    }
    sources = ["g.md", "a.txt", "b.jsonl.gz", "c.json", "d.csv", "e.parquet", "f.txt.gz"]
    corpus, texts = collect(tmp_path, files, sources=sources)
    assert texts == [
        "from markdown", "from text", "from gzipped jsonl", "from json", "a bare string",
        "from csv, with a comma\nand a line break", "from parquet", "from gzipped text",
    ]
    assert corpus.counts["empty"] == 1  # the parquet null
    assert corpus.per_source == {s: n for s, n in zip(sources, [1, 1, 1, 2, 1, 2, 1])}


def test_directories_and_globs_expand_sorted_and_skip_other_files(tmp_path):
    files = {"data/b.txt": "bee", "data/a.txt": "ay", "data/sub/c.jsonl": '{"text": "sea"}\n',
             "data/README.pdf": b"%PDF", "data/.hidden/x.txt": "hidden"}
    corpus, texts = collect(tmp_path, files, sources=["data/"])
    assert texts == ["ay", "bee", "sea"]
    assert corpus.files == ["data/a.txt", "data/b.txt", "data/sub/c.jsonl"]
    _, texts = collect(tmp_path, {}, sources=["data/**/*.jsonl", "data/b.txt"])
    assert texts == ["sea", "bee"]


def test_a_source_mapping_sets_its_own_text_field_and_format(tmp_path):
    files = {"dump.log": json.dumps({"body": "from a log file"}) + "\n"}
    _, texts = collect(tmp_path, files, sources=[{"path": "dump.log", "format": "jsonl", "text_field": "body"}])
    assert texts == ["from a log file"]


def test_missing_file_names_the_source_and_the_path(tmp_path):
    msg = fails(tmp_path, {}, sources=["notes.txt"])
    assert msg.startswith("data.sources[0]: 'notes.txt' does not exist (looked for ")
    assert str(tmp_path / "proj" / "notes.txt") in msg


def test_empty_glob_says_it_matches_nothing(tmp_path):
    msg = fails(tmp_path, {"a.txt": "x"}, sources=["a.txt", "docs/*.txt"])
    assert msg.startswith("data.sources[1]: 'docs/*.txt' matches no files")


def test_unknown_extension_asks_for_a_format(tmp_path):
    msg = fails(tmp_path, {"notes.docx": "x"}, sources=["notes.docx"])
    assert "cannot tell the format of notes.docx" in msg and "set format on the source" in msg


def test_a_jsonl_line_that_is_not_json_names_file_and_line(tmp_path):
    lines = '{"text": "ok"}\n\n{"text": "fine"}\n{"text": broken}\n'
    msg = fails(tmp_path, {"chat.jsonl": lines}, sources=["chat.jsonl"])
    assert msg.startswith("data.sources[0]: chat.jsonl: line 4: not valid JSON (Expecting value at column 10)")


def test_a_missing_text_field_names_file_line_and_fields(tmp_path):
    lines = '{"text": "ok"}\n{"body": "no text here", "id": 2}\n'
    msg = fails(tmp_path, {"chat.jsonl": lines}, sources=["chat.jsonl"])
    assert msg.startswith("data.sources[0]: chat.jsonl: line 2: no field 'text' (fields: body, id)")


def test_a_csv_without_the_column_names_the_columns(tmp_path):
    msg = fails(tmp_path, {"t.csv": "id,body\n1,hello\n"}, sources=["t.csv"])
    assert msg.startswith("data.sources[0]: t.csv: line 1: no column 'text' (columns: id, body)")


def test_a_short_csv_row_names_its_line(tmp_path):
    msg = fails(tmp_path, {"t.csv": "id,text\n1,hello\n2\n"}, sources=["t.csv"])
    assert msg.startswith("data.sources[0]: t.csv: line 3: 1 columns, no value for 'text'")


def test_a_parquet_file_without_the_column_names_the_columns(tmp_path):
    msg = fails(tmp_path, {"t.parquet": parquet_bytes({"body": ["x"]})}, sources=["t.parquet"])
    assert "t.parquet: no column 'text' (columns: body)" in msg


def test_bytes_that_are_not_utf8_fail_naming_the_byte_offset(tmp_path):
    raw = b"first line\n" + b"caf\xe9 latin-1\n"
    msg = fails(tmp_path, {"old.txt": raw}, sources=["old.txt"])
    assert msg.startswith("data.sources[0]: old.txt: line 2: byte offset 14 (0xe9) is not UTF-8")
    assert "data.encoding_errors: replace" in msg


def test_bytes_that_are_not_utf8_can_be_replaced_and_counted(tmp_path):
    raw = b"caf\xe9 and \xff\xfe twice\n"
    corpus, texts = collect(tmp_path, {"old.txt": raw}, sources=["old.txt"], encoding_errors="replace")
    assert texts == ["caf\ufffd and \ufffd\ufffd twice"]
    assert corpus.replaced_chars == 3


def test_damaged_gzip_is_reported_as_such(tmp_path):
    good = gzip.compress(b"some text that is long enough to matter\n" * 50)
    write_files(tmp_path / "proj", {"cut.txt": good[: len(good) // 2]})
    msg = fails(tmp_path, {}, sources=["cut.txt"])
    assert msg.startswith("data.sources[0]: cut.txt: damaged gzip data")


def test_nothing_left_after_filtering_names_filter_and_sources(tmp_path):
    files = {"a.txt": "\n\n".join(f"short note {i}" for i in range(1203))}
    msg = fails(tmp_path, files, sources=["a.txt"], min_chars=50)
    assert msg == "0 documents left: min_chars=50 removed 1,203 of 1,203 (sources: a.txt)"


def test_a_hugging_face_dataset_offline_and_uncached_fails_in_one_clear_line(tmp_path):
    # The test session runs with HF_HUB_OFFLINE=1: only the cache may answer, and it holds nothing.
    msg = fails(tmp_path, {}, sources=["hf:acme/no-such-dataset"])
    assert msg.startswith("data.sources[0]: hf:acme/no-such-dataset split 'train' cannot be loaded")
    assert "offline" in msg


@pytest.mark.parametrize("mode", ["paragraph", "line"])
def test_documents_and_characters_that_straddle_read_chunks_come_out_whole(tmp_path, monkeypatch, mode):
    from flows.data import sources

    monkeypatch.setattr(sources, "CHUNK_BYTES", 7)  # every document and most characters cross a chunk
    text = "Grüße aus Köln\nzweite Zeile\n\n  \n\nnaïve café ☕ end\n\n\n😀 last"
    _, texts = collect(tmp_path, {"notes.txt": text}, sources=["notes.txt"], txt_documents=mode)
    if mode == "paragraph":
        assert texts == ["Grüße aus Köln\nzweite Zeile", "naïve café ☕ end", "😀 last"]
    else:
        assert texts == ["Grüße aus Köln", "zweite Zeile", "naïve café ☕ end", "😀 last"]


def test_the_byte_offset_and_line_are_exact_past_the_first_chunk(tmp_path, monkeypatch):
    from flows.data import sources

    monkeypatch.setattr(sources, "CHUNK_BYTES", 5)
    head = "ä1\nä2\nä3\n".encode()  # 12 bytes: the bad byte is the 17th, past three chunks
    msg = fails(tmp_path, {"old.txt": head + b"bad \xff here\n"}, sources=["old.txt"])
    assert msg.startswith("data.sources[0]: old.txt: line 4: byte offset 16 (0xff) is not UTF-8")
