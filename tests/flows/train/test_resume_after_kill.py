"""``kill -9`` mid-training, run again: the same MLflow run resumes from the last checkpoint."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import mlflow
import pytest

from flows.layout import resolve_layout
from flows.train import checkpoints
from status.model import effective_status
from status.store import StatusStore
from tests.flows.train.conftest import make_spec, write_prepared, write_project
from tests.helpers import REPO, stop_process

pytestmark = pytest.mark.usefixtures("prefect_harness")

MAX_STEPS = 120


def worker_env() -> dict:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    env["PYTHONPATH"] = str(REPO)
    return env


def wait_for_checkpoint(project, proc, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"training exited ({proc.returncode}) before writing a checkpoint")
        for folder in (project / ".cubeops" / "checkpoints").glob("*"):
            done = checkpoints.latest_checkpoint(folder)
            if done is not None:
                return folder, done
        time.sleep(0.02)
    raise AssertionError("no checkpoint within the timeout")


def assert_reads_stalled_after_the_ttl(spec, project):
    store = StatusStore(resolve_layout(spec, project).status_store)
    try:
        current, info = store.current(spec.project)["train"], store.project(spec.project)
    finally:
        store.close()
    assert current.state == "training" and current.message.startswith("training · ")
    later = current.heartbeat_at + info.heartbeat_ttl + timedelta(seconds=1)
    assert effective_status(current, info, later).state == "stalled"


def test_sigkill_then_rerun_resumes_same_run_to_the_exact_step(project, prepared):
    spec = make_spec(
        model={"tiny": {"n_layer": 2, "n_embd": 64, "n_head": 2, "n_positions": 128}},
        train={"max_steps": MAX_STEPS, "save_every": 10, "eval_every": 40, "keep_checkpoints": 2},
    )
    config = write_project(project, spec)
    data_json = project / "prepared.json"
    data_json.write_text(prepared.model_dump_json())
    cmd = [sys.executable, "-m", "flows.train", "-c", str(config), "--data", str(data_json)]
    env = worker_env()

    log = open(project / "first.log", "wb")
    first = subprocess.Popen(cmd, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        folder, done = wait_for_checkpoint(project, first)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
        killed_at_ms = time.time() * 1000
    finally:
        stop_process(first)
        log.close()
    assert first.returncode == -signal.SIGKILL
    run_id = checkpoints.read_run_id(folder)
    # More checkpoints may have landed between seeing the first one and the kill.
    resumed_at = checkpoints.checkpoint_step(checkpoints.latest_checkpoint(folder))
    assert run_id and checkpoints.checkpoint_step(done) <= resumed_at < MAX_STEPS
    client = mlflow.MlflowClient()
    assert client.get_run(run_id).info.status == "RUNNING"  # killed without a word
    assert_reads_stalled_after_the_ttl(spec, project)
    assert client.search_registered_models() == []

    second = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    result = json.loads(second.stdout.strip().splitlines()[-1])

    assert result["run_id"] == run_id and result["version"] == "1"
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    history = client.get_metric_history(run_id, "loss")
    steps = {m.step for m in history}
    assert steps == set(range(1, MAX_STEPS + 1))
    # The killed attempt logged the steps up to its checkpoint; the rerun carried on right after it.
    assert all(m.timestamp <= killed_at_ms for m in history if m.step <= resumed_at)
    rerun_steps = sorted(m.step for m in history if m.timestamp > killed_at_ms)
    assert rerun_steps == list(range(resumed_at + 1, MAX_STEPS + 1))
    evals = client.get_metric_history(run_id, "eval_loss")
    assert max(m.step for m in evals) == MAX_STEPS


def test_a_user_error_ends_the_process_with_one_line_and_exit_code_2(project, tmp_path, corpus_docs):
    data = write_prepared(tmp_path / "data", corpus_docs[:40], validation_every=0)
    config = write_project(project, make_spec())
    data_json = project / "prepared.json"
    data_json.write_text(data.model_dump_json())
    proc = subprocess.run(
        [sys.executable, "-m", "flows.train", "-c", str(config), "--data", str(data_json)],
        cwd=project,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "cubeops: error: the validation set at " in proc.stderr
    assert "Traceback" not in proc.stderr
