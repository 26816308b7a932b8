"""The ``deploy`` flow under Prefect's harness: gate, serve the champion, switch, roll back, and the badge."""

import mlflow
import pytest
import requests

from flows.contracts import CHALLENGER, CHAMPION, TAG_GATE, TAG_GATE_REASON, Deployment
from flows.deploy.flow import deploy
from flows.cli import main
from flows.errors import ServingError
from flows.serving.probe import probe_project
from flows.serving.process import live_servers
from registry.client import get_version, registered_aliases, registry_client
from status.store import StatusStore
from tests.registry.builders import make_project, register_version


def _serving(project) -> tuple[str, str]:
    store = StatusStore(project.layout.status_store)
    try:
        st = store.current(project.spec.project)["serving"]
        return st.state, st.message
    finally:
        store.close()


def _health(url: str) -> dict:
    return requests.get(f"{url}/health", timeout=10).json()


def test_gate_decides_and_the_server_moves_only_to_a_new_champion(prefect_harness, project, saved_models, cleanup, capsys):
    register_version(project, saved_models.tiny, 30.0)
    first = deploy(spec=project.spec, root=str(project.root))
    url = f"http://127.0.0.1:{project.spec.serving.port}"
    assert first == Deployment(model_name=project.name, version="1", url=url, verdict="promoted", promoted=True)
    assert _health(url)["version"] == "1"
    pid = _health(url)["pid"]
    assert _serving(project) == ("live", "live · v1")

    worse = register_version(project, saved_models.tiny, 40.0)
    second = deploy(spec=project.spec, root=str(project.root), model=worse)
    assert (second.version, second.verdict, second.promoted) == ("1", "rejected", False)
    client = registry_client(project.layout)
    assert registered_aliases(client, project.name) == {CHAMPION: "1", CHALLENGER: "2"}
    assert "33.3% worse" in get_version(client, project.name, "2").tags[TAG_GATE_REASON]
    assert _health(url)["pid"] == pid  # a rejected challenger does not touch the server

    better = register_version(project, saved_models.tiny, 20.0)
    third = deploy(spec=project.spec, root=str(project.root), model=better)
    assert (third.version, third.url, third.verdict) == ("3", url, "promoted")
    assert _health(url)["version"] == "3" and _health(url)["pid"] != pid
    assert probe_project(project.spec, project.layout).message == "live · v3"
    assert _serving(project) == ("live", "live · v3")
    runs = mlflow.search_runs(experiment_names=[project.spec.experiment_name], filter_string="tags.`cubeops.stage` = 'deploy'")
    assert sorted(runs["params.version"]) == ["1", "1", "3"]

    # A rollback by hand moves the alias, not the server: the badge says drift until the next deploy.
    assert main(["registry", "-c", str(project.spec_path), "rollback"]) == 0
    assert "the model server still serves v3; run `cubeops serve start` to serve v1" in capsys.readouterr().out
    assert _serving(project) == ("drift", "drift · v3 served, champion v1")


def test_a_failed_smoke_test_rolls_back_and_the_old_server_never_stops(prefect_harness, project, saved_models, cleanup):
    url = f"http://127.0.0.1:{project.spec.serving.port}"
    client = registry_client(project.layout)
    register_version(project, saved_models.broken, 30.0)  # loads, answers /health, cannot generate
    with pytest.raises(ServingError, match=r"^v1 failed its smoke test: prompt 'The data team': 400"):
        deploy(spec=project.spec, root=str(project.root))
    assert registered_aliases(client, project.name) == {}  # nothing to fall back to: no champion at all
    assert get_version(client, project.name, "1").tags[TAG_GATE] == "rolled-back"
    assert _serving(project) == ("down", "down · v1 failed its smoke test")
    assert live_servers(project.layout.serving_dir) == []

    register_version(project, saved_models.tiny, 30.0)
    assert deploy(spec=project.spec, root=str(project.root)).version == "2"
    before = _health(url)

    broken = register_version(project, saved_models.broken, 10.0)  # the gate likes it
    result = deploy(spec=project.spec, root=str(project.root), model=broken)

    assert (result.version, result.rolled_back, result.promoted) == ("2", True, False)
    assert result.verdict.startswith("v3 failed its smoke test: prompt 'The data team': 400")
    assert result.verdict.endswith("; rolled back to v2")
    assert registered_aliases(client, project.name) == {CHAMPION: "2"}
    v3 = get_version(client, project.name, "3")
    assert v3.tags[TAG_GATE] == "rolled-back" and "failed its smoke test" in v3.tags[TAG_GATE_REASON]
    assert _health(url) | {"uptime_s": 0} == before | {"uptime_s": 0}  # the same process, still serving
    assert [r.version for r in live_servers(project.layout.serving_dir)] == ["2"]
    assert _serving(project) == ("live", "live · v2")


def test_a_first_version_below_the_bar_serves_nothing_and_says_so(prefect_harness, tmp_path, saved_models, mlflow_store):
    strict = make_project(tmp_path / "strict", registry="absolute_bar: 25")
    register_version(strict, saved_models.tiny, 30.0)

    result = deploy(spec=strict.spec, root=str(strict.root))

    assert (result.version, result.url, result.verdict, result.promoted) == (None, None, "rejected", False)
    client = registry_client(strict.layout)
    reason = get_version(client, strict.name, "1").tags[TAG_GATE_REASON]
    assert reason == "first version: perplexity 30 misses the absolute bar ≤ 25"
    assert registered_aliases(client, strict.name) == {CHALLENGER: "1"}
    assert _serving(strict) == ("down", "down · no champion")
    assert live_servers(strict.layout.serving_dir) == []
