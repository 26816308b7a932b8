"""The ``prepare-data`` tasks: thin wrappers that add I/O, MLflow, Prefect artifacts and status
around the pure steps in :mod:`flows.data.build`.

MLflow is driven through ``MlflowClient`` with explicit run ids, never the fluent "active run",
so nothing here depends on which thread Prefect runs a task in, and no run is left open.
"""

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.contracts import TAG_DATA_DIGEST, TAG_PREFECT_RUN, TAG_PROJECT, PreparedData
from flows.data import build
from flows.data.collect import Corpus
from flows.data.report import ready_message, status_details, summary_markdown
from flows.data.version import MANIFEST, STATS, read_stats
from flows.errors import UserError
from flows.layout import Layout
from flows.spec import ProjectSpec

STAGE = "data"
RUN_NAME = "prepare-data"
TAG_STAGE = "cubeops.stage"
TAG_CACHE = "cubeops.cache"
TAG_ERROR = "cubeops.error"


@dataclass(frozen=True)
class RunRef:
    """The MLflow run of this flow run, and how people reach it."""

    run_id: str
    experiment_id: str
    link: str
    """The run's URL on a tracking server, else its id."""
    prefect_flow_run_id: str


def _progress() -> bool:
    # A bar only for a person watching a terminal; logs and CI get none.
    return sys.stderr.isatty()


def _flow_run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or "")


def _run_link(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    if tracking_uri.startswith(("http://", "https://")):
        return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return run_id


def _links(run: RunRef) -> dict[str, str]:
    return {"mlflow": run.link, "prefect": run.prefect_flow_run_id}


def describe_failure(exc: BaseException) -> str:
    """The reason a person reads: the message of a user mistake, the type and message of a bug."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"


def _failed_message(reason: str) -> str:
    short = reason if len(reason) <= 100 else reason[:99] + "…"
    return f"failed · {short}"


@task(name="start-data-run", cache_policy=NO_CACHE)
def start_tracking(spec: ProjectSpec, layout: Layout, parent_run_id: str | None) -> RunRef:
    """Open the MLflow run (nested under ``parent_run_id`` when given) and publish ``preparing``."""
    from mlflow import MlflowClient

    from flows.tracking import use_experiment
    from status.publish import publisher_for

    publisher = publisher_for(spec, layout)
    prefect_id = _flow_run_id()
    try:
        experiment_id = use_experiment(layout)
        tags = {TAG_STAGE: STAGE, TAG_PROJECT: spec.project, "mlflow.runName": RUN_NAME}
        if prefect_id:
            tags[TAG_PREFECT_RUN] = prefect_id
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        run_id = MlflowClient(layout.tracking_uri).create_run(experiment_id, run_name=RUN_NAME, tags=tags).info.run_id
    except BaseException as exc:
        reason = describe_failure(exc)
        publisher.publish(STAGE, "failed", _failed_message(reason), links={"prefect": prefect_id}, details={"error": reason})
        raise
    run = RunRef(run_id, experiment_id, _run_link(layout.tracking_uri, experiment_id, run_id), prefect_id)
    publisher.publish(STAGE, "preparing", "preparing", links=_links(run))
    return run


@task(name="collect-documents", cache_policy=NO_CACHE)
def collect_documents(spec: ProjectSpec, layout: Layout) -> Corpus:
    """Read, clean, filter and dedupe every source into a work folder."""
    logger = get_run_logger()
    corpus = build.collect(spec.data, layout.root, layout.data_dir, progress=_progress())
    c = corpus.counts
    logger.info(
        "read %s documents from %s file(s); kept %s (removed: empty %s, min_chars %s, max_chars %s, duplicates %s)",
        f"{c['read']:,}", len(corpus.files), f"{c['kept']:,}",
        f"{c['empty']:,}", f"{c['min_chars']:,}", f"{c['max_chars']:,}", f"{c['duplicates']:,}",
    )
    return corpus


@task(name="prepare-dataset", cache_policy=NO_CACHE)
def prepare_dataset(spec: ProjectSpec, layout: Layout, corpus: Corpus, force: bool, run_id: str) -> PreparedData:
    """Reuse the dataset with this digest when it is complete, else tokenize, pack and commit it."""
    logger = get_run_logger()
    prepared = build.prepare_from_corpus(
        spec, layout.root, layout.data_dir, corpus, force=force, progress=_progress(), run_id=run_id
    )
    if prepared.cache_hit:
        logger.info("cache hit: dataset %s is already prepared; reusing %s", prepared.digest, prepared.path)
    else:
        logger.info(
            "prepared dataset %s: %s train and %s validation blocks of %s tokens in %s",
            prepared.digest, f"{prepared.train_blocks:,}", f"{prepared.validation_blocks:,}",
            prepared.block_size, prepared.path,
        )
    return prepared


def _params(spec: ProjectSpec, prepared: PreparedData) -> dict[str, str]:
    d = spec.data
    sources = ", ".join(s.location for s in d.sources)
    return {
        "data.sources": sources if len(sources) <= 500 else sources[:497] + "...",
        "data.text_field": d.text_field,
        "data.txt_documents": d.txt_documents,
        "data.encoding_errors": d.encoding_errors,
        "data.min_chars": str(d.min_chars),
        "data.max_chars": str(d.max_chars),
        "data.dedupe": str(d.dedupe),
        "data.validation_fraction": str(d.validation_fraction),
        "data.block_size": str(d.block_size),
        "model.base": spec.model.base,
        "tokenizer": prepared.tokenizer_id,
        "data_digest": prepared.digest,
    }


def _metrics(stats: dict[str, Any], prepared: PreparedData) -> dict[str, float]:
    f = stats.get("filters", {})
    tokens = stats.get("tokens", {})
    metrics = {
        "documents_read": f.get("read"),
        "removed_empty": f.get("empty"),
        "removed_min_chars": f.get("min_chars"),
        "removed_max_chars": f.get("max_chars"),
        "removed_duplicates": f.get("duplicates"),
        "documents_kept": f.get("kept", prepared.documents),
        "tokens": prepared.tokens,
        "tokens_dropped": tokens.get("removed"),
        "blocks_train": prepared.train_blocks,
        "blocks_validation": prepared.validation_blocks,
        "documents_train": stats.get("train", {}).get("documents"),
        "documents_validation": stats.get("validation", {}).get("documents"),
        "replaced_chars": stats.get("replaced_chars"),
        "input_bytes": stats.get("input_bytes"),
        "prep_seconds": stats.get("seconds"),
        "throughput_mb_per_s": stats.get("mb_per_s"),
        "cache_hit": 1.0 if prepared.cache_hit else 0.0,
    }
    return {k: float(v) for k, v in metrics.items() if v is not None}


@task(name="record-dataset", cache_policy=NO_CACHE)
def finish_tracking(spec: ProjectSpec, layout: Layout, run: RunRef, prepared: PreparedData) -> None:
    """Log the dataset to the MLflow run and end it, add the Prefect summary, publish ``ready``."""
    import time

    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT
    from prefect.artifacts import create_markdown_artifact

    from status.publish import publisher_for

    folder = Path(prepared.path)
    stats = read_stats(folder)
    client = MlflowClient(layout.tracking_uri)
    now = int(time.time() * 1000)
    cache = "hit" if prepared.cache_hit else "miss"
    client.log_batch(
        run.run_id,
        metrics=[Metric(k, v, now, 0) for k, v in _metrics(stats, prepared).items()],
        params=[Param(k, v) for k, v in _params(spec, prepared).items()],
        tags=[RunTag(TAG_DATA_DIGEST, prepared.digest), RunTag(TAG_CACHE, cache)],
    )
    client.log_inputs(
        run.run_id,
        datasets=[DatasetInput(_dataset_entity(spec, prepared), tags=[InputTag(MLFLOW_DATASET_CONTEXT, "training")])],
    )
    for name in (STATS, MANIFEST, build.SAMPLE_FILE, build.HISTOGRAM_FILE):
        if (folder / name).is_file():
            client.log_artifact(run.run_id, str(folder / name))
    client.set_terminated(run.run_id, "FINISHED")

    create_markdown_artifact(
        summary_markdown(stats, prepared.cache_hit, run.link, prepared.path),
        key=_artifact_key(spec.project),
        description=f"Prepared dataset {prepared.digest} (cache {cache}); MLflow run {run.run_id}",
    )
    publisher_for(spec, layout).publish(
        STAGE,
        "ready",
        ready_message(prepared.documents, prepared.tokens),
        links=_links(run),
        details=status_details(stats, prepared.cache_hit),
    )


def _dataset_entity(spec: ProjectSpec, prepared: PreparedData) -> Any:
    """The MLflow dataset record: its digest, where it lives (a local source), its shape."""
    import json

    from mlflow.entities import Dataset

    column = {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1, prepared.block_size]}}
    return Dataset(
        name=f"{spec.project} data",
        digest=prepared.digest,
        source_type="local",
        source=json.dumps({"uri": prepared.path, "sources": prepared.sources}),
        schema=json.dumps({"mlflow_colspec": [{"name": "input_ids", **column}, {"name": "labels", **column}]}),
        profile=json.dumps(
            {
                "documents": prepared.documents,
                "tokens": prepared.tokens,
                "train_blocks": prepared.train_blocks,
                "validation_blocks": prepared.validation_blocks,
            }
        ),
    )


def _artifact_key(project: str) -> str:
    # Prefect artifact keys: lowercase letters, digits and dashes. One key per project, so the UI
    # keeps every run's summary as versions of one artifact.
    return re.sub(r"[^a-z0-9]+", "-", project.lower()).strip("-") + "-dataset"


@task(name="record-data-failure", cache_policy=NO_CACHE)
def record_failure(spec: ProjectSpec, layout: Layout, run: RunRef, reason: str) -> None:
    """Publish ``failed`` with the reason, and end the MLflow run as FAILED with it."""
    from mlflow import MlflowClient

    from status.publish import publisher_for

    publisher_for(spec, layout).publish(
        STAGE, "failed", _failed_message(reason), links=_links(run), details={"error": reason}
    )
    client = MlflowClient(layout.tracking_uri)
    client.set_tag(run.run_id, TAG_ERROR, reason[:5000])
    client.set_terminated(run.run_id, "FAILED")
