"""The pipeline on real servers: a Prefect server and process worker, an MLflow tracking server and the
cubeops status server fed by remote publishes — on sqlite, and again on PostgreSQL."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.helpers import REPO, free_port, run_cli, server_process, wait_http
from tests.integration.conftest import BIN, Backends, base_env

pytestmark = pytest.mark.integration

POOL = "cubeops-it"

TRIGGER = """
import json, sys, time
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

run = run_deployment(sys.argv[1], timeout=0)
deadline = time.monotonic() + float(sys.argv[2])
with get_client(sync_client=True) as client:
    while time.monotonic() < deadline:
        fr = client.read_flow_run(run.id)
        if fr.state and fr.state.is_final():
            break
        time.sleep(1)
    print(json.dumps({"id": str(fr.id), "state": fr.state.type.value if fr.state else None,
                      "message": fr.state.message if fr.state else None,
                      "worker": fr.work_pool_name, "pid": fr.infrastructure_pid}))
"""

DEPLOY = """
import sys
from prefect import flow
flow.from_source(source=sys.argv[1], entrypoint="flows/pipeline.py:pipeline").deploy(
    name="it", work_pool_name=sys.argv[2], parameters={"config": sys.argv[3]}, print_next_steps=False,
    ignore_warnings=True,
)
"""


def _project(root: Path, status_url: str) -> Path:
    shutil.copytree(REPO / "examples" / "quickstart", root, ignore=shutil.ignore_patterns(".cubeops"))
    spec_path = root / "cubeops.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["project"] = "acme/integration"
    spec["train"].update(max_steps=12, eval_every=6, save_every=6)
    spec["serving"]["port"] = free_port()
    spec["status"] = {"url": status_url}
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return spec_path


def test_worker_runs_the_deployed_pipeline_and_every_badge_turns_green(
    tmp_path: Path, backends: Backends, prefect_server: str, mlflow_server: str
):
    status_port = free_port()
    status_url = f"http://127.0.0.1:{status_port}"
    spec_path = _project(tmp_path / "project", status_url)
    env = base_env(tmp_path) | {"CUBEOPS_STATUS_STORE": backends.status}

    created = run_cli("token", "create", "--write", "--name", "worker", "-c", str(spec_path), env=env)
    assert created.returncode == 0, created.stderr
    write_token = created.stdout.strip().splitlines()[0]

    status_cmd = [sys.executable, "-m", "flows.cli", "status", "serve", "-c", str(spec_path),
                  "--host", "127.0.0.1", "--port", str(status_port)]
    prefect_env = env | {"PREFECT_API_URL": prefect_server}
    worker_env = prefect_env | {"MLFLOW_TRACKING_URI": mlflow_server, "CUBEOPS_STATUS_TOKEN": write_token}
    logs = tmp_path / "logs"
    try:
        with server_process(status_cmd, logs / "status.log", env=env) as status_proc:
            wait_http(f"{status_url}/healthz", timeout=60, proc=status_proc)
            pool = subprocess.run([str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"],
                                  env=prefect_env, capture_output=True, text=True, timeout=120)
            assert pool.returncode == 0, pool.stdout + pool.stderr
            deployed = subprocess.run([sys.executable, "-c", DEPLOY, str(REPO), POOL, str(spec_path)],
                                      env=prefect_env, capture_output=True, text=True, timeout=120)
            assert deployed.returncode == 0, deployed.stderr[-3000:]
            worker_cmd = [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process"]
            with server_process(worker_cmd, logs / "worker.log", env=worker_env):
                trigger = subprocess.run([sys.executable, "-c", TRIGGER, "pipeline/it", "420"],
                                         env=prefect_env, capture_output=True, text=True, timeout=480)
            assert trigger.returncode == 0, trigger.stderr[-3000:]
            run = json.loads(trigger.stdout.strip().splitlines()[-1])
            worker_log = (logs / "worker.log").read_text(errors="replace")
            assert run["state"] == "COMPLETED", f"{run}\n{worker_log[-4000:]}"
            assert run["worker"] == POOL and run["pid"], "the process worker ran the flow"
            assert run["id"] in worker_log

            _assert_mlflow_holds_the_runs(mlflow_server)
            _assert_all_badges_green(status_url)
    finally:
        run_cli("serve", "stop", "-c", str(spec_path), env=env, timeout=120)


def _assert_mlflow_holds_the_runs(url: str) -> None:
    import mlflow

    client = mlflow.MlflowClient(url)
    exp = client.get_experiment_by_name("acme/integration")
    assert exp is not None, "the experiment is named after the project"
    runs = client.search_runs([exp.experiment_id])
    by_stage = {r.data.tags.get("cubeops.stage"): r for r in runs}
    assert {"pipeline", "data", "train"} <= set(by_stage)
    parent = by_stage["pipeline"].info.run_id
    assert by_stage["data"].data.tags["mlflow.parentRunId"] == parent
    assert by_stage["train"].data.tags["mlflow.parentRunId"] == parent
    inputs = by_stage["data"].inputs.dataset_inputs
    assert inputs and inputs[0].dataset.digest, "the prepared dataset is logged as a run input"
    versions = client.search_model_versions("name = 'acme-integration'")
    assert [str(v.version) for v in versions] == ["1"]
    assert client.get_model_version_by_alias("acme-integration", "champion").run_id == by_stage["train"].info.run_id


def _assert_all_badges_green(status_url: str) -> None:
    from status.badge import svg_color

    deadline = time.monotonic() + 10
    while True:
        body = requests.get(
            f"{status_url}/api/v1/cubes/status", params={"repositoryOwnerPlusName": "acme/integration"}, timeout=5
        ).json()
        states = {s: body["stages"].get(s, {}).get("state") for s in ("data", "train", "serving")}
        if states == {"data": "ready", "train": "passing", "serving": "live"} or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert states == {"data": "ready", "train": "passing", "serving": "live"}, body
    for stage in ("data", "train", "serving"):
        svg = requests.get(
            f"{status_url}/api/v1/cubes/status/{stage}",
            params={"repositoryOwnerPlusName": "acme/integration", "token": "PUBLIC"},
            timeout=5,
        )
        green = svg_color("brightgreen")
        assert svg.status_code == 200 and f'fill="{green}"' in svg.text, f"{stage} badge is not green"
