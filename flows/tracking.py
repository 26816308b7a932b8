"""MLflow plumbing shared by the flows: which store, which experiment, is it reachable."""

from collections.abc import Mapping

from flows.errors import ServiceUnreachable
from flows.layout import Layout


def check_reachable(url: str, variable: str, path: str = "/health", timeout: float = 5.0) -> None:
    """Raise :class:`ServiceUnreachable` naming ``url`` and the variable that set it, if it doesn't answer."""
    if not url.startswith(("http://", "https://")):
        return
    import requests

    try:
        requests.get(url.rstrip("/") + path, timeout=timeout)
    except requests.RequestException as exc:
        raise ServiceUnreachable(
            f"{url} does not answer ({type(exc).__name__}); it was set by {variable}: "
            "start that server or change the setting"
        ) from None


def tracking_source(layout: Layout) -> str:
    """Which setting chose the tracking URI (for error messages)."""
    import os

    if os.environ.get("MLFLOW_TRACKING_URI"):
        return "MLFLOW_TRACKING_URI"
    return "tracking.uri in cubeops.yaml" if not layout.tracking_uri.startswith("sqlite:///") else "the default"


def use_experiment(layout: Layout) -> str:
    """Point MLflow at the project's store and experiment (created on first use); returns its id.

    With the embedded sqlite store, artifacts go under ``.cubeops/artifacts``; a tracking server
    keeps its own artifact root.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(layout.tracking_uri)
    if layout.tracking_uri.startswith(("http://", "https://")):
        check_reachable(layout.tracking_uri, tracking_source(layout))
    client = mlflow.MlflowClient(layout.tracking_uri)
    exp = client.get_experiment_by_name(layout.experiment)
    if exp is None:
        location = None
        if not layout.tracking_uri.startswith(("http://", "https://", "databricks")):
            from pathlib import Path

            Path(layout.artifact_root).mkdir(parents=True, exist_ok=True)
            location = Path(layout.artifact_root).as_uri()
        try:
            exp_id = client.create_experiment(layout.experiment, artifact_location=location)
        except MlflowException:
            # Another process created it first.
            exp_id = client.get_experiment_by_name(layout.experiment).experiment_id
    else:
        exp_id = exp.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def check_services(layout: Layout, environ: Mapping[str, str] | None = None) -> None:
    """Fail at once, naming the URL and the setting, when a configured MLflow or Prefect server is down."""
    import os

    env = os.environ if environ is None else environ
    check_reachable(layout.tracking_uri, tracking_source(layout))
    if layout.prefect_api_url:
        source = "PREFECT_API_URL" if env.get("PREFECT_API_URL") else "tracking.prefect_api_url in cubeops.yaml"
        check_reachable(layout.prefect_api_url, source)
