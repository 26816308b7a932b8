"""`cubeops schedule` serves the pipeline as a Prefect deployment on the spec's cron, one run at a time,
and a run of that deployment publishes status like a manual one."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from flows.schedule import LATE_AFTER, lateness
from tests.helpers import REPO, free_port, run_cli, server_process
from tests.integration.conftest import base_env

pytestmark = pytest.mark.integration

INSPECT = """
import json, sys
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    try:
        d = client.read_deployment_by_name(sys.argv[1])
    except Exception as exc:
        print(json.dumps({"missing": type(exc).__name__})); raise SystemExit(0)
    print(json.dumps({
        "crons": [s.schedule.cron for s in d.schedules],
        "timezones": [s.schedule.timezone for s in d.schedules],
        "active": [s.active for s in d.schedules],
        "limit": d.global_concurrency_limit.limit if d.global_concurrency_limit else None,
        "parameters": d.parameters,
    }))
"""

RUN = """
import json, sys, time
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
run = run_deployment(sys.argv[1], timeout=0)
deadline = time.monotonic() + 400
with get_client(sync_client=True) as client:
    while time.monotonic() < deadline:
        fr = client.read_flow_run(run.id)
        if fr.state and fr.state.is_final():
            break
        time.sleep(1)
print(json.dumps({"state": fr.state.type.value, "message": fr.state.message}))
"""


@pytest.mark.parametrize("backends", ["sqlite"], indirect=True)
def test_schedule_serves_the_cron_deployment_and_its_runs_publish_status(tmp_path: Path, backends, prefect_server: str):
    root = tmp_path / "project"
    shutil.copytree(REPO / "examples" / "quickstart", root, ignore=shutil.ignore_patterns(".cubeops"))
    spec_path = root / "cubeops.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["project"] = "acme/nightly"
    spec["train"].update(max_steps=10, eval_every=5, save_every=5)
    spec["serving"]["port"] = free_port()
    spec["schedule"] = {"cron": "30 2 * * *", "timezone": "Europe/London"}
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    env = base_env(tmp_path) | {"PREFECT_API_URL": prefect_server}

    def inspect() -> dict:
        out = subprocess.run([sys.executable, "-c", INSPECT, "pipeline/acme-nightly"], env=env,
                             capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout.strip().splitlines()[-1])

    cmd = [sys.executable, "-m", "flows.cli", "schedule", "-c", str(spec_path)]
    try:
        with server_process(cmd, tmp_path / "logs" / "schedule.log", env=env) as proc:
            deadline = time.monotonic() + 90
            while "missing" in (info := inspect()):
                assert proc.poll() is None, (tmp_path / "logs" / "schedule.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the deployment never appeared"
                time.sleep(1)
            assert info["crons"] == ["30 2 * * *"] and info["timezones"] == ["Europe/London"]
            assert info["active"] == [True]
            assert info["limit"] == 1, "runs of one project must never overlap"
            assert info["parameters"] == {"config": str(spec_path)}

            ran = subprocess.run([sys.executable, "-c", RUN, "pipeline/acme-nightly"], env=env,
                                 capture_output=True, text=True, timeout=480)
            result = json.loads(ran.stdout.strip().splitlines()[-1])
            log = (tmp_path / "logs" / "schedule.log").read_text(errors="replace")
            assert result["state"] == "COMPLETED", f"{result}\n{log[-4000:]}"

        from status.store import StatusStore

        current = StatusStore(f"sqlite:///{root / '.cubeops' / 'status.db'}").current("acme/nightly")
        assert {s: c.state for s, c in current.items()} == {"data": "ready", "train": "passing", "serving": "live"}
    finally:
        run_cli("serve", "stop", "-c", str(spec_path), env=env, timeout=120)


def test_a_run_that_starts_long_after_its_slot_is_reported_late():
    from datetime import datetime, timedelta, timezone

    slot = datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    assert lateness(slot, slot + LATE_AFTER / 2) is None
    assert lateness(slot, slot + timedelta(hours=2)) == timedelta(hours=2)
    assert lateness(None, slot) is None, "a manual run is never late"
