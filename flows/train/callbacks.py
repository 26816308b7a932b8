"""Trainer callbacks: per-step metrics, progress and the guards that stop a run.

Nothing here talks to MLflow, Prefect or the status store directly: each callback receives the
function that does (a *sink*), and sinks run on a :class:`BackgroundWorker` so the training loop
waits on a database or a network round trip only once per checkpoint.
"""

import contextvars
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from transformers import TrainerCallback

log = logging.getLogger(__name__)

# One point of a metric's history: (key, value, step, wall-clock milliseconds).
MetricPoint = tuple[str, float, int, int]

# What the Trainer logs every step, under the names the run records.
_STEP_KEYS = ("loss", "learning_rate", "grad_norm")


def perplexity(eval_loss: float) -> float:
    """``exp(eval_loss)``, infinite instead of overflowing."""
    return math.exp(eval_loss) if eval_loss < 700 else math.inf


def is_finite(value: Any) -> bool:
    """True for a real, finite number."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def patience_exhausted(eval_losses: Sequence[float], patience: int | None) -> bool:
    """True when the last ``patience`` evaluations all failed to beat the best one before them."""
    if not patience or len(eval_losses) <= patience:
        return False
    best_before = min(eval_losses[:-patience])
    return all(loss >= best_before for loss in eval_losses[-patience:])


class BackgroundWorker:
    """Runs I/O jobs in order on one thread; a failing job is logged, never raised.

    With ``heartbeat`` it also calls that function every ``beat_every`` seconds while it runs, so
    a long step or evaluation still reads as alive.
    """

    _STOP = object()

    def __init__(
        self, heartbeat: Callable[[], Any] | None = None, beat_every: float = 30.0, name: str = "cubeops-train-io"
    ):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._heartbeat = heartbeat
        self._beat_every = beat_every
        # The thread inherits the caller's context (Prefect's settings and run context live there).
        ctx = contextvars.copy_context()
        self._thread = threading.Thread(target=ctx.run, args=(self._loop,), daemon=True, name=name)
        self.errors: list[str] = []

    def start(self) -> "BackgroundWorker":
        """Start the thread."""
        self._thread.start()
        return self

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)``."""
        self._jobs.put((fn, args))

    def drain(self, timeout: float = 120.0) -> bool:
        """Wait until every job queued so far has run; False on timeout or when not running."""
        if not self._thread.is_alive():
            return False
        done = threading.Event()
        self._jobs.put((done.set, ()))
        return done.wait(timeout)

    def close(self, timeout: float = 120.0) -> None:
        """Run every queued job, then stop."""
        if self._thread.is_alive():
            self._jobs.put(self._STOP)
            self._thread.join(timeout)

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - reporting must never stop training
            self.errors.append(f"{getattr(fn, '__name__', fn)}: {type(exc).__name__}: {exc}")
            log.warning("background job failed: %s", self.errors[-1])

    def _loop(self) -> None:
        last_beat = time.monotonic()
        while True:
            wait = max(0.0, self._beat_every - (time.monotonic() - last_beat)) if self._heartbeat else None
            try:
                job = self._jobs.get(timeout=wait)
            except queue.Empty:
                job = None
            if job is self._STOP:
                return
            if job is not None:
                self._run(*job)
            if self._heartbeat and time.monotonic() - last_beat >= self._beat_every:
                self._run(self._heartbeat, ())
                last_beat = time.monotonic()


class MetricsCallback(TrainerCallback):
    """Buffers loss, learning rate, grad norm, tokens/s, eval loss and perplexity per step.

    The buffer goes to ``sink`` on the worker every ``flush_every`` seconds and at the end. Before
    a checkpoint is written it is flushed synchronously: a rerun resumes from that checkpoint, so
    the history up to it must already be stored when a ``kill -9`` can find the checkpoint.
    """

    def __init__(
        self,
        sink: Callable[[list[MetricPoint]], Any],
        tokens_per_step: int,
        worker: BackgroundWorker,
        flush_every: float = 5.0,
        clock: Callable[[], float] = time.perf_counter,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ):
        self.sink = sink
        self.tokens_per_step = tokens_per_step
        self.worker = worker
        self.flush_every = flush_every
        self.clock = clock
        self.wall_ms = wall_ms
        self.buffer: list[MetricPoint] = []
        self._pending_rate: dict[int, float] = {}
        self._mark: float | None = None
        self._last_flush = clock()

    def flush(self, wait: bool = False) -> None:
        """Hand the buffered points to the sink: on the worker, or (``wait``) stored before returning."""
        batch, self.buffer = self.buffer, []
        if wait:
            self.worker.drain()
            if batch:
                try:
                    self.sink(batch)
                except Exception as exc:  # noqa: BLE001 - a lost metric batch must not stop training
                    log.warning("metrics not logged at step %s: %s: %s", batch[-1][2], type(exc).__name__, exc)
        elif batch:
            self.worker.submit(self.sink, batch)
        self._last_flush = self.clock()

    # A step's time runs from the end of the one before: forward, backward, optimizer, logging and
    # fetching the batch, but not evaluation or saving (their hooks restart the timer).
    def on_train_begin(self, args, state, control, **kwargs):
        self._mark = self.clock()

    def on_step_end(self, args, state, control, **kwargs):
        now = self.clock()
        if self._mark is not None and now > self._mark:
            self._pending_rate[state.global_step] = self.tokens_per_step / (now - self._mark)
        self._mark = now

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        step, at = state.global_step, self.wall_ms()
        for key in _STEP_KEYS:
            if logs.get(key) is not None:
                self.buffer.append((key, float(logs[key]), step, at))
        if "loss" in logs and step in self._pending_rate:
            self.buffer.append(("tokens_per_sec", self._pending_rate.pop(step), step, at))
        if "eval_loss" in logs:
            loss = float(logs["eval_loss"])
            self.buffer.append(("eval_loss", loss, step, at))
            self.buffer.append(("perplexity", perplexity(loss) if is_finite(loss) else math.nan, step, at))
        if control.should_save:
            self.flush(wait=True)
        elif self.clock() - self._last_flush >= self.flush_every:
            self.flush()

    def on_evaluate(self, args, state, control, **kwargs):
        self._mark = self.clock()

    def on_save(self, args, state, control, **kwargs):
        self._mark = self.clock()

    def on_train_end(self, args, state, control, **kwargs):
        self.flush()


class ProgressCallback(TrainerCallback):
    """Reports progress to ``report(step, max_steps, latest_logs)`` at most every ``every`` seconds."""

    def __init__(
        self,
        report: Callable[[int, int, dict[str, float]], Any],
        submit: Callable[..., None],
        every: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.report = report
        self.submit = submit
        self.every = every
        self.clock = clock
        self.latest: dict[str, float] = {}
        self._last: float | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key, value in (logs or {}).items():
            if key in ("loss", "eval_loss") and is_finite(value):
                self.latest[key] = float(value)
        now = self.clock()
        if self._last is None or now - self._last >= self.every:
            self._last = now
            self.submit(self.report, state.global_step, state.max_steps, dict(self.latest))

    def on_train_end(self, args, state, control, **kwargs):
        # The last step is reported even when it falls inside the throttling interval.
        self.submit(self.report, state.global_step, state.max_steps, dict(self.latest))


class GuardCallback(TrainerCallback):
    """Stops training on a NaN or infinite loss (without checkpointing the bad weights) and on
    ``patience`` evaluations without improvement."""

    def __init__(self, patience: int | None = None):
        self.patience = patience
        self.bad_step: int | None = None
        self.bad_metric: str | None = None
        self.stopped_early_at: int | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        # A NaN gradient norm poisons this step's update even while its loss still looks fine.
        for key in ("loss", "grad_norm", "eval_loss"):
            if (logs or {}).get(key) is not None and not is_finite(logs[key]):
                self.bad_step, self.bad_metric = state.global_step, key
                # The weights of this step are already poisoned: keep the previous checkpoint.
                control.should_save = False
                control.should_evaluate = False
                control.should_training_stop = True
                return control
        return None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.bad_step is not None:
            return None
        losses = [float(h["eval_loss"]) for h in state.log_history if "eval_loss" in h]
        if patience_exhausted(losses, self.patience):
            self.stopped_early_at = state.global_step
            control.should_training_stop = True
            return control
        return None
