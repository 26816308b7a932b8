"""The real DistilGPT2 fine-tuned end to end, when its weights are in the Hugging Face cache."""

import mlflow
import pytest

from flows.errors import ModelError
from tests.flows.train.conftest import make_spec, write_prepared

pytestmark = pytest.mark.slow


# Session-scoped so it is set up (and skips) before the Prefect harness starts.
@pytest.fixture(scope="session")
def distilgpt2():
    from transformers import AutoTokenizer

    from flows.models.hub import load_model
    from flows.spec import ModelSpec

    try:
        model = load_model(ModelSpec(base="distilgpt2"))
    except ModelError as exc:
        pytest.skip(f"distilgpt2 cannot be loaded here: {exc}")
    tok = AutoTokenizer.from_pretrained(model.name_or_path)
    return model, tok


def test_distilgpt2_fine_tunes_and_registers(distilgpt2, prefect_harness, project, tmp_path, corpus_docs):
    from flows.train.flow import fine_tune

    _, tok = distilgpt2
    data = write_prepared(tmp_path / "data", corpus_docs[:120], block_size=128, tokenizer=tok)
    spec = make_spec(
        model={"base": "distilgpt2"},
        data={"block_size": 128},
        train={
            "max_steps": 6,
            "batch_size": 2,
            "learning_rate": 5e-5,
            "eval_every": 6,
            "save_every": 3,
            "precision": "auto",
        },
    )
    result = fine_tune(spec=spec, root=str(project), data=data)
    history = mlflow.MlflowClient().get_metric_history(result.run_id, "loss")
    assert [m.step for m in history] == list(range(1, 7))
    assert result.metrics["perplexity"] < 1000
    version = mlflow.MlflowClient().get_model_version(spec.model_name, result.version)
    assert version.tags["cubeops.base_model"] == "distilgpt2"
