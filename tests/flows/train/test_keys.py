"""The training key changes exactly when the trained weights would."""

from flows.train.keys import flatten, key_material, run_params, train_key
from tests.flows.train.conftest import make_spec


def key(spec, digest="d1", device="cpu", precision="fp32", version="0.1.0"):
    return train_key(key_material(spec, digest, device, precision, version))


def test_key_is_stable_and_follows_data_model_train_precision_and_version():
    base = make_spec()
    assert key(base) == key(make_spec())
    changed = {
        key(base, digest="d2"),
        key(make_spec(train={"learning_rate": 0.001})),
        key(make_spec(model={"tiny": {"n_layer": 3, "n_embd": 32, "n_head": 2, "n_positions": 128}})),
        key(base, precision="bf16"),
        key(base, version="0.2.0"),
    }
    assert key(base) not in changed and len(changed) == 5


def test_key_ignores_speed_only_settings_and_evaluation_prompts():
    base = make_spec()
    assert key(make_spec(train={"threads": 2})) == key(base)
    assert key(make_spec(eval={"prompts": ["Something else"]})) == key(base)
    assert key(make_spec(model={"license": "mit"})) == key(base)


def test_params_are_the_flattened_spec_plus_resolved_values():
    params = run_params(make_spec(), {"resolved.precision": "bf16"})
    assert params["train.learning_rate"] == "0.006"
    assert params["model.tiny.n_embd"] == "32"
    assert params["resolved.precision"] == "bf16"
    assert params["eval.prompts"] == '["The data team"]'
    assert "serving.port" not in params


def test_flatten_keeps_long_values_within_mlflow_limits():
    params = run_params(make_spec(eval={"prompts": ["x" * 4000, "y" * 4000]}), {})
    assert len(params["eval.prompts"]) <= 6000
    assert flatten({"a": {"b": [1, 2]}, "c": None}) == {"a.b": "[1, 2]", "c": "null"}
