"""The ``deploy`` flow: gate the challenger, then serve ``models:/<name>@champion``."""

from prefect import flow

from flows.contracts import Deployment, TrainedModel
from flows.deploy.tasks import gate_challenger, record_deployment, serve_champion
from flows.spec import ProjectSpec


@flow(name="deploy", flow_run_name="deploy")
def deploy(
    spec: ProjectSpec,
    root: str,
    force: bool = False,
    model: TrainedModel | None = None,
    parent_run_id: str | None = None,
) -> Deployment:
    """Judge ``model`` (or the newest unjudged version) against the champion, then serve the champion.

    ``force`` re-judges a version that already has a verdict and restarts a server already
    serving the champion.
    """
    gate = gate_challenger(spec, root, model, force)
    deployment = serve_champion(spec, root, gate, force)
    record_deployment(spec, root, deployment, parent_run_id)
    return deployment
