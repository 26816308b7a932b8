"""Base models and tokenizers from a local folder, the Hugging Face cache, or the Hub.

The cache is tried first, with no network at all. The Hub is asked only when a quick probe
shows it answers, so an unreachable Hub fails in seconds with the alternatives named, rather
than after the library's minute of retries.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flows.errors import ModelError
from flows.models.tiny import TINY_NAME

DEFAULT_ENDPOINT = "https://huggingface.co"


def resolve_base(base: str, root: str | Path | None = None) -> str:
    """``base`` as a local folder when one exists (relative to ``root``), else the Hub id as given."""
    path = Path(base).expanduser()
    if not path.is_absolute() and root is not None:
        path = Path(root) / path
    return str(path.resolve()) if path.is_dir() else base


def hub_reachable(environ: Mapping[str, str] | None = None, timeout: float = 3.0) -> bool:
    """True when the Hub endpoint answers an HTTP request within ``timeout`` (offline mode: False)."""
    import requests

    env = os.environ if environ is None else environ
    if env.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    try:
        requests.head(endpoint.rstrip("/") + "/api/models", timeout=timeout, allow_redirects=False)
    except requests.RequestException:
        return False
    return True


# The short names the Hub redirects; the cache keeps each under the name it was fetched by.
HUB_ALIASES = {"distilgpt2": "distilbert/distilgpt2", "gpt2": "openai-community/gpt2"}

UNREACHABLE = (
    "is not a local folder, not in the Hugging Face cache, and the Hub is unreachable; use a local folder "
    "(model.base: ./path/to/model), download it into the cache on a connected machine (HF_HOME), or use the "
    "offline preset (model.base: tiny-gpt2)"
)


def _from_pretrained(loader: Any, what: str, spec_model: Any, root: str | Path | None, environ: Mapping[str, str] | None) -> Any:
    """Load with ``loader.from_pretrained``: a local folder, else the cache (no network), else the Hub."""
    base, revision = spec_model.base, spec_model.revision
    source = resolve_base(base, root)
    if Path(source).is_dir():
        try:
            return loader.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise ModelError(f"model.base {base!r}: the folder {source} holds no usable {what} ({exc})") from None
    names = [base] + ([HUB_ALIASES[base]] if base in HUB_ALIASES else [])
    for name in names:
        try:
            return loader.from_pretrained(name, revision=revision, local_files_only=True)
        except OSError:
            continue
        except ValueError as exc:
            raise ModelError(f"model.base {base!r} has no usable {what}: {exc}") from None
    if not hub_reachable(environ):
        raise ModelError(f"model.base {base!r} {UNREACHABLE}")
    try:
        return loader.from_pretrained(names[-1], revision=revision)
    except (OSError, ValueError) as exc:
        rev = f" at revision {revision!r}" if revision else ""
        raise ModelError(f"model.base {base!r}{rev} cannot be loaded from the Hub: {exc}") from None


def load_tokenizer(spec_model: Any, root: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Any:
    """The tokenizer of ``spec_model.base`` (a :class:`~flows.spec.ModelSpec`): local, cached, or from the Hub.

    Raises :class:`ModelError` within seconds when it is neither local nor cached and the Hub
    does not answer.
    """
    from transformers import AutoTokenizer

    if spec_model.base == TINY_NAME:
        raise ModelError(f"model.base {TINY_NAME!r} has no stored tokenizer: it is trained on the prepared corpus")
    return _from_pretrained(AutoTokenizer, "tokenizer", spec_model, root, environ)


def load_model(
    spec_model: Any,
    tokenizer: Any = None,
    root: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    seed: int = 0,
) -> Any:
    """The causal LM of ``spec_model`` (a :class:`~flows.spec.ModelSpec`), ready to fine-tune.

    ``tiny-gpt2`` is built from ``spec_model.tiny`` and the prepared ``tokenizer``; anything else
    is a local folder, a cached Hub model, or a download. Raises :class:`ModelError` within seconds
    when it is none of those and the Hub does not answer.
    """
    from transformers import AutoModelForCausalLM

    if spec_model.base == TINY_NAME:
        if tokenizer is None:
            raise ModelError(f"model.base {TINY_NAME!r} is built from the prepared tokenizer; none was given")
        from flows.models.tiny import build_tiny_model

        shape = spec_model.tiny
        return build_tiny_model(
            tokenizer, n_layer=shape.n_layer, n_embd=shape.n_embd, n_head=shape.n_head,
            n_positions=shape.n_positions, seed=seed,
        )
    return _from_pretrained(AutoModelForCausalLM, "causal language model", spec_model, root, environ)
