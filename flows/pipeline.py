"""The ``pipeline`` flow: prepare-data → fine-tune → deploy as subflows of one parent flow run.

In MLflow the pipeline is a parent run with one nested run per stage, in the project's
experiment. A failing stage stops the stages after it; earlier results stay valid and are reused
by the next run (each stage caches by content). One run per project at a time.
"""

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.contracts import Deployment, PreparedData, TrainedModel
from flows.errors import UserError
from flows.layout import Layout, resolve_layout
from flows.lock import project_lock
from flows.schedule import lateness, now
from flows.spec import ProjectSpec
from flows.spec_loader import load_spec

STAGES = ("data", "train", "deploy")


@task(name="load-spec")
def load_project_spec(config: str) -> ProjectSpec:
    """Read and validate the spec (a scheduled run reads the spec as it is now)."""
    return load_spec(config)


@task(name="open-pipeline-run")
def open_pipeline_run(spec: ProjectSpec, layout: Layout, only: str | None) -> str:
    """Create the parent MLflow run that the stage runs nest under."""
    import mlflow
    from prefect.runtime import flow_run

    from flows.tracking import use_experiment

    exp_id = use_experiment(layout)
    close_abandoned_runs(mlflow.MlflowClient(layout.tracking_uri), exp_id)
    tags = {"cubeops.stage": "pipeline", "cubeops.project": spec.project, "mlflow.runName": "pipeline"}
    if flow_run.id:
        tags["cubeops.prefect_flow_run_id"] = str(flow_run.id)
    if only:
        tags["cubeops.only"] = only
    late = lateness(flow_run.scheduled_start_time if flow_run.id else None, now())
    if late is not None:
        # A slot missed while nothing was serving the schedule: run now, and say so.
        get_run_logger().warning("missed schedule: this scheduled run started %s late", late)
        tags["cubeops.missed_schedule"] = f"late by {int(late.total_seconds())}s"
    return mlflow.MlflowClient(layout.tracking_uri).create_run(exp_id, tags=tags).info.run_id


# Stages whose runs a killed pipeline leaves RUNNING. A fine-tune run is not among them: the next run
# reattaches it and resumes from its checkpoint.
ABANDONABLE = ("pipeline", "data", "deploy")


def close_abandoned_runs(client, experiment_id: str) -> list[str]:
    """Mark KILLED the runs a killed pipeline left RUNNING; safe because the caller holds the project lock."""
    running = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'")
    runs = [r for r in running if r.data.tags.get("cubeops.stage") in ABANDONABLE]
    for run in runs:
        client.set_tag(run.info.run_id, "cubeops.error", "the process running this stage was killed")
        client.set_terminated(run.info.run_id, status="KILLED")
    return [r.info.run_id for r in runs]


@task(name="close-pipeline-run")
def close_pipeline_run(layout: Layout, run_id: str, results: dict, error: str | None = None) -> None:
    """End the parent run with a status, and the stage outcomes as tags."""
    import mlflow

    client = mlflow.MlflowClient(layout.tracking_uri)
    for stage, value in results.items():
        client.set_tag(run_id, f"cubeops.{stage}", value)
    if error:
        client.set_tag(run_id, "cubeops.error", error[:5000])
    client.set_terminated(run_id, status="FAILED" if error else "FINISHED")


def summarize(result: object) -> str:
    """One line about a stage result, for logs and the CLI."""
    if isinstance(result, PreparedData):
        how = "reused" if result.cache_hit else "prepared"
        return f"{result.digest} ({result.documents} documents, {result.tokens} tokens, {how})"
    if isinstance(result, TrainedModel):
        return f"{result.model_name} v{result.version} ({'reused' if result.reused else 'trained'})"
    if isinstance(result, Deployment):
        return f"v{result.version} at {result.url}" if result.version else result.verdict or "nothing deployed"
    return str(result)


@flow(name="pipeline", flow_run_name="pipeline")
def pipeline(config: str, only: str | None = None, force: bool = False) -> dict:
    """Run the stages in order (or one of them with ``only``), as subflows of this flow run."""
    from flows.data.flow import prepare_data
    from flows.deploy.flow import deploy
    from flows.train.flow import fine_tune

    if only is not None and only not in STAGES:
        raise UserError(f"--only must be one of {', '.join(STAGES)}, not {only!r}")
    spec = load_project_spec(config)
    root = str(Path(config).resolve().parent)
    layout = resolve_layout(spec, root)
    results: dict = {}
    with project_lock(layout.locks_dir, spec.project):
        parent = open_pipeline_run(spec, layout, only)
        summaries: dict[str, str] = {}
        try:
            if only in (None, "data"):
                results["data"] = prepare_data(spec=spec, root=root, force=force, parent_run_id=parent)
                summaries["data"] = summarize(results["data"])
            if only in (None, "train"):
                results["train"] = fine_tune(
                    spec=spec, root=root, force=force, data=results.get("data"), parent_run_id=parent
                )
                summaries["train"] = summarize(results["train"])
            if only in (None, "deploy"):
                results["deploy"] = deploy(
                    spec=spec, root=root, force=force, model=results.get("train"), parent_run_id=parent
                )
                summaries["deploy"] = summarize(results["deploy"])
        except BaseException as exc:
            close_pipeline_run(layout, parent, summaries, error=f"{type(exc).__name__}: {exc}")
            raise
        close_pipeline_run(layout, parent, summaries)
    return results


def run_pipeline(spec_path: str | Path, only: str | None = None, force: bool = False) -> dict:
    """Run the pipeline flow for the spec at ``spec_path`` and return each stage's result.

    User mistakes raised inside the flow reach the caller as themselves, so the CLI reports them
    on one line with exit code 2.
    """
    return pipeline(config=str(spec_path), only=only, force=force)
