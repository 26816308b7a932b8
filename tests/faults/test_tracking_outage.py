"""Tracking outage: the MLflow tracking server goes away for 20 s in the middle of training.

``cubeops run --only train`` logs to a real ``mlflow server`` (sqlite backend, local artifacts)
on a free loopback port. Once a checkpoint shows training is well under way, the server is
stopped, kept down for 20 s, and started again on the same port and store. Training must finish,
and afterwards MLflow must hold every step's metrics (counted) and the registered version.
"""

import subprocess
import sys
import threading
import time
from pathlib import Path

import mlflow
import pytest

from flows.spec_loader import load_spec
from flows.train import checkpoints
from status.model import effective_status, utcnow
from status.store import StatusStore
from tests.faults.conftest import child_env, cli, wait_until, write_corpus, write_spec
from tests.helpers import free_port, server_process, stop_process, wait_http

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("prefect_harness")]

MAX_STEPS = 60
OUTAGE_S = 20
OUTAGE_AFTER_CHECKPOINT = 20
BIN = Path(sys.executable).parent

SPEC = f"""\
project: acme/outage
model:
  base: tiny-gpt2
  tiny: {{n_layer: 2, n_embd: 128, n_head: 2, vocab_size: 500, n_positions: 64}}
data:
  block_size: 64
train:
  max_steps: {MAX_STEPS}
  batch_size: 16
  learning_rate: 0.003
  eval_every: 20
  save_every: 20
  keep_checkpoints: 2
  threads: 1
  precision: fp32
eval:
  prompts: ["The data team"]
  max_new_tokens: 4
  probes: []
tracking:
  system_metrics: false
"""


def mlflow_server_cmd(backend: str, artifacts: Path, port: int) -> list[str]:
    """``mlflow server`` as the integration tests start it."""
    return [
        str(BIN / "mlflow"), "server", "--backend-store-uri", backend, "--artifacts-destination", str(artifacts),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]


def _checkpoint_step(root: Path) -> int:
    steps = [
        checkpoints.checkpoint_step(done)
        for folder in (root / ".cubeops" / "checkpoints").glob("*")
        if (done := checkpoints.latest_checkpoint(folder)) is not None
    ]
    return max(steps, default=0)


class BadgeWatch(threading.Thread):
    """Reads the Training badge's state (as the status service derives it) every second."""

    def __init__(self, store_url: str, project: str):
        super().__init__(daemon=True)
        self.store_url, self.project = store_url, project
        self.stop = threading.Event()
        self.seen: list[str] = []

    def run(self) -> None:
        store = StatusStore(self.store_url)
        try:
            while not self.stop.wait(1.0):
                info, current = store.project(self.project), store.current(self.project).get("train")
                if info and current:
                    self.seen.append(effective_status(current, info, utcnow()).state)
        finally:
            store.close()


def test_training_survives_a_20s_tracking_outage_and_loses_no_step(tmp_path, scenario, prefect_env):
    row = scenario("3 tracking outage (20 s)").trial()
    root = tmp_path / "project"
    write_corpus(root, 240)
    config = write_spec(root, SPEC)
    spec = load_spec(config)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    backend = f"sqlite:///{tmp_path / 'mlflow-server.db'}"
    artifacts = tmp_path / "mlflow-artifacts"
    server_env = {k: v for k, v in child_env().items() if not k.startswith("MLFLOW_")} | {"MLFLOW_DISABLE_TELEMETRY": "true"}
    cmd = mlflow_server_cmd(backend, artifacts, port)

    first = server_process(cmd, tmp_path / "logs" / "mlflow-1.log", env=server_env)
    server = first.__enter__()
    stopped = False
    try:
        wait_http(f"{url}/health", timeout=120, proc=server)
        env = child_env(**prefect_env, MLFLOW_TRACKING_URI=url)
        log = open(root / "run.log", "wb")
        run = subprocess.Popen(cli("run", "-c", str(config), "--only", "train"), cwd=root, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: run.poll() is not None or _checkpoint_step(root) >= OUTAGE_AFTER_CHECKPOINT,
                       timeout=300, every=0.05, what=f"checkpoint {OUTAGE_AFTER_CHECKPOINT}")
            assert run.poll() is None, f"training ended before the outage: {(root / 'run.log').read_text()[-3000:]}"
            down_at_step = _checkpoint_step(root)
            watch = BadgeWatch(f"sqlite:///{root / '.cubeops' / 'status.db'}", spec.project)
            watch.start()
            first.__exit__(None, None, None)
            stopped = True
            outage_began = time.monotonic()
            time.sleep(OUTAGE_S)
            assert run.poll() is None, f"training died during the outage: {(root / 'run.log').read_text()[-4000:]}"
            with server_process(cmd, tmp_path / "logs" / "mlflow-2.log", env=server_env) as again:
                wait_http(f"{url}/health", timeout=120, proc=again)
                outage = time.monotonic() - outage_began
                code = run.wait(600)
                watch.stop.set()
                watch.join(10)
                # Alive all along: the badge must not have cried "stalled" while MLflow was away.
                assert "stalled" not in watch.seen and "failed" not in watch.seen, watch.seen
                output = (root / "run.log").read_text(errors="replace")
                assert code == 0, output[-4000:]
                assert "Traceback" not in output, output[-4000:]

                client = mlflow.MlflowClient(url)
                experiment = client.get_experiment_by_name(spec.experiment_name)
                (train_run,) = client.search_runs([experiment.experiment_id], "tags.`cubeops.stage` = 'train'")
                assert train_run.info.status == "FINISHED"
                counts = {}
                for key in ("loss", "learning_rate", "grad_norm"):
                    history = client.get_metric_history(train_run.info.run_id, key)
                    steps = sorted(m.step for m in history)
                    assert steps == list(range(1, MAX_STEPS + 1)), (
                        f"{key}: {MAX_STEPS - len(set(steps))} steps missing, {len(steps) - len(set(steps))} doubled"
                    )
                    counts[key] = len(steps)
                evals = sorted(m.step for m in client.get_metric_history(train_run.info.run_id, "eval_loss"))
                assert evals[:-1] == list(range(20, MAX_STEPS + 1, 20)) or evals == list(range(20, MAX_STEPS + 1, 20))
                versions = client.search_model_versions(f"name='{spec.model_name}'")
                assert [str(v.version) for v in versions] == ["1"]
                assert versions[0].run_id == train_run.info.run_id and versions[0].status == "READY"
        finally:
            stop_process(run)
            log.close()
    finally:
        if not stopped:
            first.__exit__(None, None, None)
    row.ok()
    row.figure = (
        f"down {outage:.0f} s from step ~{down_at_step}: {counts['loss']}/{MAX_STEPS} steps logged "
        f"(loss, lr, grad norm each), {len(evals)} evals, version 1 registered, badge never stalled"
    )
