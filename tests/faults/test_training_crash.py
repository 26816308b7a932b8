"""Training crash: ``kill -9`` the pipeline at a random training step, three times, and rerun it.

Each trial runs ``cubeops run --only train`` as a real process, kills its whole process group at
a random step, watches the Training badge of a real ``cubeops status serve`` turn ``stalled``,
then runs the same command again. The rerun must resume from the last checkpoint in the same
MLflow run and finish with exactly ``max_steps`` steps: one fine-tune run, every step logged,
one registered version, and the badge ``passing``.
"""

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import pytest

from flows.spec_loader import load_spec
from flows.train import checkpoints
from status.store import StatusStore
from tests.faults.conftest import child_env, cli, wait_until, write_corpus, write_spec
from tests.helpers import stop_process

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("prefect_harness")]

MAX_STEPS = 60
SAVE_EVERY = 10
TTL_S = 5
# Where each trial strikes: before the first checkpoint, or after a chosen one; plus a random delay.
KILL_AFTER = [0, 10, 20, 30, 40]
SEED = 9

SPEC = """\
project: acme/crash-{trial}
model:
  base: tiny-gpt2
  tiny: {{n_layer: 2, n_embd: 128, n_head: 2, vocab_size: 500, n_positions: 64}}
data:
  block_size: 64
train:
  max_steps: {max_steps}
  batch_size: 16
  learning_rate: 0.003
  eval_every: 20
  save_every: {save_every}
  keep_checkpoints: 2
  threads: 1
  precision: fp32
eval:
  prompts: ["The data team"]
  max_new_tokens: 4
  probes: []
status:
  store: {store}
  heartbeat_ttl: {ttl}s
tracking:
  system_metrics: false
"""


def _latest_step(folder: Path) -> int:
    done = checkpoints.latest_checkpoint(folder) if folder.is_dir() else None
    return checkpoints.checkpoint_step(done) if done is not None else 0


def _train_state(store_url: str, project: str) -> tuple[str, str] | None:
    store = StatusStore(store_url)
    try:
        current = store.current(project).get("train")
    finally:
        store.close()
    return (current.state, current.message) if current else None


def _key_folder(root: Path) -> Path | None:
    found = [p for p in (root / ".cubeops" / "checkpoints").glob("*") if p.is_dir()]
    return found[0] if found else None


def run_trial(
    trial: int, rng: random.Random, base: Path, store_url: str, env: dict, badge
) -> dict:
    """One kill and rerun; returns what happened (for the figure)."""
    root = base / f"trial-{trial}"
    project = f"acme/crash-{trial}"
    write_corpus(root, 240)
    config = write_spec(root, SPEC.format(trial=trial, max_steps=MAX_STEPS, save_every=SAVE_EVERY, store=store_url, ttl=TTL_S))
    spec = load_spec(config)
    kill_after = rng.choice(KILL_AFTER)
    delay = rng.uniform(0.0, 1.0)

    log = open(root / "killed.log", "wb")
    first = subprocess.Popen(cli("run", "-c", str(config), "--only", "train"), cwd=root, env=env, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if kill_after == 0:
            wait_until(lambda: first.poll() is not None or (_train_state(store_url, project) or ("",))[0] == "training",
                       timeout=240, every=0.02, what="training to start")
        else:
            wait_until(lambda: first.poll() is not None or ((f := _key_folder(root)) and _latest_step(f) >= kill_after),
                       timeout=240, every=0.02, what=f"checkpoint {kill_after}")
        assert first.poll() is None, f"training ended ({first.returncode}) before the kill: {(root / 'killed.log').read_text()[-3000:]}"
        time.sleep(delay)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
    finally:
        stop_process(first)
        log.close()
    assert first.returncode == -signal.SIGKILL, "the pipeline finished before it could be killed"
    folder = _key_folder(root)
    assert folder is not None
    run_id = checkpoints.read_run_id(folder)
    resumed_at = _latest_step(folder)
    assert run_id, "no MLflow run id beside the checkpoints"
    client = mlflow.MlflowClient()
    assert client.get_run(run_id).info.status == "RUNNING"
    assert not client.search_model_versions(f"name='{spec.model_name}'")

    # Nobody told the status service: the heartbeat stops, and the badge says so.
    stalled = wait_until(lambda: (b := badge(project))["message"].startswith("stalled") and b, timeout=TTL_S + 30,
                         what="the Training badge turning stalled")
    assert stalled["color"] == "orange"

    second = subprocess.run(cli("run", "-c", str(config), "--only", "train"), cwd=root, env=env,
                            capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-4000:]
    assert "Traceback" not in second.stderr

    # The same run, resumed where the last complete checkpoint left it, to exactly max_steps.
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    experiment = client.get_experiment_by_name(spec.experiment_name)
    train_runs = client.search_runs([experiment.experiment_id], f"tags.`cubeops.stage` = 'train'")
    assert [r.info.run_id for r in train_runs] == [run_id], "more than one fine-tune run"
    losses = client.get_metric_history(run_id, "loss")
    steps = sorted({m.step for m in losses})
    assert steps == list(range(1, MAX_STEPS + 1)), f"missing steps: {sorted(set(range(1, MAX_STEPS + 1)) - set(steps))}"
    assert max(m.step for m in client.get_metric_history(run_id, "eval_loss")) == MAX_STEPS
    versions = client.search_model_versions(f"name='{spec.model_name}'")
    assert [str(v.version) for v in versions] == ["1"] and versions[0].run_id == run_id
    store = StatusStore(store_url)
    try:
        messages = [e.message for e in store.history(project, "train", limit=500)]
    finally:
        store.close()
    if resumed_at:
        assert f"queued · resuming at step {resumed_at}" in messages, messages[:20]
    final = badge(project)
    assert final["message"].startswith("passing") and final["color"] == "brightgreen"
    duplicates = len(losses) - len(steps)
    return {"kill_after": kill_after, "resumed_at": resumed_at, "duplicates": duplicates}


def test_sigkill_at_a_random_training_step_then_rerun_resumes(tmp_path, scenario, prefect_env, status_server):
    row = scenario("1 training crash (kill -9, 3 trials)")
    store_url = f"sqlite:///{tmp_path / 'status.db'}"
    board = write_spec(tmp_path / "board", f"project: acme/board\nstatus:\n  store: {store_url}\n")
    server = status_server(board)
    env = child_env(**prefect_env, MLFLOW_TRACKING_URI=os.environ["MLFLOW_TRACKING_URI"])
    rng = random.Random(SEED)
    outcomes = []
    for trial in range(1, 4):
        row.trial()
        outcomes.append(run_trial(trial, rng, tmp_path, store_url, env, lambda p: server.badge_json(p, "train")))
        row.ok()
    row.figure = "killed after/resumed at: " + ", ".join(
        f"ckpt {o['kill_after']}→step {o['resumed_at']}" for o in outcomes
    ) + (
        f"; {MAX_STEPS}/{MAX_STEPS} steps, 1 run, 1 version each; stalled→passing; "
        f"{sum(o['duplicates'] for o in outcomes)} steps logged twice"
    )
