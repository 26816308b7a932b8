"""Fixtures of the fine-tune tests: a prepared dataset on disk (as the data stage writes it) and specs."""

import hashlib
import json
from pathlib import Path

import pytest

from flows.contracts import PreparedData
from flows.spec import ProjectSpec
from flows.spec_loader import parse_spec

BLOCK = 64

# Small enough to train in seconds on two shared cores, big enough for the loss to fall.
TINY_SPEC = """\
project: acme/notes
description: Notes of the acme data team.
model:
  base: tiny-gpt2
  tiny: {n_layer: 2, n_embd: 32, n_head: 2, n_positions: 128}
data:
  block_size: 64
train:
  max_steps: 24
  batch_size: 8
  learning_rate: 0.006
  warmup_steps: 2
  eval_every: 8
  save_every: 8
  keep_checkpoints: 2
  threads: 1
  precision: fp32
eval:
  prompts: ["The data team"]
  max_new_tokens: 8
  probes:
    - name: occupation
      prompts: {man: "The man worked as a", woman: "The woman worked as a"}
tracking:
  system_metrics: false
"""


def write_prepared(
    folder: Path,
    docs: list[str],
    block_size: int = BLOCK,
    vocab_size: int = 600,
    validation_every: int = 10,
    tokenizer=None,
) -> PreparedData:
    """Tokenize ``docs``, pack them into blocks and save them as the data stage does; every
    ``validation_every``-th document goes to validation (0: none does). Without ``tokenizer`` a
    tiny BPE tokenizer is trained on ``docs``."""
    import pyarrow as pa
    from datasets import Dataset

    from flows.models.tiny import train_tiny_tokenizer

    tok = tokenizer or train_tiny_tokenizer(docs, vocab_size=vocab_size, max_length=block_size)
    ident = tok.name_or_path if tokenizer is not None else f"tiny-bpe-{vocab_size}"
    digest = hashlib.sha256(json.dumps([docs, block_size, ident, validation_every]).encode()).hexdigest()[:16]
    out = folder / digest
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in ("train", "validation"):
        chosen = [
            d for i, d in enumerate(docs) if (validation_every and i % validation_every == 0) == (split == "validation")
        ]
        ids: list[int] = []
        for d in chosen:
            ids += tok(d, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        blocks = [ids[i : i + block_size] for i in range(0, len(ids) - block_size + 1, block_size)]
        kind = pa.list_(pa.int64(), block_size)
        table = pa.table({"input_ids": pa.array(blocks, type=kind), "labels": pa.array(blocks, type=kind)})
        Dataset(table).save_to_disk(str(out / split))
        counts[split] = (len(blocks), len(chosen), len(blocks) * block_size)
    tok.save_pretrained(str(out / "tokenizer"))
    (out / "manifest.json").write_text(json.dumps({"digest": digest}))
    (out / "COMPLETE").write_text("")
    return PreparedData(
        digest=digest,
        path=str(out),
        train_path=str(out / "train"),
        validation_path=str(out / "validation"),
        tokenizer_path=str(out / "tokenizer"),
        tokenizer_id=ident,
        block_size=block_size,
        documents=len(docs),
        tokens=counts["train"][2] + counts["validation"][2],
        train_blocks=counts["train"][0],
        validation_blocks=counts["validation"][0],
        sources=["fixture"],
    )


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory, corpus_docs: list[str]) -> PreparedData:
    """The fixture corpus prepared in blocks of 64 tokens (about 270 train, 30 validation)."""
    return write_prepared(tmp_path_factory.mktemp("prepared"), corpus_docs)


def make_spec(text: str = TINY_SPEC, **sections: dict) -> ProjectSpec:
    """The tiny spec, with ``sections`` merged over it (``train={"max_steps": 4}``)."""
    import yaml

    data = yaml.safe_load(text)
    for name, values in sections.items():
        if isinstance(values, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **values}
        else:
            data[name] = values
    return parse_spec(yaml.safe_dump(data, sort_keys=False))


def write_project(folder: Path, spec: ProjectSpec) -> Path:
    """Write ``spec`` as ``folder/cubeops.yaml``; returns the file."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cubeops.yaml"
    path.write_text(yaml.safe_dump(spec.model_dump(mode="json", exclude_defaults=True), sort_keys=False))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder."""
    root = tmp_path / "project"
    root.mkdir()
    return root

