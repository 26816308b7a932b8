"""Model versions: log a fine-tuned model, register it with its lineage, find it again.

The model is logged with the ``mlflow.transformers`` flavor (task text-generation, weights and
tokenizer saved, so it loads offline) and the model card goes in as ``README.md`` beside it.
Aliases are not set here: promotion is the gate's decision.
"""

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flows.contracts import (
    TAG_BASE_MODEL,
    TAG_DATA_DIGEST,
    TAG_GIT_COMMIT,
    TAG_PREFECT_RUN,
    TAG_PROJECT,
    TAG_RUN_ID,
    TAG_TRAIN_KEY,
)
from flows.errors import RegistryError

MODEL_ARTIFACT = "model"
CARD_FILE = "README.md"
TASK = "text-generation"
# Generation settings a caller may pass per request, with the defaults the server applies.
GENERATION_PARAMS: dict[str, tuple[str, Any]] = {
    "max_new_tokens": ("long", 64),
    "temperature": ("double", 1.0),
    "top_p": ("double", 1.0),
    "do_sample": ("boolean", False),
}


def lineage_tags(
    project: str,
    data_digest: str,
    run_id: str,
    base_model: str,
    train_key: str,
    prefect_run: str | None = None,
    git_commit: str | None = None,
) -> dict[str, str]:
    """The lineage tags of a version; absent facts (no git repository, no flow run) are left out."""
    tags = {
        TAG_PROJECT: project,
        TAG_DATA_DIGEST: data_digest,
        TAG_RUN_ID: run_id,
        TAG_BASE_MODEL: base_model,
        TAG_TRAIN_KEY: train_key,
        TAG_PREFECT_RUN: prefect_run,
        TAG_GIT_COMMIT: git_commit,
    }
    return {k: v for k, v in tags.items() if v}


def generation_signature(max_new_tokens: int | None = None) -> Any:
    """Text in, text out, with a params schema for the generation settings."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    params = []
    for name, (dtype, default) in GENERATION_PARAMS.items():
        if name == "max_new_tokens" and max_new_tokens:
            default = max_new_tokens
        params.append(ParamSpec(name, dtype, default))
    return ModelSignature(
        inputs=Schema([ColSpec("string")]),
        outputs=Schema([ColSpec("string")]),
        params=ParamSchema(params),
    )


def pip_requirements() -> list[str]:
    """Pinned requirements of the logged model (stated, not inferred: inference loads the model again)."""
    from importlib import metadata

    reqs = []
    for dist in ("mlflow", "torch", "transformers", "accelerate", "tokenizers", "safetensors"):
        try:
            version = metadata.version(dist).split("+", 1)[0]
        except metadata.PackageNotFoundError:
            continue
        reqs.append(f"{dist}=={version}")
    return reqs


def log_model(model: Any, tokenizer: Any, card: str, max_new_tokens: int | None = None) -> Any:
    """Log ``model`` and ``tokenizer`` to the active run as artifact ``model``, card included.

    Returns MLflow's ``ModelInfo`` (``model_uri`` is what :func:`register_version` takes).
    """
    import mlflow
    from huggingface_hub import ModelCard

    # Passing a card also keeps MLflow from fetching one from the Hub.
    info = mlflow.transformers.log_model(
        transformers_model={"model": model, "tokenizer": tokenizer},
        name=MODEL_ARTIFACT,
        task=TASK,
        signature=generation_signature(max_new_tokens),
        model_card=ModelCard(card),
        pip_requirements=pip_requirements(),
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / CARD_FILE
        path.write_text(card, encoding="utf-8")
        mlflow.MlflowClient().log_model_artifact(info.model_id, str(path))
    return info


def register_version(model_uri: str, model_name: str, tags: Mapping[str, str]) -> Any:
    """Register ``model_uri`` as a new version of ``model_name`` with ``tags``; returns the version."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.register_model(model_uri, model_name, tags=dict(tags))
    except MlflowException as exc:
        raise RegistryError(f"{model_uri} cannot be registered as {model_name!r}: {exc.message}") from None


def find_version(model_name: str, train_key: str, client: Any = None) -> Any:
    """The newest version of ``model_name`` trained under ``train_key``, or None."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = client or mlflow.MlflowClient()
    # Filtered here rather than in the query: tag filters differ between registry backends.
    token, found = None, []
    while True:
        try:
            page = client.search_model_versions(f"name = '{_quote(model_name)}'", max_results=1000, page_token=token)
        except MlflowException:
            return None
        found += [v for v in page if (v.tags or {}).get(TAG_TRAIN_KEY) == train_key]
        token = page.token
        if not token:
            break
    return max(found, key=lambda v: int(v.version)) if found else None


def version_metrics(
    version: Any, client: Any = None, keys: tuple[str, ...] = ("eval_loss", "perplexity")
) -> dict[str, float]:
    """The final values of ``keys`` logged by the run that produced ``version``."""
    import mlflow

    client = client or mlflow.MlflowClient()
    if not version.run_id:
        return {}
    metrics = client.get_run(version.run_id).data.metrics
    return {k: float(metrics[k]) for k in keys if k in metrics}


def _quote(name: str) -> str:
    return name.replace("'", "\\'")
