"""Base models: the tiny preset, a local folder, and a clear error in seconds when nothing is reachable."""

import time

import pytest

from flows.errors import ModelError
from flows.models.hub import load_model
from flows.spec import ModelSpec
from tests.helpers import free_port


def test_tiny_preset_is_built_from_the_prepared_tokenizer(prepared):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(prepared.tokenizer_path)
    model = load_model(
        ModelSpec(base="tiny-gpt2", tiny={"n_layer": 1, "n_embd": 16, "n_head": 2, "n_positions": 64}), tokenizer=tok
    )
    assert model.config.n_layer == 1 and model.config.vocab_size == len(tok)
    with pytest.raises(ModelError, match="built from the prepared tokenizer"):
        load_model(ModelSpec(base="tiny-gpt2"))


def test_local_folder_loads_relative_to_the_project(tiny_model_dir):
    model = load_model(ModelSpec(base=tiny_model_dir.name), root=tiny_model_dir.parent)
    assert model.config.n_positions == 256


@pytest.mark.parametrize("offline", [True, False])
def test_uncached_model_with_no_hub_fails_in_seconds_naming_the_alternatives(offline, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache" / "hub"))
    # A closed local port stands in for an unreachable Hub: the connection is refused at once.
    environ = {"HF_HUB_OFFLINE": "1"} if offline else {"HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        load_model(ModelSpec(base="distilgpt2"), environ=environ)
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "'distilgpt2'" in message and "local folder" in message and "tiny-gpt2" in message and "cache" in message


def test_folder_without_a_model_names_the_folder(tmp_path):
    (tmp_path / "not-a-model").mkdir()
    with pytest.raises(ModelError, match="not-a-model holds no usable causal language model"):
        load_model(ModelSpec(base=str(tmp_path / "not-a-model")))
