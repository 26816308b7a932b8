"""Data-prep crash: ``kill -9`` ``cubeops run --only data`` while it prepares, then run it again.

Kills land at three points: a random moment after ``preparing`` is published (reading and
cleaning), as soon as the train blocks start being written, and at a random moment after the
work folder appears. After every kill, nothing under ``.cubeops/data/`` claims to be a complete
dataset unless it loads and matches its manifest, no ``ready`` was published and no MLflow run of
the killed attempt finished. The rerun then completes, sweeps the leftovers and reads ``ready``.
"""

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import pytest

from flows.data.version import TMP_PREFIX, is_complete, load_prepared
from status.store import StatusStore
from tests.faults.conftest import child_env, cli, wait_until, write_corpus, write_spec
from tests.helpers import stop_process

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("prefect_harness")]

PROJECT = "acme/prep-crash"
SPEC = f"""\
project: {PROJECT}
model:
  base: tiny-gpt2
  tiny: {{vocab_size: 1000, n_positions: 128}}
data:
  block_size: 64
tracking:
  system_metrics: false
"""
SEED = 4


def _work_dirs(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob(f"{TMP_PREFIX}*")) if data_dir.is_dir() else []


def _data_state(root: Path) -> str | None:
    store = StatusStore(f"sqlite:///{root / '.cubeops' / 'status.db'}")
    try:
        current = store.current(PROJECT).get("data")
    finally:
        store.close()
    return current.state if current else None


def check_no_false_complete(data_dir: Path) -> int:
    """Every dataset folder (not a work folder) is complete and matches its manifest; returns how many."""
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    count = 0
    for folder in sorted(data_dir.iterdir()) if data_dir.is_dir() else []:
        if folder.name.startswith(TMP_PREFIX) or not folder.is_dir():
            continue
        assert is_complete(folder), f"{folder.name}: a dataset folder without its COMPLETE marker"
        prepared = load_prepared(folder)
        assert prepared.digest == folder.name
        assert len(load_from_disk(prepared.train_path)) == prepared.train_blocks
        assert len(load_from_disk(prepared.validation_path)) == prepared.validation_blocks
        AutoTokenizer.from_pretrained(prepared.tokenizer_path)
        count += 1
    return count


def _phase(data_dir: Path) -> str:
    """Where preparation is, judged by what its work folder holds (blocks are written validation first)."""
    found = {p.name for w in _work_dirs(data_dir) for p in w.iterdir()}
    for marker, phase in (("COMPLETE", "committing"), ("manifest.json", "committing"), ("data_stats.json", "reporting"),
                          ("train", "writing train blocks"), ("validation", "writing validation blocks"),
                          ("corpus.arrow", "tokenizing"), ):
        if marker in found:
            return phase
    return "cleaning" if found or _work_dirs(data_dir) else "reading sources"


def kill_during_prep(root: Path, config: Path, env: dict, when: str, rng: random.Random) -> str:
    """Start the data stage and kill its process group at ``when``; returns where it was."""
    data_dir = root / ".cubeops" / "data"
    log = open(root / f"killed-{when}.log", "wb")
    proc = subprocess.Popen(cli("run", "-c", str(config), "--only", "data"), cwd=root, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if when == "cleaning":
            wait_until(lambda: proc.poll() is not None or _data_state(root) == "preparing", timeout=180, every=0.02,
                       what="preparing")
            time.sleep(rng.uniform(0.0, 0.8))
        elif when == "writing blocks":
            wait_until(lambda: proc.poll() is not None or any((w / "train").exists() for w in _work_dirs(data_dir)),
                       timeout=180, every=0.005, what="train blocks being written")
        else:
            wait_until(lambda: proc.poll() is not None or _work_dirs(data_dir), timeout=180, every=0.01,
                       what="a work folder")
            time.sleep(rng.uniform(0.0, 3.0))
        assert proc.poll() is None, f"preparation ended ({proc.returncode}) before the kill"
        stage = _phase(data_dir)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        stop_process(proc)
        log.close()
    return stage


def test_sigkill_during_preparation_then_the_rerun_completes(tmp_path, scenario, prefect_env):
    row = scenario("2 data-prep crash (kill -9)")
    root = tmp_path / "project"
    write_corpus(root, 25_000, seed=3)
    config = write_spec(root, SPEC)
    data_dir = root / ".cubeops" / "data"
    env = child_env(**prefect_env, MLFLOW_TRACKING_URI=os.environ["MLFLOW_TRACKING_URI"])
    rng = random.Random(SEED)
    where = []
    for when in ("cleaning", "writing blocks", "random"):
        row.trial()
        where.append(kill_during_prep(root, config, env, when, rng))
        assert check_no_false_complete(data_dir) == 0, "a killed run left a dataset marked complete"
        assert _data_state(root) == "preparing", "the Data badge should still read preparing"
        data_runs = [r for r in mlflow.search_runs(search_all_experiments=True, output_format="list")
                     if r.data.tags.get("cubeops.stage") == "data"]
        # The run just killed is still RUNNING; the next run closes the ones killed before it.
        statuses = sorted(r.info.status for r in data_runs)
        assert statuses == ["KILLED"] * (len(data_runs) - 1) + ["RUNNING"], statuses
        row.ok()

    row.trial()
    rerun = subprocess.run(cli("run", "-c", str(config), "--only", "data"), cwd=root, env=env, capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    assert check_no_false_complete(data_dir) == 1
    assert _work_dirs(data_dir) == [], "the rerun left the killed runs' work folders behind"
    assert _data_state(root) == "ready"
    store = StatusStore(f"sqlite:///{root / '.cubeops' / 'status.db'}")
    try:
        readies = [e for e in store.history(PROJECT, "data") if e.state == "ready"]
    finally:
        store.close()
    assert len(readies) == 1, "ready was published by a run that did not finish"
    finished = [r for r in mlflow.search_runs(search_all_experiments=True, output_format="list")
                if r.data.tags.get("cubeops.stage") == "data" and r.info.status == "FINISHED"]
    assert len(finished) == 1 and finished[0].data.tags.get("cubeops.data_digest")
    still_running = [r for r in mlflow.search_runs(search_all_experiments=True, output_format="list")
                     if r.info.status == "RUNNING" and r.data.tags.get("cubeops.stage") != "train"]
    assert still_running == [], "the rerun left a killed run RUNNING"
    row.ok()
    row.figure = "killed while " + ", ".join(where) + " → rerun ready, leftovers swept, never a false COMPLETE"
