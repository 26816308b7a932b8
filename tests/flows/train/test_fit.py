"""The training loop on a real Trainer: loss falls, NaN stops it keeping the last good checkpoint,
a resumed run ends where an uninterrupted one does, out-of-memory becomes advice."""

import math

import pytest
import torch
from transformers import TrainerCallback

from flows.errors import TrainError
from flows.models.tiny import build_tiny_model
from flows.train import checkpoints
from flows.train.blocks import load_blocks
from flows.train.config import trainer_settings, training_arguments
from flows.train.fit import explain_failure, fit
from flows.train.precision import Placement
from tests.flows.train.conftest import make_spec

CPU32 = Placement("cpu", "fp32", "test")


def setup(prepared, out, **train):
    spec = make_spec(train=train)
    blocks = load_blocks(prepared)
    model = build_tiny_model(blocks.tokenizer, n_layer=2, n_embd=32, n_head=2, n_positions=128, seed=0)
    args = training_arguments(trainer_settings(spec.train, CPU32, out))
    return blocks, model, args


def run(prepared, out, callbacks=(), resume=None, **train):
    blocks, model, args = setup(prepared, out, **train)
    return model, fit(
        model,
        blocks.tokenizer,
        blocks.train,
        blocks.validation,
        args,
        list(callbacks),
        resume_from=resume,
        block_size=64,
    )


class PoisonAt(TrainerCallback):
    """Turns the weights to NaN after optimizer step ``step``, as a diverging run does."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == self.step:
            with torch.no_grad():
                model.transformer.ln_f.weight.fill_(math.nan)


class StopAt(TrainerCallback):
    """Ends training after step ``step`` without the Trainer's end-of-run work, like a crash would."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def test_loss_falls_and_eval_loss_is_reported(prepared, tmp_path):
    _, result = run(prepared, tmp_path / "ckpt", max_steps=16, eval_every=8, save_every=8)
    assert result.global_step == 16
    assert result.loss_curve[-1][1] < 0.9 * result.loss_curve[0][1]
    assert result.eval_curve[-1][0] == 16
    assert result.perplexity == pytest.approx(math.exp(result.eval_loss))


def test_nan_loss_stops_and_keeps_last_good_checkpoint(prepared, tmp_path):
    out = tmp_path / "ckpt"
    with pytest.raises(TrainError, match="NaN or infinite at step 6") as info:
        run(prepared, out, callbacks=[PoisonAt(5)], max_steps=20, save_every=2, eval_every=100, keep_checkpoints=5)
    assert "last good checkpoint is kept" in str(info.value)
    steps = [checkpoints.checkpoint_step(p) for p in checkpoints.list_checkpoints(out)]
    # Step 6 computed the first NaN loss from step 5's poisoned weights: neither is saved.
    assert steps == [2, 4]
    last = checkpoints.latest_checkpoint(out)
    from safetensors.torch import load_file

    weights = load_file(str(last / "model.safetensors"))
    assert all(torch.isfinite(t).all() for t in weights.values())


def test_resumed_run_ends_where_an_uninterrupted_run_does(prepared, tmp_path):
    settings = dict(max_steps=12, save_every=4, eval_every=12, keep_checkpoints=3)
    _, straight = run(prepared, tmp_path / "straight", **settings)

    out = tmp_path / "interrupted"
    run(prepared, out, callbacks=[StopAt(6)], **settings)
    resume = checkpoints.latest_checkpoint(out)
    assert checkpoints.checkpoint_step(resume) == 4
    _, resumed = run(prepared, out, resume=resume, **settings)

    assert resumed.resumed_from == 4 and resumed.global_step == 12
    assert resumed.eval_loss == pytest.approx(straight.eval_loss, rel=1e-3)
    # The loss history carried in the checkpoint continues without a gap.
    assert [s for s, _ in resumed.loss_curve] == list(range(1, 13))


def test_out_of_memory_becomes_advice_with_a_smaller_batch():
    err = explain_failure(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), 16, 1, 1024, "cuda")
    assert isinstance(err, TrainError)
    assert "train.batch_size to 8" in str(err) and "train.gradient_accumulation_steps to 2" in str(err)
    cpu = explain_failure(
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"), 8, 2, 512, "cpu"
    )
    assert cpu is not None and "8 blocks x 512 tokens" in str(cpu)
    assert explain_failure(RuntimeError("shape mismatch"), 8, 1, 64, "cpu") is None


def test_early_stopping_ends_a_run_whose_validation_loss_stalls(prepared, tmp_path):
    # A learning rate far below float32 resolution leaves the weights, and so the eval loss, unchanged.
    blocks, model, args = setup(
        prepared, tmp_path / "ckpt", max_steps=40, eval_every=4, save_every=4, learning_rate=1e-12
    )
    result = fit(model, blocks.tokenizer, blocks.train, blocks.validation, args, patience=2, block_size=64)
    assert result.stopped_early_at == 12 and result.global_step == 12


@pytest.mark.parametrize("precision, expected", [("bf16", torch.bfloat16), ("fp32", torch.float32)])
def test_precision_sets_the_dtype_of_forward_passes_not_of_the_weights(prepared, tmp_path, precision, expected):
    blocks, model, args = setup(prepared, tmp_path / "ckpt", max_steps=2, eval_every=2, save_every=2)
    seen = set()
    model.lm_head.register_forward_hook(lambda module, inputs, output: seen.add(output.dtype))
    fit(model, blocks.tokenizer, blocks.train, blocks.validation, args, block_size=64, precision=precision)
    assert seen == {expected}
    assert model.lm_head.weight.dtype == torch.float32
