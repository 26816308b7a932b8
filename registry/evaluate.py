"""Scoring a model on a prepared validation set, so the gate compares two versions on the same data.

Two cases. When both versions share a tokenizer, the champion is scored on the challenger's own
validation blocks and its perplexity compares directly with the challenger's logged one. When the
tokenizers differ (the offline ``tiny-gpt2`` preset trains one per corpus), token counts differ
too, so per-token perplexities are not comparable: both models are scored on the same validation
*text* in bits per character.

Pure compute: torch and datasets, no MLflow, no Prefect.
"""

import math
from pathlib import Path
from typing import Any

IGNORE = -100


def load_blocks(path: str | Path) -> Any:
    """The ``datasets.save_to_disk`` folder of packed blocks (``input_ids``, ``labels``)."""
    from datasets import load_from_disk

    return load_from_disk(str(path))


def same_tokenizer(a: Any, b: Any) -> bool:
    """True when two tokenizers map text to the same ids."""
    return a.get_vocab() == b.get_vocab()


def _nll_sum(model: Any, input_ids: Any, labels: Any) -> tuple[float, int]:
    """Summed next-token negative log-likelihood (nats) and the number of predicted tokens."""
    import torch
    import torch.nn.functional as F

    with torch.inference_mode():
        logits = model(input_ids=input_ids).logits[:, :-1, :].float()
        target = labels[:, 1:]
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=IGNORE, reduction="sum")
    return float(loss), int((target != IGNORE).sum())


def _batches(rows: list[list[int]], size: int):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _model_device(model: Any) -> Any:
    return next(model.parameters()).device


def blocks_loss(model: Any, blocks: Any, batch_size: int = 8) -> float:
    """Mean next-token loss (nats per token) of ``model`` over packed blocks, weighted by token."""
    import torch

    model.eval()
    device = _model_device(model)
    ids = list(blocks["input_ids"])
    labels = list(blocks["labels"]) if "labels" in blocks.column_names else ids
    total, count = 0.0, 0
    for start in range(0, len(ids), batch_size):
        x = torch.tensor(ids[start : start + batch_size], device=device)
        y = torch.tensor(labels[start : start + batch_size], device=device)
        nll, n = _nll_sum(model, x, y)
        total, count = total + nll, count + n
    if count == 0:
        raise ValueError("the validation set has no tokens to predict")
    return total / count


def blocks_perplexity(model: Any, blocks: Any, batch_size: int = 8) -> float:
    """``exp`` of :func:`blocks_loss`: the per-token perplexity on those blocks."""
    return math.exp(blocks_loss(model, blocks, batch_size))


def blocks_text(tokenizer: Any, blocks: Any) -> str:
    """The text the blocks were packed from (the labelled tokens, decoded)."""
    ids: list[int] = []
    labels = blocks["labels"] if "labels" in blocks.column_names else blocks["input_ids"]
    for row_ids, row_labels in zip(blocks["input_ids"], labels, strict=True):
        ids.extend(i for i, lab in zip(row_ids, row_labels, strict=True) if lab != IGNORE)
    return tokenizer.decode(ids)


def bits_per_char(model: Any, tokenizer: Any, text: str, block_size: int, batch_size: int = 8) -> float:
    """Bits per character of ``model`` on ``text``: every token predicted, each block opened by EOS."""
    import torch

    if not text:
        raise ValueError("the validation text is empty")
    model.eval()
    limit = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", block_size)
    width = max(2, min(block_size, limit)) - 1
    start_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.bos_token_id
    ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
    rows = [[start_id, *ids[i : i + width]] for i in range(0, len(ids), width)]
    device = _model_device(model)
    total = 0.0
    for group in _batches(rows, batch_size):
        longest = max(len(r) for r in group)
        x = torch.tensor([r + [start_id] * (longest - len(r)) for r in group], device=device)
        y = torch.tensor([r + [IGNORE] * (longest - len(r)) for r in group], device=device)
        nll, _ = _nll_sum(model, x, y)
        total += nll
    return total / len(text) / math.log(2)
