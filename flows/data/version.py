"""Dataset versions: the content digest, the on-disk manifest, and the ``COMPLETE`` marker.

A dataset is built in a temporary sibling folder (``.cubeops/data/.tmp-…``), the marker is
written last, and the folder is renamed into place as ``.cubeops/data/<digest>/``. A crash
therefore never leaves a folder that looks complete; readers check the marker anyway.
"""

import hashlib
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from flows.contracts import PreparedData
from flows.errors import DataError

# Bump when the cleaning rule or the packing changes: old digests must not be reused.
CLEAN_VERSION = 1
PACK_VERSION = 1
DIGEST_CHARS = 16

MANIFEST = "manifest.json"
COMPLETE = "COMPLETE"
STATS = "data_stats.json"
TMP_PREFIX = ".tmp-"


def prep_settings(data: Any) -> dict[str, Any]:
    """The settings that shape a prepared dataset beyond its documents (the digest covers them)."""
    return {
        "min_chars": data.min_chars,
        "max_chars": data.max_chars,
        "dedupe": data.dedupe,
        "validation_fraction": data.validation_fraction,
        "block_size": data.block_size,
        "clean_version": CLEAN_VERSION,
        "pack_version": PACK_VERSION,
    }


def tiny_tokenizer_recipe(tiny: Any) -> str:
    """What determines the ``tiny-gpt2`` tokenizer besides the train documents: its settings and
    the trainer's version (training is deterministic, so this stands in for the tokenizer itself)."""
    import tokenizers

    return f"tiny-gpt2:vocab_size={tiny.vocab_size}:max_length={tiny.n_positions}:tokenizers={tokenizers.__version__}"


def dataset_digest(corpus_digest: str, settings: dict[str, Any], tokenizer_key: str) -> str:
    """The version of a prepared dataset: cleaned content + prep settings + tokenizer identity."""
    blob = json.dumps({"corpus": corpus_digest, "settings": settings, "tokenizer": tokenizer_key}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def is_complete(folder: str | Path) -> bool:
    """True when ``folder`` holds a fully written dataset."""
    return (Path(folder) / COMPLETE).is_file()


def new_work_dir(data_dir: Path) -> Path:
    """A fresh temporary folder beside the datasets (same file system, so the final rename is atomic)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{socket.gethostname()}-{os.getpid()}-", dir=data_dir))
    # mkdtemp makes it private (0700); once renamed it is the dataset, readable like any other folder.
    work.chmod(0o755)
    return work


def sweep_abandoned(data_dir: Path) -> list[Path]:
    """Remove temporary folders left by processes of this host that no longer exist; returns them."""
    removed = []
    host = socket.gethostname()
    if not data_dir.is_dir():
        return removed
    for folder in data_dir.glob(f"{TMP_PREFIX}{host}-*"):
        pid = folder.name[len(TMP_PREFIX) + len(host) + 1 :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_manifest(folder: Path, prepared: PreparedData) -> None:
    """Write ``manifest.json`` (the :class:`PreparedData` as JSON)."""
    (folder / MANIFEST).write_text(prepared.model_dump_json(indent=2) + "\n", encoding="utf-8")


def mark_complete(folder: Path) -> None:
    """Write the ``COMPLETE`` marker, flushed to disk: the last file of a dataset."""
    with open(folder / COMPLETE, "w", encoding="utf-8") as f:
        f.write("complete\n")
        f.flush()
        os.fsync(f.fileno())


def commit(work: Path, final: Path, replace: bool = False) -> bool:
    """Rename the finished ``work`` folder to ``final``; returns False when an equal dataset was
    committed first by another run (``work`` is then discarded). ``replace`` swaps out an existing one."""
    if final.exists():
        if is_complete(final) and not replace:
            shutil.rmtree(work, ignore_errors=True)
            return False
        old = final.with_name(f"{TMP_PREFIX}old-{final.name}-{os.getpid()}")
        final.rename(old)
        work.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        return True
    work.rename(final)
    return True


def load_prepared(path: str | Path) -> PreparedData:
    """The :class:`PreparedData` of a dataset folder; :class:`DataError` unless it is complete."""
    folder = Path(path)
    if not is_complete(folder):
        raise DataError(
            f"{folder}: not a complete prepared dataset (no {COMPLETE} marker); run `cubeops run --only data`"
        )
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        prepared = PreparedData.model_validate(manifest)
    except (OSError, ValueError) as exc:
        raise DataError(f"{folder / MANIFEST}: unreadable manifest ({exc})") from None
    # The folder may have moved with its project: trust where it is, not where it was written.
    here = folder.resolve()
    return prepared.model_copy(
        update={
            "path": str(here),
            "train_path": str(here / "train"),
            "validation_path": str(here / "validation"),
            "tokenizer_path": str(here / "tokenizer"),
        }
    )


def read_stats(folder: str | Path) -> dict[str, Any]:
    """The ``data_stats.json`` of a dataset folder (empty when absent)."""
    try:
        return json.loads((Path(folder) / STATS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
