"""The prepared dataset as training sees it: train and validation blocks plus their tokenizer.

The data stage writes ``datasets.save_to_disk`` folders whose rows are ``block_size`` token ids
(``input_ids`` and ``labels``); everything here checks that contract before a step is spent.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.contracts import PreparedData
from flows.errors import TrainError

COLUMNS = ("input_ids", "labels")


@dataclass(frozen=True)
class Blocks:
    """Loaded training inputs."""

    train: Any
    validation: Any
    tokenizer: Any
    block_size: int


def check_split(name: str, path: str, columns: list[str], rows: int, block_size: int, first_len: int | None) -> None:
    """Raise :class:`TrainError` naming ``path`` when a split breaks the block contract."""
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise TrainError(f"{name} blocks at {path} lack column(s) {', '.join(missing)}; prepare the data again")
    if rows == 0:
        hint = (
            "raise data.validation_fraction or add documents"
            if name == "validation"
            else "add documents or lower data.block_size"
        )
        raise TrainError(f"the {name} set at {path} is empty (0 blocks of {block_size} tokens): {hint}")
    if first_len is not None and first_len != block_size:
        raise TrainError(f"{name} blocks at {path} hold {first_len} tokens, not data.block_size {block_size}")


def check_positions(block_size: int, n_positions: int | None, base: str) -> None:
    """Raise when blocks are longer than the model can attend over."""
    if n_positions is not None and block_size > n_positions:
        raise TrainError(
            f"data.block_size {block_size} exceeds the {n_positions} positions of model {base!r}; "
            f"set data.block_size to {n_positions} or less"
        )


def planned_steps(
    train_blocks: int, batch_size: int, accumulation: int, max_steps: int, epochs: float, world: int = 1
) -> int:
    """Optimizer steps the run will take: ``max_steps``, or what ``epochs`` amount to (as the Trainer counts)."""
    if max_steps > 0:
        return max_steps
    per_epoch = max(1, -(-train_blocks // (batch_size * world)) // accumulation)
    return math.ceil(per_epoch * epochs)


def _shard_count(path: str) -> int | None:
    """Arrow shards a ``save_to_disk`` folder lists (None when unknown); ``datasets`` cannot load zero."""
    try:
        state = json.loads((Path(path) / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = state.get("_data_files") if isinstance(state, dict) else None
    return len(files) if isinstance(files, list) else None


def load_blocks(data: PreparedData) -> Blocks:
    """Load and check both splits and the tokenizer of a prepared dataset."""
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    splits = {}
    for name, path in (("train", data.train_path), ("validation", data.validation_path)):
        if _shard_count(path) == 0:
            check_split(name, path, list(COLUMNS), 0, data.block_size, None)
        try:
            ds = load_from_disk(path)
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise TrainError(f"the {name} blocks at {path} cannot be read ({exc}); prepare the data again") from None
        first = len(ds[0]["input_ids"]) if len(ds) and "input_ids" in ds.column_names else None
        check_split(name, path, ds.column_names, len(ds), data.block_size, first)
        splits[name] = ds.select_columns(list(COLUMNS)).with_format("torch")
    try:
        tokenizer = AutoTokenizer.from_pretrained(data.tokenizer_path)
    except (OSError, ValueError) as exc:
        raise TrainError(
            f"the tokenizer at {data.tokenizer_path} cannot be loaded ({exc}); prepare the data again"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return Blocks(splits["train"], splits["validation"], tokenizer, data.block_size)
