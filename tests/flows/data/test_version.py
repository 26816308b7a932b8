"""Versions on disk: digests, the COMPLETE marker, atomic commits, and reuse only of complete data."""

import os
import shutil
import socket
import subprocess
import sys

import pytest

from flows.data.build import collect, prepare_from_corpus
from flows.data.version import (
    COMPLETE,
    TMP_PREFIX,
    dataset_digest,
    load_prepared,
    new_work_dir,
    prep_settings,
    sweep_abandoned,
)
from flows.errors import DataError
from tests.flows.data.conftest import make_spec, write_files


def test_the_digest_changes_with_content_settings_and_tokenizer():
    settings = prep_settings(make_spec().data)
    base = dataset_digest("c" * 64, settings, "tok-a")
    assert base == dataset_digest("c" * 64, dict(settings), "tok-a")
    assert base != dataset_digest("d" * 64, settings, "tok-a")
    assert base != dataset_digest("c" * 64, {**settings, "block_size": 64}, "tok-a")
    assert base != dataset_digest("c" * 64, settings, "tok-b")


def _prepare(root, spec, force=False):
    data_dir = root / ".cubeops" / "data"
    return prepare_from_corpus(spec, root, data_dir, collect(spec.data, root, data_dir), force=force)


def test_only_a_complete_folder_is_loaded_or_reused(tmp_path, corpus_docs):
    root = tmp_path / "proj"
    write_files(root, {"notes.txt": "\n\n".join(corpus_docs)})
    spec = make_spec(data={"sources": ["notes.txt"], "block_size": 32})
    first = _prepare(root, spec)
    assert load_prepared(first.path) == first.model_copy(update={"mlflow_run_id": None})

    # A folder that lost its marker (copied half-way, or written by hand) is neither loaded nor reused.
    os.remove(os.path.join(first.path, COMPLETE))
    with pytest.raises(DataError, match="not a complete prepared dataset"):
        load_prepared(first.path)
    again = _prepare(root, spec)
    assert not again.cache_hit
    assert load_prepared(again.path).digest == first.digest


def test_a_moved_project_still_loads_its_dataset(tmp_path, corpus_docs):
    root = tmp_path / "proj"
    write_files(root, {"notes.txt": "\n\n".join(corpus_docs)})
    prepared = _prepare(root, make_spec(data={"sources": ["notes.txt"], "block_size": 32}))
    moved = tmp_path / "elsewhere"
    shutil.move(str(root), str(moved))
    loaded = load_prepared(moved / ".cubeops" / "data" / prepared.digest)
    assert loaded.train_path == str((moved / ".cubeops" / "data" / prepared.digest / "train").resolve())
    assert os.path.isdir(loaded.train_path)


def test_force_rebuilds_in_place(tmp_path, corpus_docs):
    root = tmp_path / "proj"
    write_files(root, {"notes.txt": "\n\n".join(corpus_docs)})
    spec = make_spec(data={"sources": ["notes.txt"], "block_size": 32})
    first = _prepare(root, spec)
    marker = os.stat(os.path.join(first.path, COMPLETE)).st_mtime_ns
    forced = _prepare(root, spec, force=True)
    assert not forced.cache_hit and forced.digest == first.digest
    assert os.stat(os.path.join(forced.path, COMPLETE)).st_mtime_ns != marker
    assert sorted(p.name for p in (root / ".cubeops" / "data").iterdir()) == [first.digest]


def test_work_folders_of_dead_processes_are_swept_and_live_ones_kept(tmp_path):
    data_dir = tmp_path / "data"
    mine = new_work_dir(data_dir)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    orphan = data_dir / f"{TMP_PREFIX}{socket.gethostname()}-{dead.stdout.strip()}-abc"
    orphan.mkdir()
    assert sweep_abandoned(data_dir) == [orphan]
    assert mine.is_dir() and not orphan.exists()
