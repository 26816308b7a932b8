"""The ``fine-tune`` flow: plan → train → register, or report the version nothing changed since."""

from prefect import flow

from flows.contracts import PreparedData, TrainedModel
from flows.spec import ProjectSpec
from flows.train.tasks import plan_fine_tune, register_model, train_model


def _prepare(spec: ProjectSpec, root: str, parent_run_id: str | None) -> PreparedData:
    """The prepared dataset (a cache hit when it is already prepared)."""
    from flows.data.flow import prepare_data

    return prepare_data(spec=spec, root=root, parent_run_id=parent_run_id)


@flow(name="fine-tune")
def fine_tune(
    spec: ProjectSpec,
    root: str,
    force: bool = False,
    data: PreparedData | None = None,
    parent_run_id: str | None = None,
) -> TrainedModel:
    """Fine-tune ``spec.model`` on the prepared data and register a version with its lineage.

    Rerun after a crash, it resumes from the last checkpoint in the same MLflow run; rerun with
    nothing changed, it trains nothing and returns the existing version (``reused=True``).
    ``force`` trains again from scratch.
    """
    if data is None:
        data = _prepare(spec, root, parent_run_id)
    plan = plan_fine_tune(spec, root, data, force)
    if plan.reuse is not None:
        return plan.reuse
    outcome = train_model(spec, root, data, plan, parent_run_id)
    return register_model(spec, root, data, plan, outcome)
