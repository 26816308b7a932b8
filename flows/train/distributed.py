"""Multi-process (DDP) training: the torchrun launch, and what parent and ranks hand each other.

The parent process (the ``train-model`` task) owns the MLflow run and registration; it launches
``python -m torch.distributed.run --standalone --nproc_per_node N -m flows.train --worker REQUEST``
and waits. Every rank trains; only rank 0 logs metrics, publishes status and heartbeats, saves the
final model and writes the result file the parent reads back. A failed launch becomes one
:class:`~flows.errors.TrainError` carrying the tail of the launcher's log.
"""

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from flows.contracts import PreparedData
from flows.errors import TrainError
from flows.spec import ProjectSpec

REQUEST_FILE = ".distributed-request.json"
RESULT_FILE = ".distributed-result.json"
LOG_FILE = "distributed.log"
TAIL_LINES = 25
# A record of torchrun's own logger (``W1126 10:34:15.157000 28008 .../torch/distributed/elastic/...``).
_LAUNCHER_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ \d+ .*torch/distributed/elastic/")


class WorkerRequest(BaseModel):
    """Everything a rank needs to train: the spec, the data, where to write, where to log."""

    model_config = ConfigDict(frozen=True)

    spec: ProjectSpec
    root: str
    data: PreparedData
    checkpoint_dir: str
    device: str
    precision: str
    precision_reason: str
    train_key: str
    run_id: str
    tracking_uri: str
    resume_from: str | None = None
    links: dict[str, str] = {}
    hyperparameters: dict[str, Any] = {}


def resolve_backend(backend: str, device: str) -> str:
    """The DDP backend for ``device``: ``auto`` is nccl on CUDA and gloo elsewhere."""
    if backend == "auto":
        return "nccl" if device == "cuda" else "gloo"
    if backend == "nccl" and device != "cuda":
        raise TrainError(
            f"train.distributed.backend is nccl but training runs on {device}: nccl needs CUDA GPUs; "
            "set train.distributed.backend to gloo (or auto)"
        )
    return backend


def is_rank_zero(environ: Mapping[str, str]) -> bool:
    """True in the process that reports: rank 0 of a launch, or a process that was not launched."""
    return environ.get("RANK", "0") == "0"


def launch_command(python: str, nproc: int, request: Path) -> list[str]:
    """The torchrun command line that runs ``nproc`` ranks of the worker entry point on one machine."""
    return [
        python,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(nproc),
        "-m",
        "flows.train",
        "--worker",
        str(request),
    ]


def log_tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` non-blank lines the ranks wrote before the launcher reported the failure.

    torchrun ends a failed launch with its own traceback and summary, which name no cause; the
    rank's error is what comes before them.
    """
    all_lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    first_report = next((i for i, line in enumerate(all_lines) if _LAUNCHER_LINE.match(line)), len(all_lines))
    kept = all_lines[:first_report] or all_lines
    return "\n".join(kept[-lines:])


def failure_message(returncode: int, tail: str, log_path: Path) -> str:
    """The one message a failed launch is reported with."""
    how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
    return f"multi-process training {how}; last lines of {log_path}:\n{tail or '(the log is empty)'}"


def write_result(path: Path, result: Any = None, error: str | None = None) -> None:
    """Rank 0's outcome for the parent: a :class:`~flows.train.fit.FitResult` or a user-error message."""
    payload = {"error": error} if error is not None else {"result": asdict(result)}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(tmp, path)


def read_result(path: Path) -> dict[str, Any] | None:
    """What rank 0 wrote, or None when it wrote nothing (it crashed before the end)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def encode_request(request: WorkerRequest) -> str:
    """``request`` as JSON the ranks parse back into the same spec (durations as seconds)."""
    from datetime import timedelta

    def plain(value: Any) -> Any:
        # The spec reads a bare number as seconds; pydantic's ISO 8601 form it does not accept.
        return value.total_seconds() if isinstance(value, timedelta) else str(value)

    return json.dumps(request.model_dump(mode="python"), default=plain)


def death_signal_setter(sig: int) -> Any:
    """A function that makes the calling process receive ``sig`` when its parent exits (Linux only).

    torchrun starts each rank in a session of its own, so killing the launch's process group
    does not reach the ranks: without this they would train on, and report, as orphans. The
    libc lookup happens here, so the returned function is safe to call between fork and exec.
    """
    if not sys.platform.startswith("linux"):
        return lambda: None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:
        prctl(pr_set_pdeathsig, int(sig), 0, 0, 0)

    return set_death_signal


def _environment() -> dict[str, str]:
    """The ranks' environment: this one, with the cubeops sources importable from any folder."""
    import flows

    env = dict(os.environ)
    source = str(Path(flows.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH", "")) if p)
    return env


def launch(request: WorkerRequest, folder: Path, python: str | None = None) -> Any:
    """Run the ranks under torchrun and wait; rank 0's :class:`FitResult`, or raise :class:`TrainError`."""
    from flows.train.fit import FitResult

    folder.mkdir(parents=True, exist_ok=True)
    request_path, result_path, log_path = folder / REQUEST_FILE, folder / RESULT_FILE, folder / LOG_FILE
    result_path.unlink(missing_ok=True)
    request_path.write_text(encode_request(request), encoding="utf-8")
    cmd = launch_command(python or sys.executable, request.spec.train.distributed.nproc, request_path)
    with open(log_path, "wb") as log:
        # Same process group as this one: killing the group (Ctrl-C, a supervisor) stops the ranks too.
        # The launcher stops its ranks on SIGTERM: it gets one if this process dies without a word.
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_environment(),
            preexec_fn=death_signal_setter(signal.SIGTERM),
        )
        try:
            returncode = proc.wait()
        finally:
            _stop(proc)
    outcome = read_result(result_path)
    if outcome is not None and outcome.get("error"):
        raise TrainError(outcome["error"])
    if returncode != 0 or outcome is None or "result" not in outcome:
        tail = log_tail(log_path.read_text(encoding="utf-8", errors="replace"))
        raise TrainError(failure_message(returncode or 1, tail, log_path))
    return FitResult(**outcome["result"])


def _stop(proc: subprocess.Popen) -> None:
    """Stop the launcher if it still runs (this process was interrupted); it stops its ranks."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
