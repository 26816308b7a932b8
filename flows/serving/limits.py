"""Request caps of the model server, checked before MLflow sees a request. Pure.

MLflow's scoring protocol puts prompts in several places (``inputs``, ``instances``,
``dataframe_split``, ``dataframe_records``, or the unified ``prompt``/``messages`` form) and
generation settings in ``params`` (or at the top level in the unified form). Rather than parse
each form, every string outside ``params`` counts as a prompt, and every generation-length key
wherever MLflow reads it is held to the ceiling.
"""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

# Keys that set how many tokens are generated, in `params` or at the top level (unified LLM form).
LENGTH_KEYS = ("max_new_tokens", "max_tokens", "max_length")
# No scoring input nests anywhere near this deep.
MAX_DEPTH = 32
TOO_DEEP = f"request body is nested more than {MAX_DEPTH} levels deep"


class Rejected(Exception):
    """A request refused before inference: an HTTP status, an MLflow-style error code, a message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limits:
    """The spec's caps for one server."""

    max_prompt_chars: int
    max_new_tokens: int


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object; :class:`Rejected` (400) naming the position of a syntax error."""
    try:
        payload = json.loads(body)
    except UnicodeDecodeError:
        raise Rejected(400, "BAD_REQUEST", "request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise Rejected(400, "BAD_REQUEST", f"request body is not valid JSON: {exc.msg} at {where}") from None
    except RecursionError:
        raise Rejected(400, "BAD_REQUEST", TOO_DEEP) from None
    if not isinstance(payload, dict):
        raise Rejected(
            400, "BAD_REQUEST",
            f"request body must be a JSON object such as {{\"inputs\": [\"a prompt\"]}}, not a {type(payload).__name__}",
        )
    return payload


def _strings(value: Any):
    # Walked with a stack, not recursion: a body nested thousands of levels deep is refused
    # with a 400 here rather than crashing the check (or, later, MLflow's parser).
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                raise Rejected(400, "BAD_REQUEST", TOO_DEEP)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in reversed(list(children)))


def _check_prompt(text: str, limits: Limits) -> None:
    if len(text) > limits.max_prompt_chars:
        raise Rejected(
            400, "INVALID_PARAMETER_VALUE",
            f"a prompt of {len(text)} characters exceeds serving.max_prompt_chars ({limits.max_prompt_chars})",
        )


def _check_length(where: str, key: str, value: Any, limits: Limits) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected(400, "INVALID_PARAMETER_VALUE", f"{where}{key} must be an integer, not {value!r}")
    if value > limits.max_new_tokens:
        hint = "" if key == "max_new_tokens" else " (it counts toward the same ceiling)"
        raise Rejected(
            400, "INVALID_PARAMETER_VALUE",
            f"{where}{key} {value} exceeds serving.max_new_tokens ({limits.max_new_tokens}){hint}",
        )


def check_json(payload: dict[str, Any], limits: Limits) -> None:
    """Refuse a JSON request whose prompts or generation length exceed the caps."""
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise Rejected(400, "BAD_REQUEST", "params must be a JSON object")
    for key in LENGTH_KEYS:
        if params and key in params:
            _check_length("params.", key, params[key], limits)
        if key in payload:
            _check_length("", key, payload[key], limits)
    for key, value in payload.items():
        if key != "params":
            for text in _strings(value):
                _check_prompt(text, limits)


def check_csv(body: bytes, limits: Limits) -> None:
    """Refuse a CSV request with a cell longer than the prompt cap."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "BAD_REQUEST", "request body is not UTF-8 text") from None
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            _check_prompt(cell, limits)


# The scoring protocol's classic input keys; a payload without any of them is the unified LLM form.
CLASSIC_KEYS = ("inputs", "instances", "dataframe_split", "dataframe_records")


def with_default_length(payload: dict[str, Any], new_tokens: int) -> dict[str, Any] | None:
    """``payload`` asking for ``new_tokens`` tokens when it names no length itself; None when it does.

    Without this, a model whose signature declares ``max_new_tokens`` generates its logged default,
    which may exceed the server's ceiling.
    """
    params = payload.get("params") or {}
    if any(key in params or key in payload for key in LENGTH_KEYS):
        return None
    if any(key in payload for key in CLASSIC_KEYS):
        return {**payload, "params": {**params, "max_new_tokens": new_tokens}}
    # Unified form: MLflow reads top-level keys that the params schema names.
    return {**payload, "max_new_tokens": new_tokens}
