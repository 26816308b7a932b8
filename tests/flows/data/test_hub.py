"""The base tokenizer: local folders load, an unreachable Hub fails in seconds naming the alternatives."""

import time

import pytest

from flows.errors import ModelError
from flows.models.hub import load_tokenizer
from flows.spec import ModelSpec
from tests.helpers import free_port

ALTERNATIVES = ("model.base: ./path/to/model", "HF_HOME", "model.base: tiny-gpt2")


def test_a_local_folder_loads_relative_to_the_project(tmp_path, tiny_model_dir):
    import shutil

    shutil.copytree(tiny_model_dir, tmp_path / "models" / "mine")
    tok = load_tokenizer(ModelSpec(base="models/mine"), root=tmp_path)
    assert tok.eos_token == "<|endoftext|>"
    assert len(tok("The data team")["input_ids"]) > 0


def test_a_folder_without_a_tokenizer_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="the folder .*empty holds no usable tokenizer"):
        load_tokenizer(ModelSpec(base="empty"), root=tmp_path)


@pytest.mark.parametrize("offline", [True, False], ids=["offline-mode", "hub-unreachable"])
def test_an_uncached_hub_model_fails_within_seconds_naming_the_alternatives(offline):
    # Offline mode, or a Hub endpoint where nothing listens: either way no download can happen.
    environ = {"HF_HUB_OFFLINE": "1"} if offline else {"HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        load_tokenizer(ModelSpec(base="acme/not-cached-anywhere"), environ=environ)
    assert time.monotonic() - started < 10
    msg = str(info.value)
    assert msg.startswith("model.base 'acme/not-cached-anywhere' is not a local folder, not in the Hugging Face cache")
    assert all(alt in msg for alt in ALTERNATIVES)


def test_the_tiny_preset_has_no_stored_tokenizer():
    with pytest.raises(ModelError, match="trained on the prepared corpus"):
        load_tokenizer(ModelSpec(base="tiny-gpt2"))
