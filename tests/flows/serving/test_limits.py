"""Request caps, pure: what counts as a prompt, which keys set a length, and the default length."""

import pytest

from flows.serving.limits import Limits, Rejected, check_csv, check_json, with_default_length

LIMITS = Limits(max_prompt_chars=10, max_new_tokens=5)


def test_every_string_outside_params_is_a_prompt_and_params_are_not():
    check_json({"inputs": ["short"], "params": {"stop": "a very long stop string, not a prompt"}}, LIMITS)
    with pytest.raises(Rejected) as info:
        check_json({"messages": [{"role": "user", "content": "far too long for ten"}]}, LIMITS)
    assert (info.value.status, info.value.code) == (400, "INVALID_PARAMETER_VALUE")
    with pytest.raises(Rejected, match="a prompt of 11 characters"):
        check_csv(b"prompt\nabcdefghijk\n", LIMITS)


def test_every_length_key_is_held_to_the_ceiling():
    for payload in ({"inputs": ["a"], "params": {"max_length": 6}}, {"prompt": "a", "max_new_tokens": 6}):
        with pytest.raises(Rejected, match="exceeds serving.max_new_tokens \\(5\\)"):
            check_json(payload, LIMITS)
    with pytest.raises(Rejected, match="must be an integer, not True"):
        check_json({"inputs": ["a"], "params": {"max_new_tokens": True}}, LIMITS)
    check_json({"inputs": ["a"], "params": {"max_new_tokens": 5}}, LIMITS)


def test_the_default_length_goes_where_mlflow_reads_it():
    assert with_default_length({"inputs": ["a"]}, 3) == {"inputs": ["a"], "params": {"max_new_tokens": 3}}
    assert with_default_length({"prompt": "a"}, 3) == {"prompt": "a", "max_new_tokens": 3}
    assert with_default_length({"inputs": ["a"], "params": {"max_tokens": 2}}, 3) is None
