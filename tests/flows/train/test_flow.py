"""The fine-tune flow end to end on the tiny preset: train, register with lineage, reuse, fail clearly."""

import math

import mlflow
import pytest

from flows.contracts import (
    TAG_BASE_MODEL,
    TAG_DATA_DIGEST,
    TAG_GIT_COMMIT,
    TAG_PREFECT_RUN,
    TAG_PROJECT,
    TAG_RUN_ID,
    TAG_TRAIN_KEY,
)
from flows.errors import TrainError
from flows.layout import resolve_layout
from status.store import StatusStore
from tests.flows.train.conftest import make_spec, write_prepared

pytestmark = pytest.mark.usefixtures("prefect_harness")


def train_history(spec, root):
    store = StatusStore(resolve_layout(spec, root).status_store)
    try:
        return list(reversed(store.history(spec.project, "train")))
    finally:
        store.close()


def test_tiny_model_trains_registers_with_lineage_and_loss_falls(project, prepared):
    from flows.train.flow import fine_tune

    spec = make_spec()
    result = fine_tune(spec=spec, root=str(project), data=prepared)

    assert not result.reused and result.version == "1"
    client = mlflow.MlflowClient()
    version = client.get_model_version(spec.model_name, result.version)
    tags = version.tags
    assert tags[TAG_PROJECT] == "acme/notes"
    assert tags[TAG_DATA_DIGEST] == prepared.digest
    assert tags[TAG_RUN_ID] == result.run_id == version.run_id
    assert tags[TAG_BASE_MODEL] == "tiny-gpt2"
    assert len(tags[TAG_TRAIN_KEY]) == 16
    assert tags[TAG_PREFECT_RUN]
    assert TAG_GIT_COMMIT not in tags  # the project folder is not in a git repository

    run = client.get_run(result.run_id)
    # One run: no library integration opened one of its own.
    assert [r.info.run_id for r in client.search_runs([run.info.experiment_id])] == [result.run_id]
    losses = client.get_metric_history(result.run_id, "loss")
    assert [m.step for m in losses] == list(range(1, 25))
    assert losses[-1].value < 0.9 * losses[0].value
    assert math.isclose(run.data.metrics["perplexity"], math.exp(run.data.metrics["eval_loss"]), rel_tol=1e-6)
    assert result.metrics["perplexity"] == pytest.approx(run.data.metrics["perplexity"])
    assert {"learning_rate", "grad_norm", "tokens_per_sec"} <= set(run.data.metrics)
    assert run.data.params["train.learning_rate"] == "0.006"
    assert run.data.params["resolved.precision"] == "fp32"

    history = train_history(spec, project)
    states = [h.state for h in history]
    assert states[0] == "queued" and states[-1] == "passing"
    assert any(h.message.startswith("training · ") and h.message.endswith("%") for h in history)
    final = history[-1]
    assert final.message == f"passing · ppl {result.metrics['perplexity']:.1f}"
    assert final.details["loss_curve"][-1][0] == 24
    assert final.details["perplexity_curve"][-1][0] == 24
    assert final.details["hyperparameters"]["learning_rate"] == 0.006
    assert final.links["mlflow_run"].endswith(result.run_id)
    assert "/runs/flow-run/" in final.links["prefect_flow_run"]
    from prefect.artifacts import Artifact

    key = tags[TAG_TRAIN_KEY][:8]
    assert float(Artifact.get(f"fine-tune-progress-{key}").data) == 100.0
    summary = Artifact.get(f"fine-tune-{key}").data
    assert f"{spec.model_name} version 1" in summary and "perplexity" in summary and "The data team" in summary
    # Checkpoints are gone once the version holds the model.
    assert not any((project / ".cubeops" / "checkpoints").iterdir())


def test_rerun_with_nothing_changed_reuses_the_version_and_force_trains_again(project, prepared):
    from flows.train.flow import fine_tune

    spec = make_spec(train={"max_steps": 4, "eval_every": 4, "save_every": 4})
    first = fine_tune(spec=spec, root=str(project), data=prepared)
    client = mlflow.MlflowClient()
    runs_before = client.search_runs([client.get_experiment_by_name(spec.experiment_name).experiment_id])

    again = fine_tune(spec=spec, root=str(project), data=prepared)
    assert again.reused and again.version == first.version and again.run_id == first.run_id
    assert again.metrics["perplexity"] == pytest.approx(first.metrics["perplexity"])
    assert len(client.search_model_versions(f"name = '{spec.model_name}'")) == 1
    runs_after = client.search_runs([client.get_experiment_by_name(spec.experiment_name).experiment_id])
    assert len(runs_after) == len(runs_before)
    last = train_history(spec, project)[-1]
    assert last.state == "passing" and last.details["reused"] is True

    changed = fine_tune(
        spec=make_spec(train={"max_steps": 4, "eval_every": 4, "save_every": 4, "seed": 7}),
        root=str(project),
        data=prepared,
    )
    assert not changed.reused and changed.version == "2"
    forced = fine_tune(spec=spec, root=str(project), data=prepared, force=True)
    assert not forced.reused and forced.version == "3" and forced.run_id != first.run_id


def test_empty_validation_set_fails_naming_it_and_registers_nothing(project, tmp_path, corpus_docs):
    from flows.train.flow import fine_tune

    data = write_prepared(tmp_path / "data", corpus_docs[:60], validation_every=0)
    spec = make_spec()
    with pytest.raises(TrainError, match="the validation set at .*validation is empty") as info:
        fine_tune(spec=spec, root=str(project), data=data)
    assert "data.validation_fraction" in str(info.value)
    last = train_history(spec, project)[-1]
    assert last.state == "failed" and "validation set" in last.details["reason"]
    assert last.message.startswith("failed · the validation set")
    assert mlflow.MlflowClient().search_registered_models() == []


def test_block_longer_than_model_positions_fails_before_training(project, tmp_path, corpus_docs, tiny_model_dir):
    from flows.train.flow import fine_tune

    data = write_prepared(tmp_path / "data", corpus_docs, block_size=300)
    spec = make_spec(model={"base": str(tiny_model_dir)}, data={"block_size": 300})
    with pytest.raises(TrainError, match="data.block_size 300 exceeds the 256 positions"):
        fine_tune(spec=spec, root=str(project), data=data)
    assert train_history(spec, project)[-1].state == "failed"
    assert not list((project / ".cubeops" / "checkpoints").glob("*/checkpoint-*"))


def test_nan_loss_marks_training_failed_with_the_reason(project, tmp_path, prepared, tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    from flows.train.flow import fine_tune

    broken = tmp_path / "broken-model"
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        model.transformer.ln_f.weight.fill_(float("nan"))
    model.save_pretrained(broken)

    spec = make_spec(model={"base": str(broken)})
    with pytest.raises(TrainError, match="NaN or infinite at step 1"):
        fine_tune(spec=spec, root=str(project), data=prepared)
    last = train_history(spec, project)[-1]
    assert last.state == "failed" and "NaN" in last.details["reason"]
    run = mlflow.MlflowClient().search_runs(
        [mlflow.MlflowClient().get_experiment_by_name(spec.experiment_name).experiment_id]
    )[0]
    assert run.info.status == "FAILED"
    assert mlflow.MlflowClient().search_registered_models() == []


def test_version_in_a_git_repository_is_tagged_with_its_commit_and_system_metrics_are_logged(
    project, prepared, monkeypatch
):
    import subprocess

    # Sample often enough that a run of a few seconds records system metrics.
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1")

    from flows.train.flow import fine_tune

    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (project / "README.md").write_text("notes\n")
    subprocess.run([*git, "add", "README.md"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()

    spec = make_spec(train={"max_steps": 2, "eval_every": 2, "save_every": 2}, tracking={"system_metrics": True})
    result = fine_tune(spec=spec, root=str(project), data=prepared)
    client = mlflow.MlflowClient()
    assert client.get_model_version(spec.model_name, result.version).tags[TAG_GIT_COMMIT] == head
    assert any(key.startswith("system/") for key in client.get_run(result.run_id).data.metrics)
