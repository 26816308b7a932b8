"""The training loop: the Hugging Face Trainer, resumed from the last checkpoint, with guards.

No tracking here: metrics and progress leave through the callbacks the caller passes in.
"""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.errors import TrainError
from flows.train.callbacks import GuardCallback, is_finite, perplexity

_WHAT = {"loss": "training loss", "grad_norm": "gradient norm", "eval_loss": "validation loss"}
_OOM_MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory")


@dataclass(frozen=True)
class FitResult:
    """What a finished run reports."""

    global_step: int
    resumed_from: int | None
    eval_loss: float
    perplexity: float
    train_loss: float | None
    loss_curve: list[list[float]] = field(default_factory=list)
    eval_curve: list[list[float]] = field(default_factory=list)
    stopped_early_at: int | None = None
    runtime_s: float = 0.0


def explain_failure(
    exc: BaseException, batch_size: int, accumulation: int, block_size: int, device: str
) -> TrainError | None:
    """A :class:`TrainError` for failures the user can fix (out of memory), else None."""
    import torch

    oom = isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or (
        isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in _OOM_MARKERS)
    )
    if not oom:
        return None
    smaller = max(1, batch_size // 2)
    return TrainError(
        f"a batch of {batch_size} blocks x {block_size} tokens does not fit in {device} memory: "
        f"set train.batch_size to {smaller} and train.gradient_accumulation_steps to {accumulation * batch_size // smaller} "
        "(same effective batch), or enable train.gradient_checkpointing"
    )


def curves(log_history: list[dict[str, Any]]) -> tuple[list[list[float]], list[list[float]]]:
    """``[step, loss]`` and ``[step, eval_loss]`` pairs from the Trainer's log history."""
    loss = [[h["step"], float(h["loss"])] for h in log_history if "loss" in h and "step" in h]
    evals = [[h["step"], float(h["eval_loss"])] for h in log_history if "eval_loss" in h and "step" in h]
    return loss, evals


def thin(points: list[list[float]], limit: int = 200) -> list[list[float]]:
    """At most ``limit`` points, evenly spaced, always keeping the last one."""
    if len(points) <= limit:
        return points
    stride = math.ceil(len(points) / limit)
    kept = points[::stride]
    return kept if kept[-1] == points[-1] else kept + [points[-1]]


def trainer_class(autocast_device: str | None) -> type:
    """The Trainer, autocasting to bf16 on ``autocast_device`` when one is given."""
    from transformers import Trainer

    if autocast_device is None:
        return Trainer

    class AutocastTrainer(Trainer):
        """Autocasts the loss computation itself: the outputs stay as the model made them, so the
        full-vocabulary logits are not copied back to fp32 after every forward pass."""

        def autocast_smart_context_manager(self, cache_enabled: bool | None = True) -> Any:
            import torch

            return torch.autocast(autocast_device, dtype=torch.bfloat16, cache_enabled=cache_enabled)

    return AutocastTrainer


def fit(
    model: Any,
    tokenizer: Any,
    train_dataset: Any,
    eval_dataset: Any,
    args: Any,
    callbacks: list[Any] = (),
    resume_from: Path | None = None,
    patience: int | None = None,
    device: str = "cpu",
    block_size: int = 0,
    precision: str = "fp32",
) -> FitResult:
    """Train ``model`` with the Trainer and ``args``; evaluate at the end; raise on NaN or OOM.

    ``precision`` bf16 runs every forward pass (training and evaluation) under bf16 autocast on
    ``device``; fp16 and fp32 are left to ``args``.
    """
    from transformers import PrinterCallback, default_data_collator

    guard = GuardCallback(patience)
    model.config.use_cache = False
    trainer = trainer_class(device if precision == "bf16" else None)(
        model=model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        data_collator=default_data_collator,
        callbacks=[guard, *callbacks],
    )
    # Per-step metrics go to the callbacks; a log line per step on stdout would drown the user's terminal.
    trainer.remove_callback(PrinterCallback)
    started = time.perf_counter()
    try:
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        if guard.bad_step is None:
            final = _final_eval(trainer)
    except Exception as exc:
        mapped = explain_failure(
            exc, args.per_device_train_batch_size, args.gradient_accumulation_steps, block_size, device
        )
        if mapped is not None:
            raise mapped from exc
        raise
    if guard.bad_step is not None:
        raise TrainError(
            f"the {_WHAT[guard.bad_metric]} became NaN or infinite at step "
            f"{guard.bad_step}; training stopped and the last good checkpoint is kept. "
            "Lower train.learning_rate, raise train.warmup_steps, or set train.precision to fp32"
        )
    model.config.use_cache = True
    loss_curve, eval_curve = curves(trainer.state.log_history)
    return FitResult(
        global_step=trainer.state.global_step,
        resumed_from=_step_of(resume_from),
        eval_loss=final,
        perplexity=perplexity(final),
        train_loss=loss_curve[-1][1] if loss_curve else None,
        loss_curve=loss_curve,
        eval_curve=eval_curve,
        stopped_early_at=guard.stopped_early_at,
        runtime_s=time.perf_counter() - started,
    )


def _final_eval(trainer: Any) -> float:
    """The validation loss at the last step: reused when the loop just evaluated there."""
    step = trainer.state.global_step
    for entry in reversed(trainer.state.log_history):
        if "eval_loss" in entry and entry.get("step") == step:
            loss = float(entry["eval_loss"])
            break
    else:
        loss = float(trainer.evaluate()["eval_loss"])
    if not is_finite(loss):
        raise TrainError(
            f"the validation loss is {loss} after step {step}; lower train.learning_rate or set train.precision to fp32"
        )
    return loss


def _step_of(path: Path | None) -> int | None:
    from flows.train.checkpoints import checkpoint_step

    return checkpoint_step(path) if path is not None else None
