"""The fine-tune tasks: plan (reuse or queue), train (in one MLflow run), register.

Thin wrappers: the work is done by the pure modules beside this one; these tasks add the I/O
(datasets, checkpoints, MLflow, the status store, Prefect artifacts). Every failure is published
as ``failed`` with its reason before it propagates.
"""

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, Field

from flows.contracts import TAG_DATA_DIGEST, TAG_PREFECT_RUN, TAG_PROJECT, TAG_TRAIN_KEY, PreparedData, TrainedModel
from flows.errors import UserError
from flows.layout import Layout, resolve_layout
from flows.spec import ProjectSpec
from flows.train import checkpoints
from flows.train.blocks import check_positions, load_blocks, planned_steps
from flows.train.callbacks import BackgroundWorker, MetricsCallback, ProgressCallback, perplexity
from flows.train.card import CardFacts, render_card
from flows.train.config import trainer_settings, training_arguments
from flows.train.distributed import WorkerRequest, launch, resolve_backend
from flows.train.fit import FitResult, fit, thin
from flows.train.generate import columns, complete, probe_rows, sample_rows
from flows.train.keys import cubeops_version, git_commit, key_material, run_params, train_key
from flows.train.precision import place, probe_hardware
from status.publish import Publisher, publisher_for

log = logging.getLogger(__name__)

STAGE = "train"
PROGRESS_EVERY_S = 3.0
METRICS_FLUSH_S = 5.0
SAMPLES_TABLE = "samples.json"
PROBES_TABLE = "probes.json"


class TrainPlan(BaseModel):
    """What planning decided: the key, where checkpoints go, and an existing version to reuse."""

    model_config = ConfigDict(frozen=True)

    train_key: str
    checkpoint_dir: str
    device: str
    precision: str
    precision_reason: str
    key_material: dict[str, Any]
    prefect_run_id: str | None = None
    git_commit: str | None = None
    reuse: TrainedModel | None = None


class TrainOutcome(BaseModel):
    """What training produced, for the register task."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    final_dir: str
    global_step: int
    resumed_from: int | None
    metrics: dict[str, float]
    loss_curve: list[list[float]]
    eval_curve: list[list[float]]
    hyperparameters: dict[str, Any]
    parameters: int
    architecture: dict[str, int]
    samples: list[dict[str, str]] = Field(default_factory=list)
    probes: list[dict[str, str]] = Field(default_factory=list)
    stopped_early_at: int | None = None


# -- helpers shared by the tasks ---------------------------------------------------------------


def _layout(spec: ProjectSpec, root: str) -> Layout:
    return resolve_layout(spec, root).ensure()


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"


@contextmanager
def _publish_failure(publisher: Publisher) -> Iterator[None]:
    """Publish ``failed`` with the reason of any exception, then let it propagate."""
    try:
        yield
    except BaseException as exc:
        reason = _reason(exc) if not isinstance(exc, KeyboardInterrupt) else "interrupted"
        short = reason if len(reason) <= 120 else reason[:117] + "..."
        publisher.publish(STAGE, "failed", f"failed · {short}", details={"reason": reason})
        raise


def _prefect_run_id() -> str | None:
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return str(run_id) if run_id else None


def _prefect_link(run_id: str | None) -> str | None:
    """The Prefect UI page of a flow run, when the API URL is known."""
    if not run_id:
        return None
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    ui = settings.ui_url or (settings.api.url.rsplit("/api", 1)[0] if settings.api.url else None)
    return f"{ui.rstrip('/')}/runs/flow-run/{run_id}" if ui else None


def _mlflow_link(layout: Layout, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of a run: the tracking server's, or the one ``cubeops dashboard`` starts."""
    base = layout.tracking_uri if layout.tracking_uri.startswith(("http://", "https://")) else "http://127.0.0.1:5000"
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def _links(layout: Layout, experiment_id: str, run_id: str, prefect_run_id: str | None) -> dict[str, str]:
    links = {"mlflow_run": _mlflow_link(layout, experiment_id, run_id)}
    prefect = _prefect_link(prefect_run_id)
    if prefect:
        links["prefect_flow_run"] = prefect
    return links


def _hyperparameters(spec: ProjectSpec, plan: TrainPlan, data: PreparedData, steps: int) -> dict[str, Any]:
    t = spec.train
    return {
        "base_model": spec.model.base,
        "max_steps": steps,
        "batch_size": t.batch_size,
        "gradient_accumulation_steps": t.gradient_accumulation_steps,
        "effective_batch_blocks": t.batch_size * t.gradient_accumulation_steps * t.distributed.nproc,
        "processes": t.distributed.nproc,
        "block_size": data.block_size,
        "learning_rate": t.learning_rate,
        "lr_scheduler": t.lr_scheduler,
        "warmup_steps": t.warmup_steps,
        "weight_decay": t.weight_decay,
        "max_grad_norm": t.max_grad_norm,
        "precision": plan.precision,
        "device": plan.device,
        "seed": t.seed,
    }


def _reused(spec: ProjectSpec, version: Any, data: PreparedData) -> TrainedModel:
    from registry.versions import version_metrics

    return TrainedModel(
        model_name=spec.model_name,
        version=str(version.version),
        run_id=version.run_id or "",
        model_uri=f"models:/{spec.model_name}/{version.version}",
        data_digest=data.digest,
        metrics=version_metrics(version),
        reused=True,
    )


def _ppl_text(ppl: float) -> str:
    return "inf" if not math.isfinite(ppl) else f"{ppl:.1f}" if ppl < 1000 else f"{ppl:.3g}"


# -- tasks -----------------------------------------------------------------------------------


@task(name="plan-fine-tune", cache_policy=NO_CACHE)
def plan_fine_tune(spec: ProjectSpec, root: str, data: PreparedData, force: bool = False) -> TrainPlan:
    """Compute the training key; report an existing version for it, or queue a run."""
    from flows.tracking import use_experiment
    from registry.versions import find_version

    layout = _layout(spec, root)
    publisher = publisher_for(spec, layout)
    with _publish_failure(publisher):
        placement = place(spec.train.device, spec.train.precision, probe_hardware())
        if spec.train.distributed.nproc > 1:
            # A backend the device cannot run fails here, before anything is queued.
            resolve_backend(spec.train.distributed.backend, placement.device)
        material = key_material(spec, data.digest, placement.device, placement.precision, cubeops_version())
        key = train_key(material)
        folder = layout.checkpoints_dir / key
        plan = TrainPlan(
            train_key=key,
            checkpoint_dir=str(folder),
            device=placement.device,
            precision=placement.precision,
            precision_reason=placement.reason,
            key_material=material,
            prefect_run_id=_prefect_run_id(),
            git_commit=git_commit(layout.root),
        )
        experiment_id = use_experiment(layout)
        if force:
            checkpoints.reset(folder)
        else:
            existing = find_version(spec.model_name, key)
            if existing is not None:
                reused = _reused(spec, existing, data)
                ppl = reused.metrics.get("perplexity", math.nan)
                publisher.publish(
                    STAGE,
                    "passing",
                    f"passing · ppl {_ppl_text(ppl)}",
                    links=_links(layout, experiment_id, reused.run_id, plan.prefect_run_id),
                    details={
                        "version": reused.version,
                        "run_id": reused.run_id,
                        "reused": True,
                        "train_key": key,
                        "metrics": reused.metrics,
                    },
                )
                log.info("nothing changed since version %s of %s; reusing it", reused.version, spec.model_name)
                return plan.model_copy(update={"reuse": reused})
        resuming = checkpoints.latest_checkpoint(folder)
        publisher.publish(
            STAGE,
            "queued",
            "queued" if resuming is None else f"queued · resuming at step {checkpoints.checkpoint_step(resuming)}",
            details={"train_key": key, "device": placement.device, "precision": placement.precision},
        )
        return plan


@task(name="train-model", cache_policy=NO_CACHE)
def train_model(
    spec: ProjectSpec, root: str, data: PreparedData, plan: TrainPlan, parent_run_id: str | None = None
) -> TrainOutcome:
    """Fine-tune in one MLflow run (reattached after a crash), resuming from the last checkpoint."""
    from flows.tracking import use_experiment

    layout = _layout(spec, root)
    publisher = publisher_for(spec, layout)
    folder = Path(plan.checkpoint_dir)
    with _publish_failure(publisher):
        if spec.train.threads:
            import torch

            torch.set_num_threads(spec.train.threads)
        blocks, model, steps = _inputs(spec, data, layout)
        experiment_id = use_experiment(layout)
        checkpoints.remove_incomplete(folder)
        resume = checkpoints.latest_checkpoint(folder)
        with _training_run(spec, plan, folder, experiment_id, parent_run_id) as run_id:
            _log_params(run_id, spec, plan, data, model)
            links = _links(layout, experiment_id, run_id, plan.prefect_run_id)
            hyper = _hyperparameters(spec, plan, data, steps)
            at = checkpoints.checkpoint_step(resume) if resume else 0
            publisher.publish(
                STAGE,
                "training",
                f"training · {100 * at // steps}%",
                links=links,
                details={"hyperparameters": hyper, "step": at, "max_steps": steps},
            )
            if spec.train.distributed.nproc > 1:
                result, model = _fit_distributed(spec, root, data, plan, folder, resume, run_id, links, hyper)
            else:
                result = _fit(spec, plan, blocks, model, folder, resume, run_id, publisher, links, hyper)
            return _finish(spec, model, blocks.tokenizer, folder, result, run_id, hyper)


@task(name="register-model", cache_policy=NO_CACHE)
def register_model(
    spec: ProjectSpec, root: str, data: PreparedData, plan: TrainPlan, outcome: TrainOutcome
) -> TrainedModel:
    """Log the model with its card, register a version with lineage tags, publish ``passing``."""
    import mlflow
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from flows.tracking import use_experiment
    from registry.versions import lineage_tags, log_model, register_version

    layout = _layout(spec, root)
    publisher = publisher_for(spec, layout)
    with _publish_failure(publisher):
        experiment_id = use_experiment(layout)
        model = AutoModelForCausalLM.from_pretrained(outcome.final_dir)
        tokenizer = AutoTokenizer.from_pretrained(outcome.final_dir)
        lineage = lineage_tags(
            project=spec.project,
            data_digest=data.digest,
            run_id=outcome.run_id,
            base_model=spec.model.base,
            train_key=plan.train_key,
            prefect_run=plan.prefect_run_id,
            git_commit=plan.git_commit,
        )
        card = render_card(_card_facts(spec, data, plan, outcome, lineage))
        with mlflow.start_run(run_id=outcome.run_id):
            info = log_model(model, tokenizer, card, max_new_tokens=spec.eval.max_new_tokens)
            version = register_version(info.model_uri, spec.model_name, lineage)
            mlflow.set_tags({"cubeops.registered_version": str(version.version), "cubeops.model_uri": info.model_uri})
        links = _links(layout, experiment_id, outcome.run_id, plan.prefect_run_id)
        ppl = outcome.metrics["perplexity"]
        publisher.publish(
            STAGE,
            "passing",
            f"passing · ppl {_ppl_text(ppl)}",
            links=links,
            details={
                "version": str(version.version),
                "run_id": outcome.run_id,
                "metrics": outcome.metrics,
                "loss_curve": outcome.loss_curve,
                "perplexity_curve": [[s, perplexity(v)] for s, v in outcome.eval_curve],
                "eval_loss_curve": outcome.eval_curve,
                "hyperparameters": outcome.hyperparameters,
                "data_digest": data.digest,
                "train_key": plan.train_key,
            },
        )
        _markdown_summary(spec, data, plan, outcome, str(version.version), links)
        # The version now holds the model: the optimizer-laden checkpoints have served their purpose.
        checkpoints.reset(Path(plan.checkpoint_dir))
        return TrainedModel(
            model_name=spec.model_name,
            version=str(version.version),
            run_id=outcome.run_id,
            model_uri=f"models:/{spec.model_name}/{version.version}",
            data_digest=data.digest,
            metrics=outcome.metrics,
            reused=False,
        )


# -- pieces of the train task ----------------------------------------------------------------


def _inputs(spec: ProjectSpec, data: PreparedData, layout: Layout) -> tuple[Any, Any, int]:
    """The checked blocks, the base model sized to their tokenizer, and the planned step count."""
    from flows.models.hub import load_model

    blocks = load_blocks(data)
    model = load_model(spec.model, tokenizer=blocks.tokenizer, root=layout.root, seed=spec.train.seed)
    positions = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
    check_positions(blocks.block_size, positions, spec.model.base)
    if len(blocks.tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(blocks.tokenizer))
    t = spec.train
    steps = planned_steps(len(blocks.train), t.batch_size, t.gradient_accumulation_steps, t.max_steps, t.epochs)
    return blocks, model, steps


@contextmanager
def _training_run(
    spec: ProjectSpec, plan: TrainPlan, folder: Path, experiment_id: str, parent_run_id: str | None
) -> Iterator[str]:
    """The MLflow run of this training key: the crashed attempt's, reattached, or a new one."""
    import mlflow

    run_id = _reattachable_run(checkpoints.read_run_id(folder))
    start: dict[str, Any] = {"run_id": run_id, "log_system_metrics": spec.tracking.system_metrics}
    if run_id is None:
        start.update(
            experiment_id=experiment_id, run_name=f"fine-tune-{plan.train_key[:8]}", parent_run_id=parent_run_id
        )
    with mlflow.start_run(**start) as run:
        # Written before the first step: a crash from here on reattaches this run.
        checkpoints.write_run_id(folder, run.info.run_id)
        yield run.info.run_id


def _finish(
    spec: ProjectSpec, model: Any, tokenizer: Any, folder: Path, result: FitResult, run_id: str, hyper: dict[str, Any]
) -> TrainOutcome:
    """Log the final metrics, save the model aside, complete the prompts and probes."""
    import mlflow

    metrics = {"eval_loss": result.eval_loss, "perplexity": result.perplexity}
    mlflow.log_metrics(metrics, step=result.global_step)
    if result.train_loss is not None:
        metrics["train_loss"] = result.train_loss
    final_dir = _save_final(model, tokenizer, folder)
    samples, probes = _generate(spec, model, tokenizer)
    if samples:
        mlflow.log_table(columns(samples), SAMPLES_TABLE)
    if probes:
        mlflow.log_table(columns(probes), PROBES_TABLE)
    shape = ("n_layer", "n_embd", "n_head", "n_positions", "vocab_size")
    return TrainOutcome(
        run_id=run_id,
        final_dir=str(final_dir),
        global_step=result.global_step,
        resumed_from=result.resumed_from,
        metrics=metrics,
        loss_curve=thin(result.loss_curve),
        eval_curve=thin(result.eval_curve),
        hyperparameters=hyper,
        parameters=sum(p.numel() for p in model.parameters()),
        architecture={k: getattr(model.config, k) for k in shape if isinstance(getattr(model.config, k, None), int)},
        samples=samples,
        probes=probes,
        stopped_early_at=result.stopped_early_at,
    )


def _reattachable_run(run_id: str | None) -> str | None:
    """``run_id`` when that run still exists in the store (a crashed attempt), else None."""
    if not run_id:
        return None
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        run = mlflow.MlflowClient().get_run(run_id)
    except MlflowException:
        log.warning("MLflow run %s from the checkpoint folder is gone; starting a new run", run_id)
        return None
    return run_id if run.info.lifecycle_stage == "active" else None


def _log_params(run_id: str, spec: ProjectSpec, plan: TrainPlan, data: PreparedData, model: Any) -> None:
    """Log the resolved spec as params, skipping those a previous attempt of this run logged."""
    import mlflow
    from mlflow.entities import Param

    client = mlflow.MlflowClient()
    have = client.get_run(run_id).data.params
    extra = {
        "resolved.device": plan.device,
        "resolved.precision": plan.precision,
        "resolved.precision_reason": plan.precision_reason,
        "data.digest": data.digest,
        "data.train_blocks": data.train_blocks,
        "data.validation_blocks": data.validation_blocks,
        "model.parameters": sum(p.numel() for p in model.parameters()),
        "train_key": plan.train_key,
        "cubeops.version": plan.key_material.get("cubeops", ""),
    }
    params = [Param(k, v) for k, v in run_params(spec, extra).items() if k not in have]
    for i in range(0, len(params), 100):
        client.log_batch(run_id, params=params[i : i + 100])
    tags = {
        TAG_TRAIN_KEY: plan.train_key,
        TAG_DATA_DIGEST: data.digest,
        TAG_PROJECT: spec.project,
        "cubeops.stage": "train",
    }
    if plan.prefect_run_id:
        tags[TAG_PREFECT_RUN] = plan.prefect_run_id
    if plan.git_commit:
        tags["mlflow.source.git.commit"] = plan.git_commit
    mlflow.set_tags(tags)


def _fit(
    spec: ProjectSpec,
    plan: TrainPlan,
    blocks: Any,
    model: Any,
    folder: Path,
    resume: Path | None,
    run_id: str,
    publisher: Publisher | None,
    links: dict[str, str],
    hyper: dict[str, Any],
) -> FitResult:
    """Run :func:`fit` with MLflow metrics, status, heartbeat and a Prefect progress artifact.

    Without a ``publisher`` (a rank other than 0 of a multi-process run) it trains silently.
    """
    args = training_arguments(trainer_settings(spec.train, _placement(plan), folder))
    if publisher is None:
        return _fit_with(spec, plan, blocks, model, args, resume, [])

    import mlflow
    from mlflow.entities import Metric

    client = mlflow.MlflowClient()

    def log_points(points: list) -> None:
        metrics = [Metric(k, v, ts, step) for k, v, step, ts in points]
        for i in range(0, len(metrics), 1000):
            client.log_batch(run_id, metrics=metrics[i : i + 1000])

    progress_id = _progress_artifact(plan.train_key)
    beat_every = max(1.0, min(30.0, spec.status.heartbeat_ttl.total_seconds() / 4))

    def report(step: int, max_steps: int, latest: dict[str, float]) -> None:
        pct = 100 * step // max(1, max_steps)
        loss = f", loss {latest['loss']:.3f}" if "loss" in latest else ""
        publisher.publish(
            STAGE,
            "training",
            f"training · {pct}%",
            links=links,
            details={"step": step, "max_steps": max_steps, "latest": latest, "hyperparameters": hyper},
        )
        if progress_id is not None:
            from prefect.artifacts import update_progress_artifact

            update_progress_artifact(progress_id, float(pct), description=f"step {step} of {max_steps}{loss}")

    worker = BackgroundWorker(heartbeat=lambda: publisher.heartbeat(STAGE), beat_every=beat_every).start()
    # Under torchrun every rank trains a batch of its own each step.
    world = int(os.environ.get("WORLD_SIZE", "1"))
    tokens_per_step = world * spec.train.batch_size * spec.train.gradient_accumulation_steps * blocks.block_size
    callbacks = [
        MetricsCallback(log_points, tokens_per_step, worker, flush_every=METRICS_FLUSH_S),
        ProgressCallback(report, worker.submit, every=PROGRESS_EVERY_S),
    ]
    try:
        return _fit_with(spec, plan, blocks, model, args, resume, callbacks)
    finally:
        # Metrics already produced reach MLflow even when training failed.
        worker.close()


def _fit_with(
    spec: ProjectSpec, plan: TrainPlan, blocks: Any, model: Any, args: Any, resume: Path | None, callbacks: list
) -> FitResult:
    return fit(
        model,
        blocks.tokenizer,
        blocks.train,
        blocks.validation,
        args,
        callbacks=callbacks,
        resume_from=resume,
        patience=spec.train.early_stopping_patience,
        device=plan.device,
        block_size=blocks.block_size,
        precision=plan.precision,
    )


def _fit_distributed(
    spec: ProjectSpec,
    root: str,
    data: PreparedData,
    plan: TrainPlan,
    folder: Path,
    resume: Path | None,
    run_id: str,
    links: dict[str, str],
    hyper: dict[str, Any],
) -> tuple[FitResult, Any]:
    """Train under torchrun (rank 0 reports into ``run_id``); the result and the trained model."""
    import mlflow
    from transformers import AutoModelForCausalLM

    request = WorkerRequest(
        spec=spec,
        root=root,
        data=data,
        checkpoint_dir=str(folder),
        device=plan.device,
        precision=plan.precision,
        precision_reason=plan.precision_reason,
        train_key=plan.train_key,
        run_id=run_id,
        tracking_uri=mlflow.get_tracking_uri(),
        resume_from=str(resume) if resume else None,
        links=links,
        hyperparameters=hyper,
    )
    progress_id = _progress_artifact(plan.train_key)
    result = launch(request, folder)
    if progress_id is not None:
        from prefect.artifacts import update_progress_artifact

        update_progress_artifact(progress_id, 100.0, description=f"step {result.global_step} of {hyper['max_steps']}")
    # Rank 0 saved the trained weights; the parent finishes (metrics, samples) from them.
    return result, AutoModelForCausalLM.from_pretrained(folder / checkpoints.FINAL_DIR)


def _placement(plan: TrainPlan) -> Any:
    from flows.train.precision import Placement

    return Placement(plan.device, plan.precision, plan.precision_reason)


def _progress_artifact(key: str) -> Any:
    """A Prefect progress artifact for this run, or None outside a Prefect run."""
    from prefect.artifacts import create_progress_artifact
    from prefect.context import TaskRunContext

    if TaskRunContext.get() is None:
        return None
    try:
        return create_progress_artifact(0.0, key=f"fine-tune-progress-{key[:8]}", description="fine-tuning")
    except Exception as exc:  # noqa: BLE001 - a missing artifact must not stop training
        log.warning("progress artifact not created: %s", exc)
        return None


def _save_final(model: Any, tokenizer: Any, folder: Path) -> Path:
    """Save the trained weights and tokenizer to ``final/`` (written aside, then renamed in)."""
    import shutil

    final = folder / checkpoints.FINAL_DIR
    tmp = folder / f".{checkpoints.FINAL_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def _generate(spec: ProjectSpec, model: Any, tokenizer: Any) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Completions of ``eval.prompts`` and of every probe group, same seed for all."""
    seed, n = spec.train.seed, spec.eval.max_new_tokens

    def completer(prompts):
        return complete(model, tokenizer, prompts, n, seed)

    samples = sample_rows(spec.eval.prompts, completer(spec.eval.prompts)) if spec.eval.prompts else []
    probes = probe_rows(spec.eval.probes, completer)
    return samples, probes


def _card_facts(
    spec: ProjectSpec, data: PreparedData, plan: TrainPlan, outcome: TrainOutcome, lineage: dict[str, str]
) -> CardFacts:
    return CardFacts(
        model_name=spec.model_name,
        project=spec.project,
        description=spec.description,
        base_model=spec.model.base,
        base_source=_base_source(spec.model.base),
        language=spec.model.language,
        license=spec.model.license,
        parameters=outcome.parameters,
        architecture=outcome.architecture,
        data={
            "digest": data.digest,
            "documents": data.documents,
            "tokens": data.tokens,
            "block size": data.block_size,
            "train blocks": data.train_blocks,
            "validation blocks": data.validation_blocks,
            "tokenizer": data.tokenizer_id,
            "sources": ", ".join(data.sources) or "(not recorded)",
        },
        hyperparameters={**outcome.hyperparameters, "steps trained": outcome.global_step},
        metrics=outcome.metrics,
        samples=outcome.samples,
        probes=outcome.probes,
        limitations=spec.eval.limitations,
        lineage={
            "MLflow run": outcome.run_id,
            "training key": plan.train_key,
            "data digest": data.digest,
            **({"Prefect flow run": plan.prefect_run_id} if plan.prefect_run_id else {}),
            **({"git commit": plan.git_commit} if plan.git_commit else {}),
            "cubeops": str(plan.key_material.get("cubeops", "")),
        },
    )


def _base_source(base: str) -> str:
    from flows.models.hub import HUB_ALIASES
    from flows.models.tiny import TINY_NAME

    if base == TINY_NAME:
        return "built offline by cubeops (GPT-2 architecture, BPE tokenizer trained on the project corpus)"
    return HUB_ALIASES.get(base, base)


def _markdown_summary(
    spec: ProjectSpec, data: PreparedData, plan: TrainPlan, outcome: TrainOutcome, version: str, links: dict[str, str]
) -> None:
    """A Prefect markdown artifact summing up the run."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import TaskRunContext

    if TaskRunContext.get() is None:
        return
    m = outcome.metrics
    resumed = f" (resumed at step {outcome.resumed_from})" if outcome.resumed_from else ""
    lines = [
        f"# fine-tune: {spec.model_name} version {version}",
        "",
        f"- base model: `{spec.model.base}`, {outcome.parameters:,} parameters",
        f"- data digest: `{data.digest}` ({data.train_blocks} train / {data.validation_blocks} validation blocks "
        f"of {data.block_size} tokens)",
        f"- steps: {outcome.global_step}{resumed}; device {plan.device}, "
        f"precision {plan.precision} ({plan.precision_reason})",
        f"- eval loss {m['eval_loss']:.4f}, perplexity {_ppl_text(m['perplexity'])}",
        f"- MLflow run: [{outcome.run_id}]({links['mlflow_run']})",
        "",
        "| prompt | completion |",
        "|---|---|",
        *[f"| {s['prompt']} | {' '.join(s['completion'].split()).replace('|', '/')} |" for s in outcome.samples],
    ]
    try:
        create_markdown_artifact(
            "\n".join(lines), key=f"fine-tune-{plan.train_key[:8]}", description="fine-tune summary"
        )
    except Exception as exc:  # noqa: BLE001 - the summary is a courtesy, not a result
        log.warning("summary artifact not created: %s", exc)
