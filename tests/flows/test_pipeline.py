"""The pipeline as a user runs it: `cubeops run` in a real subprocess, on the embedded defaults."""

import os
import shutil
import textwrap
from pathlib import Path

import pytest
import requests

from tests.helpers import REPO, free_port, run_cli


def _env() -> dict[str, str]:
    drop = ("MLFLOW_TRACKING_URI", "PREFECT_API_URL", "PREFECT_HOME", "CUBEOPS_STATUS_STORE")
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture
def quickstart(tmp_path: Path):
    """A copy of the quickstart project on a free serving port, its server stopped afterwards."""
    root = tmp_path / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", root, ignore=shutil.ignore_patterns(".cubeops"))
    spec = root / "cubeops.yaml"
    text = spec.read_text().replace("port: 5077", f"port: {free_port()}").replace("max_steps: 60", "max_steps: 20")
    spec.write_text(text)
    yield spec
    run_cli("serve", "stop", "-c", str(spec), env=_env(), timeout=120)


def test_run_executes_every_stage_under_one_parent_run_and_turns_all_badges_green(quickstart):
    res = run_cli("run", "-c", str(quickstart), env=_env())
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    lines = dict(ln.split(None, 1) for ln in res.stdout.splitlines() if ln.split(None, 1)[0] in ("data", "train", "deploy"))
    assert lines["data"].endswith(" prepared)")
    assert lines["train"] == "cubeops-quickstart v1 (trained)"
    assert lines["deploy"].startswith("v1 at http://127.0.0.1:")

    import mlflow

    home = quickstart.parent / ".cubeops"
    client = mlflow.MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
    exp = client.get_experiment_by_name("cubeops/quickstart")
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("cubeops.stage") == "pipeline"]
    assert parent.info.status == "FINISHED"
    children = {r.data.tags.get("cubeops.stage") for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert {"data", "train"} <= children
    assert str(client.get_model_version_by_alias("cubeops-quickstart", "champion").version) == "1"

    from status.store import StatusStore

    current = StatusStore(f"sqlite:///{home / 'status.db'}").current("cubeops/quickstart")
    assert current["data"].state == "ready" and current["train"].state == "passing"
    assert current["serving"].text == "live · v1"
    assert current["serving"].details["gate"]["verdict"] == "promoted"
    health = requests.get(current["serving"].details["url"] + "/health", timeout=10).json()
    assert health["version"] == "1"

    again = run_cli("run", "--only", "data", "-c", str(quickstart), env=_env())
    assert again.returncode == 0, again.stderr[-3000:]
    assert " reused)" in again.stdout


def test_a_failing_stage_stops_the_ones_after_it(tmp_path):
    spec = tmp_path / "cubeops.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            project: acme/broken
            data: {sources: [missing/*.txt]}
            model: {base: tiny-gpt2}
            """
        )
    )
    res = run_cli("run", "-c", str(spec), env=_env())
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("cubeops: error:")]
    assert len(errors) == 1 and "data.sources[0]: 'missing/*.txt' matches no files" in errors[0]

    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / '.cubeops' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("acme/broken")
    runs = client.search_runs([exp.experiment_id])
    stages = {r.data.tags.get("cubeops.stage"): r.info.status for r in runs}
    assert stages.get("pipeline") == "FAILED"
    assert "train" not in stages, "fine-tune must not start after data-prep failed"

    from status.store import StatusStore

    current = StatusStore(f"sqlite:///{tmp_path / '.cubeops' / 'status.db'}").current("acme/broken")
    assert current["data"].state == "failed" and "matches no files" in current["data"].text
    assert "train" not in current


def test_runs_left_running_by_a_killed_pipeline_are_closed_but_training_is_kept(tmp_path):
    import mlflow

    from flows.pipeline import close_abandoned_runs

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("acme/bot", artifact_location=(tmp_path / "artifacts").as_uri())
    dead = {s: client.create_run(exp, tags={"cubeops.stage": s}).info.run_id for s in ("pipeline", "data", "train")}
    done = client.create_run(exp, tags={"cubeops.stage": "data"}).info.run_id
    client.set_terminated(done, status="FINISHED")
    closed = close_abandoned_runs(client, exp)
    assert sorted(closed) == sorted([dead["pipeline"], dead["data"]])
    assert client.get_run(dead["pipeline"]).info.status == "KILLED"
    assert client.get_run(dead["train"]).info.status == "RUNNING", "a fine-tune run is resumed, not closed"
    assert client.get_run(done).info.status == "FINISHED"
