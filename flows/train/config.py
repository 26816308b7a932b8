"""The Hugging Face ``TrainingArguments`` of a run, derived from the spec's train section.

:func:`trainer_settings` is a plain dict (tested without importing transformers);
:func:`training_arguments` turns it into the real object.
"""

from pathlib import Path
from typing import Any

from flows.spec import TrainSpec
from flows.train.precision import Placement


def trainer_settings(train: TrainSpec, placement: Placement, output_dir: str | Path) -> dict[str, Any]:
    """Keyword arguments of ``TrainingArguments`` for ``train`` on ``placement``."""
    steps = {"max_steps": train.max_steps} if train.max_steps > 0 else {"num_train_epochs": train.epochs}
    return {
        "output_dir": str(output_dir),
        **steps,
        "per_device_train_batch_size": train.batch_size,
        "per_device_eval_batch_size": train.batch_size,
        "gradient_accumulation_steps": train.gradient_accumulation_steps,
        "learning_rate": train.learning_rate,
        "weight_decay": train.weight_decay,
        "warmup_steps": train.warmup_steps,
        "lr_scheduler_type": train.lr_scheduler,
        "max_grad_norm": train.max_grad_norm,
        "seed": train.seed,
        "data_seed": train.seed,
        "eval_strategy": "steps",
        "eval_steps": train.eval_every,
        "save_strategy": "steps",
        "save_steps": train.save_every,
        "save_total_limit": train.keep_checkpoints,
        # Every step reaches the callbacks, which batch what goes to MLflow.
        "logging_strategy": "steps",
        "logging_steps": 1,
        # A NaN must surface (and stop the run), not be averaged away.
        "logging_nan_inf_filter": False,
        # bf16 is autocast by cubeops's Trainer (see flows.train.fit), not by accelerate, which would
        # copy each step's full-vocabulary logits back to fp32; fp16 needs accelerate's loss scaling.
        "bf16": False,
        "fp16": placement.precision == "fp16",
        "use_cpu": placement.device == "cpu",
        "gradient_checkpointing": train.gradient_checkpointing,
        # cubeops logs to MLflow itself; no integration may open runs of its own.
        "report_to": "none",
        "disable_tqdm": True,
        "log_level": "warning",
        "dataloader_pin_memory": placement.device == "cuda",
        "save_only_model": False,
        "prediction_loss_only": True,
        **_distributed(train, placement),
    }


def _distributed(train: TrainSpec, placement: Placement) -> dict[str, Any]:
    """The DDP settings of a multi-process run (the launcher's environment supplies the ranks)."""
    if train.distributed.nproc <= 1:
        return {}
    from flows.train.distributed import resolve_backend

    # The model is the same on every rank: no parameter goes unused, so DDP need not search for them.
    return {
        "ddp_backend": resolve_backend(train.distributed.backend, placement.device),
        "ddp_find_unused_parameters": False,
    }


def training_arguments(settings: dict[str, Any]) -> Any:
    """``transformers.TrainingArguments`` built from :func:`trainer_settings`."""
    from transformers import TrainingArguments

    return TrainingArguments(**settings)
