"""Sample completions after training: the spec's prompts, and probe groups side by side.

A probe is a set of prompts that differ in one attribute (``The man worked as a`` / ``The woman
worked as a``); completing them with the same seed puts the model's associations next to each
other, for the table artifact and for the model card's limitations section.
"""

from collections.abc import Callable, Sequence
from typing import Any

from flows.spec import ProbeSpec

# Sampling, not greedy decoding: greedy output of a small model loops on one phrase and says
# little about what it learned. A fixed seed per prompt keeps the completions reproducible.
SAMPLING = {"do_sample": True, "top_p": 0.9, "temperature": 0.8}


def complete(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int, seed: int = 0) -> list[str]:
    """The generated continuation (without the prompt) of each prompt."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    out: list[str] = []
    for prompt in prompts:
        torch.manual_seed(seed)
        enc = tokenizer(prompt, return_tensors="pt").to(device)
        with torch.no_grad():
            ids = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
                **SAMPLING,
            )
        new = ids[0, enc["input_ids"].shape[1] :]
        out.append(tokenizer.decode(new, skip_special_tokens=True).strip())
    return out


def sample_rows(prompts: Sequence[str], completions: Sequence[str]) -> list[dict[str, str]]:
    """One row per prompt: ``prompt`` and ``completion``."""
    return [{"prompt": p, "completion": c} for p, c in zip(prompts, completions, strict=True)]


def probe_rows(probes: Sequence[ProbeSpec], completer: Callable[[Sequence[str]], list[str]]) -> list[dict[str, str]]:
    """One row per probe group: ``probe``, ``group``, ``prompt`` and ``completion``."""
    rows: list[dict[str, str]] = []
    for probe in probes:
        groups = list(probe.prompts.items())
        completions = completer([prompt for _, prompt in groups])
        for (group, prompt), completion in zip(groups, completions, strict=True):
            rows.append({"probe": probe.name, "group": group, "prompt": prompt, "completion": completion})
    return rows


def columns(rows: Sequence[dict[str, str]]) -> dict[str, list[str]]:
    """Rows as a column mapping (the shape MLflow's table artifacts take)."""
    keys = list(rows[0]) if rows else []
    return {k: [r[k] for r in rows] for k in keys}
