"""Embedded defaults under .cubeops/, overridable by the spec and the standard variables."""

from flows.layout import resolve_layout
from flows.spec_loader import parse_spec


def test_defaults_live_under_dot_cubeops(tmp_path):
    layout = resolve_layout(parse_spec("project: acme/bot\n"), tmp_path, environ={})
    assert layout.tracking_uri == f"sqlite:///{tmp_path / '.cubeops' / 'mlflow.db'}"
    assert layout.status_store == f"sqlite:///{tmp_path / '.cubeops' / 'status.db'}"
    assert layout.artifact_root == str(tmp_path / ".cubeops" / "artifacts")
    assert layout.prefect_home == tmp_path / ".cubeops" / "prefect"
    assert layout.prefect_api_url is None
    assert layout.experiment == "acme/bot"
    assert not (tmp_path / ".cubeops").exists(), "resolving a layout must not touch the disk"
    layout.ensure()
    assert (tmp_path / ".cubeops" / "checkpoints").is_dir()


def test_spec_overrides_defaults_and_variables_override_the_spec(tmp_path):
    spec = parse_spec(
        "project: acme/bot\ntracking:\n  uri: http://mlflow.internal:5000\n  prefect_api_url: http://prefect:4200/api\n"
        "  experiment: bots\n"
    )
    layout = resolve_layout(spec, tmp_path, environ={})
    assert layout.tracking_uri == "http://mlflow.internal:5000"
    assert layout.prefect_api_url == "http://prefect:4200/api"
    assert layout.experiment == "bots"
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5555", "PREFECT_API_URL": "http://127.0.0.1:4200/api"}
    layout = resolve_layout(spec, tmp_path, environ=env)
    assert layout.tracking_uri == "http://127.0.0.1:5555"
    assert layout.prefect_api_url == "http://127.0.0.1:4200/api"


def test_configure_prefect_turns_telemetry_off_and_homes_under_the_project(tmp_path):
    from flows.runtime import configure_prefect

    env: dict[str, str] = {}
    configure_prefect(resolve_layout(parse_spec("project: acme/bot\n"), tmp_path, environ={}), env)
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert env["PREFECT_HOME"] == str(tmp_path / ".cubeops" / "prefect")
    assert "PREFECT_API_URL" not in env


def test_unreachable_tracking_server_names_url_and_variable(tmp_path, monkeypatch):
    import pytest

    from flows.errors import ServiceUnreachable
    from flows.tracking import use_experiment
    from tests.helpers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    layout = resolve_layout(parse_spec("project: acme/bot\n"), tmp_path)
    with pytest.raises(ServiceUnreachable, match=f"{url} does not answer.*MLFLOW_TRACKING_URI"):
        use_experiment(layout)


def test_use_experiment_creates_the_project_experiment_with_local_artifacts(tmp_path, mlflow_store):
    import mlflow

    from flows.tracking import use_experiment

    layout = resolve_layout(parse_spec("project: acme/bot\n"), tmp_path)
    exp_id = use_experiment(layout)
    exp = mlflow.MlflowClient().get_experiment(exp_id)
    assert exp.name == "acme/bot"
    assert exp.artifact_location == (tmp_path / ".cubeops" / "artifacts").as_uri()
    assert use_experiment(layout) == exp_id
