"""Fine-tuning in two processes (DDP over gloo): one MLflow run, one version, the same steps."""

import json
import os
import signal
import subprocess
import sys
import time

import mlflow
import pytest

from flows.errors import TrainError
from flows.layout import resolve_layout
from flows.train import checkpoints, distributed
from flows.train.worker import WORLD_SIZE_TAG
from status.store import StatusStore
from tests.flows.train.conftest import make_spec, write_project
from tests.helpers import REPO, stop_process

pytestmark = pytest.mark.usefixtures("prefect_harness")

STEPS = 6


def ddp_spec(**train):
    return make_spec(
        train={"max_steps": STEPS, "eval_every": 3, "save_every": 3, "distributed": {"nproc": 2}, **train}
    )


def current_train_status(spec, root):
    store = StatusStore(resolve_layout(spec, root).status_store)
    try:
        return store.current(spec.project)["train"]
    finally:
        store.close()


def test_two_processes_log_one_run_with_one_point_per_step_and_register_once(project, prepared):
    from flows.train.flow import fine_tune

    spec = ddp_spec()
    result = fine_tune(spec=spec, root=str(project), data=prepared)

    assert not result.reused and result.version == "1"
    client = mlflow.MlflowClient()
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert [r.info.run_id for r in client.search_runs([run.info.experiment_id])] == [result.run_id]
    # Rank 1 trained silently: each step has exactly one point, not one per process.
    assert [m.step for m in client.get_metric_history(result.run_id, "loss")] == list(range(1, STEPS + 1))
    assert [str(v.version) for v in client.search_model_versions(f"name='{spec.model_name}'")] == ["1"]
    assert run.data.tags[WORLD_SIZE_TAG] == "2"
    status = current_train_status(spec, project)
    assert status.state == "passing" and status.message.startswith("passing · ppl ")


def test_nccl_on_cpu_fails_before_training_with_the_field_named(project, prepared):
    from flows.train.flow import fine_tune

    spec = ddp_spec(distributed={"nproc": 2, "backend": "nccl"}, device="cpu")
    with pytest.raises(TrainError, match="train.distributed.backend is nccl"):
        fine_tune(spec=spec, root=str(project), data=prepared)
    assert current_train_status(spec, project).state == "failed"


def test_a_failing_rank_surfaces_as_one_train_error_with_the_log_tail(project, prepared, tmp_path):
    spec = ddp_spec()
    run = mlflow.MlflowClient().create_run("0")
    request = distributed.WorkerRequest(
        spec=spec,
        root=str(project),
        data=prepared,
        checkpoint_dir=str(tmp_path / "ckpt"),
        device="cpu",
        precision="fp32",
        precision_reason="test",
        train_key="0" * 16,
        run_id=run.info.run_id,
        tracking_uri=mlflow.get_tracking_uri(),
        # No checkpoint there: the Trainer of every rank refuses to resume.
        resume_from=str(tmp_path / "ckpt" / "checkpoint-3"),
    )
    with pytest.raises(TrainError) as caught:
        distributed.launch(request, tmp_path / "ckpt")
    message = str(caught.value)
    assert message.startswith("multi-process training exited with code ")
    assert "checkpoint-3" in message and str(tmp_path / "ckpt" / distributed.LOG_FILE) in message
    assert not (tmp_path / "ckpt" / checkpoints.FINAL_DIR).exists()


def worker_env() -> dict:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    env["PYTHONPATH"] = str(REPO)
    return env


def wait_for_checkpoint(folder_root, proc, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"training exited ({proc.returncode}) before writing a checkpoint")
        for folder in folder_root.glob("*"):
            if checkpoints.latest_checkpoint(folder) is not None:
                return folder
        time.sleep(0.05)
    raise AssertionError("no checkpoint within the timeout")


@pytest.mark.slow
def test_killing_the_launch_then_rerunning_resumes_the_same_run_to_the_exact_step(project, prepared):
    steps = 60
    spec = make_spec(train={"max_steps": steps, "eval_every": 30, "save_every": 5, "distributed": {"nproc": 2}})
    config = write_project(project, spec)
    data_json = project / "prepared.json"
    data_json.write_text(prepared.model_dump_json())
    cmd = [sys.executable, "-m", "flows.train", "-c", str(config), "--data", str(data_json)]
    env = worker_env()

    with open(project / "first.log", "wb") as log:
        first = subprocess.Popen(
            cmd, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            folder = wait_for_checkpoint(project / ".cubeops" / "checkpoints", first)
            # The whole group: the flow, the launcher and both ranks.
            os.killpg(first.pid, signal.SIGKILL)
            killed_at_ms = time.time() * 1000
            first.wait(30)
            # The ranks run in sessions of their own: a surviving one would log steps from now on.
            time.sleep(2)
        finally:
            stop_process(first)
    run_id = checkpoints.read_run_id(folder)
    resumed_at = checkpoints.checkpoint_step(checkpoints.latest_checkpoint(folder))
    assert run_id and 0 < resumed_at < steps
    client = mlflow.MlflowClient()
    assert client.search_registered_models() == []

    second = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    result = json.loads(second.stdout.strip().splitlines()[-1])

    assert result["run_id"] == run_id and result["version"] == "1"
    assert client.get_run(run_id).info.status == "FINISHED"
    history = client.get_metric_history(run_id, "loss")
    assert {m.step for m in history} == set(range(1, steps + 1))
    # Nothing trained on after the kill; the rerun carried on right after the last checkpoint.
    rerun_steps = sorted(m.step for m in history if m.timestamp > killed_at_ms)
    assert rerun_steps == list(range(resumed_at + 1, steps + 1))
    assert max(m.step for m in client.get_metric_history(run_id, "eval_loss")) == steps
    assert current_train_status(spec, project).state == "passing"


# -- the pure pieces ---------------------------------------------------------------------------


def test_backend_auto_is_nccl_on_cuda_and_gloo_elsewhere():
    assert distributed.resolve_backend("auto", "cuda") == "nccl"
    assert distributed.resolve_backend("auto", "cpu") == "gloo"
    assert distributed.resolve_backend("gloo", "cuda") == "gloo"
    with pytest.raises(TrainError, match="nccl needs CUDA"):
        distributed.resolve_backend("nccl", "mps")


def test_the_launch_runs_torchrun_standalone_over_the_worker_entry(tmp_path):
    cmd = distributed.launch_command("/py", 4, tmp_path / "r.json")
    assert cmd[:7] == ["/py", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "4", "-m"]
    assert cmd[7:] == ["flows.train", "--worker", str(tmp_path / "r.json")]


def test_the_log_tail_is_the_ranks_error_not_the_launchers_summary():
    log = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in <module>',
            "ValueError: Can't find a valid checkpoint at /c/checkpoint-3",
            "W1126 10:34:15.157000 28008 .venv/torch/distributed/elastic/multiprocessing/api.py:1028] Sending SIGTERM",
            "torch.distributed.elastic.multiprocessing.errors.ChildFailedError:",
            "  rank      : 0 (local_rank: 0)",
        ]
    )
    tail = distributed.log_tail(log, lines=2)
    assert tail.splitlines() == [
        '  File "x.py", line 1, in <module>',
        "ValueError: Can't find a valid checkpoint at /c/checkpoint-3",
    ]
    assert distributed.log_tail("only the launcher\n\n") == "only the launcher"


def test_a_request_reaches_the_ranks_with_the_same_spec(prepared, tmp_path):
    spec = make_spec(status={"heartbeat_ttl": "90s"}, train={"distributed": {"nproc": 2}})
    request = distributed.WorkerRequest(
        spec=spec,
        root=str(tmp_path),
        data=prepared,
        checkpoint_dir=str(tmp_path / "c"),
        device="cpu",
        precision="fp32",
        precision_reason="r",
        train_key="k",
        run_id="r",
        tracking_uri="sqlite:///x.db",
    )
    back = distributed.WorkerRequest.model_validate_json(distributed.encode_request(request))
    assert back == request and back.spec.status.heartbeat_ttl.total_seconds() == 90
