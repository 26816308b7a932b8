"""Callbacks: metrics batched per step and durable at checkpoints, throttled progress, guards."""

import math
import threading
import time

from transformers import TrainerControl, TrainerState

from flows.train.callbacks import BackgroundWorker, GuardCallback, MetricsCallback, ProgressCallback, patience_exhausted


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def state_at(step, max_steps=100, history=()):
    state = TrainerState()
    state.global_step, state.max_steps, state.log_history = step, max_steps, list(history)
    return state


def test_metrics_are_batched_and_stored_before_a_checkpoint():
    stored, clock = [], Clock()
    worker = BackgroundWorker().start()
    cb = MetricsCallback(stored.append, tokens_per_step=512, worker=worker, flush_every=60.0, clock=clock)
    control = TrainerControl()
    cb.on_train_begin(None, state_at(0), control)
    for step in (1, 2, 3):
        clock.now += 0.5
        cb.on_step_end(None, state_at(step), control)
        cb.on_log(None, state_at(step), control, logs={"loss": 4.0 - step, "learning_rate": 1e-3, "grad_norm": 0.5})
    worker.drain()
    assert stored == []  # nothing leaves before a flush is due

    control.should_save = True
    cb.on_log(None, state_at(3), control, logs={"eval_loss": 2.0})
    assert len(stored) == 1  # synchronous: stored before the checkpoint is written
    points = {(k, s): v for k, v, s, _ in stored[0]}
    assert points[("loss", 1)] == 3.0 and points[("grad_norm", 2)] == 0.5
    assert points[("tokens_per_sec", 3)] == 1024.0
    assert points[("perplexity", 3)] == math.exp(2.0)
    worker.close()


def test_worker_keeps_order_survives_failures_and_beats():
    beats, done = [], []
    worker = BackgroundWorker(heartbeat=lambda: beats.append(time.monotonic()), beat_every=0.05).start()

    def boom():
        raise RuntimeError("status store down")

    worker.submit(done.append, 1)
    worker.submit(boom)
    worker.submit(done.append, 2)
    time.sleep(0.3)
    worker.close()
    assert done == [1, 2]
    assert "status store down" in worker.errors[0]
    assert len(beats) >= 2
    assert not any(t.name == "cubeops-train-io" for t in threading.enumerate())


def test_progress_is_reported_at_most_every_interval():
    reports, clock = [], Clock()
    cb = ProgressCallback(lambda *a: reports.append(a), submit=lambda fn, *a: fn(*a), every=3.0, clock=clock)
    control = TrainerControl()
    for step in range(1, 11):
        clock.now = step * 1.0
        cb.on_log(None, state_at(step, 10), control, logs={"loss": 1.0 / step})
    assert [r[0] for r in reports] == [1, 4, 7, 10]
    assert reports[-1][1] == 10 and reports[-1][2]["loss"] == 0.1
    clock.now += 0.1
    cb.on_train_end(None, state_at(10, 10), control)
    assert len(reports) == 5  # the end is reported even inside the interval


def test_guard_stops_on_nan_without_saving_and_on_exhausted_patience():
    guard, control = GuardCallback(), TrainerControl()
    control.should_save = control.should_evaluate = True
    guard.on_log(None, state_at(7), control, logs={"loss": float("nan")})
    assert guard.bad_step == 7 and control.should_training_stop
    assert not control.should_save and not control.should_evaluate

    guard, control = GuardCallback(patience=2), TrainerControl()
    history = [{"eval_loss": 3.0}, {"eval_loss": 2.5}, {"eval_loss": 2.6}]
    guard.on_evaluate(None, state_at(30, history=history), control)
    assert not control.should_training_stop
    guard.on_evaluate(None, state_at(40, history=history + [{"eval_loss": 2.55}]), control)
    assert control.should_training_stop and guard.stopped_early_at == 40


def test_patience_counts_evaluations_since_the_best():
    assert not patience_exhausted([3.0, 2.0, 2.5], 2)
    assert patience_exhausted([3.0, 2.0, 2.5, 2.0], 2)
    assert not patience_exhausted([3.0, 2.0, 2.5, 1.9], 2)
    assert not patience_exhausted([3.0, 2.9, 2.8], None)
