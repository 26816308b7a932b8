"""Measure a challenger and the champion on the same validation data, for the gate.

Same data digest: the logged metrics already share their data and are compared as they are.
Different digests: the champion is re-scored on the challenger's validation blocks
(``.cubeops/data/<digest>/validation``), or, when the two tokenizers differ, both are scored
in bits per character on the same validation text (see :mod:`registry.evaluate`).
"""

import math
from dataclasses import dataclass
from typing import Any

from flows.contracts import TAG_DATA_DIGEST
from flows.layout import Layout
from registry.client import VersionInfo, run_metrics
from registry.gate import GateRule

# Metrics the gate can re-measure itself; any other metric is compared as logged.
MEASURABLE = ("perplexity", "eval_loss")
BITS_PER_CHAR = "bits per character"


@dataclass(frozen=True)
class Measurement:
    """Two comparable values and what they were measured on."""

    rule: GateRule
    challenger: float | None
    champion: float | None
    basis: str
    unavailable: str | None = None
    """Why the two versions could not be measured on the same data (the gate then rejects)."""


def _short(digest: str | None) -> str:
    return (digest or "unknown")[:12]


def _components(uri: str) -> tuple[Any, Any]:
    import mlflow.transformers

    parts = mlflow.transformers.load_model(uri, return_type="components")
    return parts["model"], parts["tokenizer"]


def measure(client: Any, layout: Layout, rule: GateRule, challenger: VersionInfo, champion: VersionInfo) -> Measurement:
    """The challenger's and the champion's values of ``rule.metric`` on the challenger's validation data."""
    chal_value = run_metrics(client, challenger.run_id).get(rule.metric)
    champ_value = run_metrics(client, champion.run_id).get(rule.metric)
    chal_digest = challenger.tags.get(TAG_DATA_DIGEST)
    champ_digest = champion.tags.get(TAG_DATA_DIGEST)
    if chal_digest and chal_digest == champ_digest:
        return Measurement(rule, chal_value, champ_value, f"on the same validation data ({_short(chal_digest)})")
    if rule.metric not in MEASURABLE:
        return Measurement(
            rule, chal_value, champ_value, "",
            unavailable=f"v{challenger.version} and v{champion.version} were validated on different data "
            f"({_short(chal_digest)} vs {_short(champ_digest)}) and the gate can only re-measure "
            f"{' or '.join(MEASURABLE)}, not {rule.metric}",
        )
    validation = layout.data_dir / (chal_digest or "-") / "validation"
    if not chal_digest or not validation.is_dir():
        return Measurement(
            rule, chal_value, champ_value, "",
            unavailable=f"cannot compare on the same validation data: {validation} is missing "
            f"(v{champion.version} was validated on {_short(champ_digest)}); "
            "prepare the data again or promote by hand with `cubeops registry promote`",
        )
    from registry.evaluate import (
        bits_per_char,
        blocks_loss,
        blocks_text,
        load_blocks,
        same_tokenizer,
    )

    blocks = load_blocks(validation)
    champ_model, champ_tok = _components(champion.uri)
    chal_model, chal_tok = _components(challenger.uri)
    if same_tokenizer(champ_tok, chal_tok):
        loss = blocks_loss(champ_model, blocks)
        champ_value = math.exp(loss) if rule.metric == "perplexity" else loss
        return Measurement(
            rule, chal_value, champ_value,
            f"on v{challenger.version}'s validation data ({_short(chal_digest)}, champion re-scored)",
        )
    text = blocks_text(chal_tok, blocks)
    block_size = len(blocks[0]["input_ids"])
    bpc = GateRule(BITS_PER_CHAR, "minimize", rule.min_improvement, None)
    return Measurement(
        bpc,
        bits_per_char(chal_model, chal_tok, text, block_size),
        bits_per_char(champ_model, champ_tok, text, block_size),
        f"on v{challenger.version}'s validation text ({_short(chal_digest)}; tokenizers differ, so both re-scored)",
    )
