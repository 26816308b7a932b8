"""The ``prepare-data`` flow: sources → cleaned, deduplicated, split, tokenized and packed blocks
under ``.cubeops/data/<digest>/``, tracked in MLflow and published on the Data badge."""

from prefect import flow

from flows.contracts import PreparedData
from flows.data.tasks import (
    collect_documents,
    describe_failure,
    finish_tracking,
    prepare_dataset,
    record_failure,
    start_tracking,
)
from flows.data.version import load_prepared
from flows.layout import resolve_layout
from flows.spec import ProjectSpec

__all__ = ["load_prepared", "prepare_data"]


@flow(name="prepare-data", flow_run_name="prepare-data")
def prepare_data(spec: ProjectSpec, root: str, force: bool = False, parent_run_id: str | None = None) -> PreparedData:
    """Prepare the project's dataset, or reuse it when its digest is already prepared and complete.

    ``root`` is the folder holding ``cubeops.yaml``; ``force`` rebuilds even a complete dataset;
    ``parent_run_id`` nests the MLflow run under the pipeline's run.
    """
    layout = resolve_layout(spec, root)
    run = start_tracking(spec, layout, parent_run_id)
    try:
        corpus = collect_documents(spec, layout)
        prepared = prepare_dataset(spec, layout, corpus, force, run.run_id)
        finish_tracking(spec, layout, run, prepared)
    except BaseException as exc:
        # Recording the failure must never hide it: its state is returned, not raised.
        record_failure(spec, layout, run, describe_failure(exc), return_state=True)
        raise
    return prepared
