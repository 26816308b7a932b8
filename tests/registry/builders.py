"""Building registered versions for the registry, deploy and serving tests.

A version here is what fine-tune registers: an ``mlflow.transformers`` text-generation model
logged as ``model`` (tokenizer included, a params schema, a model card), in a run that logged
``eval_loss`` and ``perplexity``, registered with the lineage tags of :mod:`flows.contracts`.
The models are built once per session; logging one more version costs about 0.2 s.
"""

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flows.contracts import (
    TAG_BASE_MODEL,
    TAG_DATA_DIGEST,
    TAG_GIT_COMMIT,
    TAG_PREFECT_RUN,
    TAG_PROJECT,
    TAG_RUN_ID,
    TAG_TRAIN_KEY,
    TrainedModel,
)
from flows.layout import Layout, resolve_layout
from flows.spec import ProjectSpec
from flows.spec_loader import load_spec
from tests.helpers import free_port

PROMPTS = ["The data team", "Our support desk"]


def signature():
    """Text in, text out, and a params schema, so a request's max_new_tokens reaches generate()."""
    from mlflow.models import infer_signature

    return infer_signature(["a prompt"], ["a completion"], params={"max_new_tokens": 8, "do_sample": False})


# Explicit requirements: inferring them imports torchvision, which is not installed.
REQUIREMENTS = ["torch", "transformers"]


@dataclass(frozen=True)
class Pair:
    """A model and its tokenizer, in memory."""

    model: Any
    tokenizer: Any


@dataclass(frozen=True)
class SavedModels:
    """Models shared by the session."""

    tiny: Pair
    """The conftest tiny GPT-2 and its tokenizer."""
    other_tokenizer: Pair
    """A tiny GPT-2 with a different tokenizer (as another corpus would train)."""
    broken: Pair
    """Loads and answers /health, but cannot complete the eval prompts (4 positions)."""
    tiny_dir: Path
    """The tiny model as a Hugging Face folder."""
    tiny_pyfunc_dir: Path
    """The tiny model as an MLflow model folder (for loading without a registry)."""


@pytest.fixture(scope="session")
def saved_models(tmp_path_factory, tiny_model_dir: Path) -> SavedModels:
    """Build the tiny models once per session."""
    import mlflow.transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from flows.models.tiny import build_tiny_model, train_tiny_tokenizer
    from flows.sample import sample_documents

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tiny = Pair(AutoModelForCausalLM.from_pretrained(tiny_model_dir), tok)
    other_tok = train_tiny_tokenizer(list(sample_documents(120, seed=99)), vocab_size=400, max_length=256)
    other = Pair(build_tiny_model(other_tok, n_layer=1, n_embd=16, n_head=2, n_positions=256, seed=3), other_tok)
    broken = Pair(build_tiny_model(tok, n_layer=1, n_embd=16, n_head=2, n_positions=4, seed=5), tok)
    pyfunc_dir = tmp_path_factory.mktemp("saved-models") / "tiny"
    mlflow.transformers.save_model(
        transformers_model={"model": tiny.model, "tokenizer": tok}, path=str(pyfunc_dir), task="text-generation",
        signature=signature(), pip_requirements=REQUIREMENTS,
    )
    return SavedModels(tiny, other, broken, tiny_model_dir, pyfunc_dir)


@dataclass(frozen=True)
class Project:
    """A project folder with its spec and layout, on the test's own MLflow store."""

    root: Path
    spec_path: Path
    spec: ProjectSpec
    layout: Layout

    @property
    def name(self) -> str:
        """The registered model name."""
        return self.spec.model_name


SPEC = """\
project: acme/support-bot
model:
  base: tiny-gpt2
data:
  block_size: 32
eval:
  prompts: {prompts}
  max_new_tokens: 4
registry:
  {registry}
serving:
  port: {port}
  max_prompt_chars: 200
  max_new_tokens: 16
  request_timeout: 20s
{extra}"""


def make_project(root: Path, extra: str = "", registry: str = "min_improvement: 0.0", port: int | None = None) -> Project:
    """Write ``cubeops.yaml`` (a free serving port) and load it as the CLI would.

    ``registry`` is the body of the ``registry`` section (one line); ``extra`` appends sections.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / "cubeops.yaml"
    prompts = "[" + ", ".join(f'"{p}"' for p in PROMPTS) + "]"
    text = SPEC.format(prompts=prompts, port=port or free_port(), registry=registry, extra=textwrap.dedent(extra))
    path.write_text(text, encoding="utf-8")
    spec = load_spec(path)
    return Project(root, path, spec, resolve_layout(spec, root))


@pytest.fixture
def project(tmp_path: Path, mlflow_store: str) -> Project:
    """A fresh project whose tracking store is this test's sqlite file."""
    p = make_project(tmp_path / "proj")
    assert p.layout.tracking_uri == mlflow_store
    return p


CARD = "# {name}\n\nA tiny GPT-2 fine-tuned on fixture text (perplexity {ppl}).\n"


def register_version(project: Project, pair: Pair, perplexity: float, digest: str = "d" * 64) -> TrainedModel:
    """Log ``pair`` as ``model`` in a run with eval metrics; register it with the lineage tags."""
    import mlflow
    from huggingface_hub import ModelCard

    from flows.tracking import use_experiment

    use_experiment(project.layout)
    with mlflow.start_run(run_name="fine-tune") as run:
        mlflow.log_metrics({"eval_loss": math.log(perplexity), "perplexity": perplexity})
        info = mlflow.transformers.log_model(
            transformers_model={"model": pair.model, "tokenizer": pair.tokenizer}, name="model",
            task="text-generation", signature=signature(), pip_requirements=REQUIREMENTS,
            model_card=ModelCard(CARD.format(name=project.name, ppl=perplexity)),
        )
    tags = {
        TAG_DATA_DIGEST: digest, TAG_RUN_ID: run.info.run_id, TAG_BASE_MODEL: "tiny-gpt2", TAG_TRAIN_KEY: "k" * 16,
        TAG_PREFECT_RUN: "00000000-0000-0000-0000-000000000000", TAG_GIT_COMMIT: "0" * 40, TAG_PROJECT: project.spec.project,
    }
    mv = mlflow.register_model(info.model_uri, project.name, tags=tags)
    return TrainedModel(
        model_name=project.name, version=str(mv.version), run_id=run.info.run_id,
        model_uri=f"models:/{project.name}/{mv.version}", data_digest=digest,
        metrics={"eval_loss": math.log(perplexity), "perplexity": perplexity},
    )


def write_validation(layout: Layout, digest: str, tokenizer_dir: Path, texts: list[str], block_size: int = 32) -> Path:
    """``.cubeops/data/<digest>/validation``: packed blocks of ``texts`` (input_ids, labels), as prepare-data saves them."""
    from datasets import Dataset
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    ids: list[int] = []
    for text in texts:
        ids += tok(text)["input_ids"] + [tok.eos_token_id]
    blocks = [ids[i : i + block_size] for i in range(0, len(ids) - block_size + 1, block_size)]
    path = layout.data_dir / digest / "validation"
    Dataset.from_dict({"input_ids": blocks, "labels": blocks}).save_to_disk(str(path))
    return path


@pytest.fixture
def cleanup(project: Project):
    """Stop every model server the test started, even when it fails."""
    from flows.serving.process import live_servers, stop_servers

    yield
    stop_servers(project.layout.serving_dir, live_servers(project.layout.serving_dir))
