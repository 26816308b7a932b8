"""The prepared dataset as training reads it: checked against the block contract before a step runs."""

import pytest

from flows.errors import TrainError
from flows.train.blocks import check_positions, load_blocks, planned_steps
from tests.flows.train.conftest import write_prepared


def test_prepared_blocks_load_with_their_tokenizer(prepared):
    blocks = load_blocks(prepared)
    assert len(blocks.train) == prepared.train_blocks and len(blocks.validation) == prepared.validation_blocks
    row = blocks.train[0]
    assert row["input_ids"].shape == (64,) and row["input_ids"].dtype.is_floating_point is False
    assert blocks.tokenizer.pad_token == blocks.tokenizer.eos_token


def test_blocks_of_another_length_than_the_manifest_says_are_refused(tmp_path, corpus_docs):
    data = write_prepared(tmp_path, corpus_docs[:80], block_size=32)
    with pytest.raises(TrainError, match="hold 32 tokens, not data.block_size 64"):
        load_blocks(data.model_copy(update={"block_size": 64}))
    with pytest.raises(TrainError, match="cannot be read"):
        load_blocks(data.model_copy(update={"train_path": str(tmp_path / "missing")}))


def test_steps_follow_max_steps_or_epochs_as_the_trainer_counts_them():
    assert planned_steps(270, 8, 1, 50, 1.0) == 50
    assert planned_steps(270, 8, 1, -1, 2.0) == 68  # ceil(270 / 8) = 34 per epoch
    assert planned_steps(270, 8, 4, -1, 0.5) == 4  # 34 // 4 = 8 updates per epoch
    assert planned_steps(3, 8, 4, -1, 0.01) == 1


def test_positions_check_names_the_setting_and_the_limit():
    check_positions(1024, 1024, "distilgpt2")
    with pytest.raises(TrainError, match="data.block_size 2048 exceeds the 1024 positions of model 'distilgpt2'"):
        check_positions(2048, 1024, "distilgpt2")
