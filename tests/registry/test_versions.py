"""Model versions: logged with the transformers flavor and its card, registered with lineage, found by key."""

from pathlib import Path

import mlflow
import pytest

from flows.contracts import TAG_DATA_DIGEST, TAG_GIT_COMMIT, TAG_PREFECT_RUN, TAG_TRAIN_KEY
from registry.versions import (
    CARD_FILE,
    find_version,
    generation_signature,
    lineage_tags,
    log_model,
    register_version,
    version_metrics,
)


def test_lineage_tags_leave_out_unknown_facts():
    tags = lineage_tags("acme/notes", "d1", "r1", "tiny-gpt2", "k1", prefect_run=None, git_commit="c1")
    assert tags[TAG_DATA_DIGEST] == "d1" and tags[TAG_TRAIN_KEY] == "k1" and tags[TAG_GIT_COMMIT] == "c1"
    assert TAG_PREFECT_RUN not in tags


def test_signature_accepts_the_generation_params():
    params = {p.name: (p.dtype.name, p.default) for p in generation_signature(24).params}
    assert params == {
        "max_new_tokens": ("long", 24),
        "temperature": ("double", 1.0),
        "top_p": ("double", 1.0),
        "do_sample": ("boolean", False),
    }


def test_logged_version_loads_offline_generates_with_params_and_is_found_by_key(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # Artifacts under the test's folder: a bare sqlite store would put them in ./mlruns.
    mlflow.set_experiment(
        experiment_id=mlflow.create_experiment("versions", artifact_location=(tmp_path / "artifacts").as_uri())
    )
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    with mlflow.start_run() as run:
        mlflow.log_metrics({"eval_loss": 3.0, "perplexity": 20.09})
        info = log_model(model, tokenizer, "# acme-notes\n\nA card.\n", max_new_tokens=8)
        tags = lineage_tags("acme/notes", "d1", run.info.run_id, "tiny-gpt2", "key-1")
        version = register_version(info.model_uri, "acme-notes", tags)
    assert str(version.version) == "1" and version.run_id == run.info.run_id

    found = find_version("acme-notes", "key-1")
    assert found is not None and str(found.version) == "1"
    assert find_version("acme-notes", "key-2") is None
    assert find_version("no-such-model", "key-1") is None
    assert version_metrics(found) == {"eval_loss": 3.0, "perplexity": 20.09}

    local = Path(
        mlflow.artifacts.download_artifacts(f"models:/acme-notes/{version.version}", dst_path=str(tmp_path / "dl"))
    )
    assert (local / CARD_FILE).read_text() == "# acme-notes\n\nA card.\n"
    pyfunc = mlflow.pyfunc.load_model(str(local))
    out = pyfunc.predict(
        ["The data team"], params={"max_new_tokens": 5, "do_sample": False, "temperature": 1.0, "top_p": 1.0}
    )
    assert isinstance(out[0], str) and out[0]


def test_register_of_a_missing_model_is_a_registry_error():
    from flows.errors import RegistryError

    with pytest.raises(RegistryError, match="cannot be registered"):
        register_version("models:/m-doesnotexist", "acme-notes", {})
