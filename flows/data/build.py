"""The data-prep steps end to end, without Prefect or MLflow: collect, version, tokenize, pack, commit.

:func:`collect` makes a work folder and the cleaned corpus; :func:`prepare_from_corpus` names the
dataset by digest and either reuses a complete one or builds it and renames it into place.
Both remove their work folder when they fail.
"""

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flows.contracts import PreparedData
from flows.data.collect import Corpus, collect_corpus, read_corpus
from flows.data.pack import (
    Packed,
    batch_encoder,
    text_batches,
    tokenizer_identity,
    write_blocks,
)
from flows.data.report import build_stats, length_histogram, save_histogram_png
from flows.data.version import (
    STATS,
    commit,
    dataset_digest,
    is_complete,
    load_prepared,
    mark_complete,
    new_work_dir,
    prep_settings,
    sweep_abandoned,
    tiny_tokenizer_recipe,
    write_manifest,
)
from flows.errors import DataError
from flows.models.tiny import TINY_NAME

SAMPLE_DOCS = 20
SAMPLE_FILE = "sample.jsonl"
HISTOGRAM_FILE = "length_histogram.png"


def collect(data: Any, root: str | Path, data_dir: str | Path, progress: bool = False) -> Corpus:
    """Clean every source into a new work folder under ``data_dir``; the folder goes if this fails."""
    data_dir = Path(data_dir)
    sweep_abandoned(data_dir)
    work = new_work_dir(data_dir)
    try:
        return collect_corpus(data, root, work, progress=progress)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _texts(batches: Iterator[list[str]]) -> Iterator[str]:
    for batch in batches:
        yield from batch


def tokenizer_key(spec: Any, root: str | Path) -> tuple[str, Any]:
    """The tokenizer's part of the digest, and the tokenizer when it is loaded rather than trained."""
    if spec.model.base == TINY_NAME:
        return tiny_tokenizer_recipe(spec.model.tiny), None
    from flows.models.hub import load_tokenizer

    tok = load_tokenizer(spec.model, root)
    return _named_id(spec.model, tokenizer_identity(tok)), tok


def _named_id(model: Any, identity: str) -> str:
    rev = f"@{model.revision}" if model.revision else ""
    return f"{model.base}{rev}:{identity}"


def prepare_from_corpus(
    spec: Any,
    root: str | Path,
    data_dir: str | Path,
    corpus: Corpus,
    force: bool = False,
    progress: bool = False,
    run_id: str | None = None,
) -> PreparedData:
    """Reuse the complete dataset with this corpus's digest, or build it (``force`` always builds)."""
    started = time.monotonic()
    work = Path(corpus.path).parent
    try:
        key, tokenizer = tokenizer_key(spec, root)
        digest = dataset_digest(corpus.digest, prep_settings(spec.data), key)
        final = Path(data_dir) / digest
        if is_complete(final) and not force:
            shutil.rmtree(work, ignore_errors=True)
            return load_prepared(final).model_copy(
                update={"cache_hit": True, "sources": corpus.sources, "mlflow_run_id": run_id}
            )
        prepared = _build(spec, corpus, digest, final, work, tokenizer, progress, run_id, started)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if not commit(work, final, replace=force):
        # Another run finished the same dataset first; it is identical by construction.
        return load_prepared(final).model_copy(update={"cache_hit": True, "mlflow_run_id": run_id})
    return prepared


def _build(
    spec: Any,
    corpus: Corpus,
    digest: str,
    final: Path,
    work: Path,
    tokenizer: Any,
    progress: bool,
    run_id: str | None,
    started: float,
) -> PreparedData:
    data = spec.data
    block = data.block_size
    # A memory map: the text is paged in as the batches need it, never all held at once.
    table, rows, sides = read_corpus(corpus)
    train_idx, val_idx = rows[~sides], rows[sides]
    n = len(train_idx) + len(val_idx)
    if len(val_idx) == 0 or len(train_idx) == 0:
        side = "validation" if len(val_idx) == 0 else "train"
        raise DataError(
            f"data.validation_fraction={data.validation_fraction} sent none of the {n:,} documents to {side}: "
            f"no {side} block; add documents or change data.validation_fraction"
        )
    if tokenizer is None:
        from flows.models.tiny import train_tiny_tokenizer

        tiny = spec.model.tiny
        tokenizer = train_tiny_tokenizer(
            _texts(text_batches(table, train_idx)), vocab_size=tiny.vocab_size, max_length=tiny.n_positions
        )
        tokenizer_id = f"{TINY_NAME}:{tokenizer_identity(tokenizer)}"
    else:
        tokenizer_id = _named_id(spec.model, tokenizer_identity(tokenizer))
    encode = batch_encoder(tokenizer)
    eos = tokenizer.eos_token_id
    # Validation first: it is small, and a split too short for one block should fail before the big write.
    validation = write_blocks(
        text_batches(table, val_idx), encode, block, eos, work / "validation", len(val_idx), progress, "validation"
    )
    _require_blocks(validation, "validation", block)
    train = write_blocks(text_batches(table, train_idx), encode, block, eos, work / "train", len(train_idx), progress, "train")
    _require_blocks(train, "train", block)
    tokenizer.save_pretrained(str(work / "tokenizer"))

    histogram = length_histogram(table.column("chars").to_numpy()[rows])
    sample = next(text_batches(table, train_idx, SAMPLE_DOCS), [])
    del table
    stats = build_stats(
        digest=digest,
        corpus=corpus,
        tokenizer_id=tokenizer_id,
        block_size=block,
        train=train,
        validation=validation,
        histogram=histogram,
        sample=sample,
        seconds=corpus.seconds + time.monotonic() - started,
    )
    _write_reports(work, stats, sample)
    # The cleaned text and downloads were only a means: the blocks and the reports are the dataset.
    Path(corpus.path).unlink(missing_ok=True)
    Path(corpus.order_path).unlink(missing_ok=True)
    for scratch in ("downloads", "unpacked"):
        shutil.rmtree(work / scratch, ignore_errors=True)
    prepared = PreparedData(
        digest=digest,
        path=str(final),
        train_path=str(final / "train"),
        validation_path=str(final / "validation"),
        tokenizer_path=str(final / "tokenizer"),
        tokenizer_id=tokenizer_id,
        block_size=block,
        documents=corpus.documents,
        tokens=(train.blocks + validation.blocks) * block,
        train_blocks=train.blocks,
        validation_blocks=validation.blocks,
        sources=corpus.sources,
        cache_hit=False,
        mlflow_run_id=run_id,
    )
    write_manifest(work, prepared)
    mark_complete(work)
    return prepared


def _require_blocks(packed: Packed, side: str, block: int) -> None:
    if packed.blocks == 0:
        raise DataError(
            f"the {side} split ({packed.documents:,} documents, {packed.tokens:,} tokens) is shorter than one "
            f"block of data.block_size={block}: no {side} block; add documents, lower data.block_size"
            + (" or raise data.validation_fraction" if side == "validation" else "")
        )


def _write_reports(folder: Path, stats: dict[str, Any], sample: list[str]) -> None:
    (folder / STATS).write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(folder / SAMPLE_FILE, "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": text}, ensure_ascii=False) + "\n" for text in sample)
    save_histogram_png(stats["length_histogram"], folder / HISTOGRAM_FILE)
