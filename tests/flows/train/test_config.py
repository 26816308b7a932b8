"""TrainingArguments from the spec: every train setting lands, and logging stays ours."""

import pytest

from flows.errors import SpecError
from flows.spec_loader import parse_spec
from flows.train.config import trainer_settings, training_arguments
from flows.train.precision import Placement
from tests.flows.train.conftest import make_spec

BF16_CPU = Placement("cpu", "bf16", "CPU has avx512_bf16")


def test_train_section_maps_onto_trainer_arguments(tmp_path):
    spec = make_spec(
        train={"gradient_accumulation_steps": 4, "weight_decay": 0.1, "lr_scheduler": "cosine", "gradient_checkpointing": True}
    )
    args = training_arguments(trainer_settings(spec.train, BF16_CPU, tmp_path))
    assert (args.max_steps, args.per_device_train_batch_size, args.gradient_accumulation_steps) == (24, 8, 4)
    assert (args.learning_rate, args.weight_decay, args.warmup_steps) == (0.006, 0.1, 2)
    assert args.lr_scheduler_type == "cosine" and args.gradient_checkpointing
    assert (args.eval_steps, args.save_steps, args.save_total_limit) == (8, 8, 2)
    # bf16 is autocast by cubeops's own Trainer, not by accelerate.
    assert not args.bf16 and not args.fp16 and args.use_cpu
    assert args.logging_steps == 1 and not args.logging_nan_inf_filter


def test_epochs_apply_only_without_max_steps(tmp_path):
    settings = trainer_settings(make_spec(train={"max_steps": -1, "epochs": 2.5}).train, BF16_CPU, tmp_path)
    assert settings["num_train_epochs"] == 2.5 and "max_steps" not in settings


def test_zero_steps_is_refused_when_the_spec_is_read():
    with pytest.raises(SpecError) as info:
        parse_spec("project: acme/notes\ntrain:\n  max_steps: 0\n")
    assert info.value.problems == ["train.max_steps (line 3): must be at least 1 (or -1 to train for `epochs`)"]
