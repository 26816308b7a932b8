"""Checkpoints on disk: ``.cubeops/checkpoints/<train_key>/checkpoint-<step>/`` and the run-id file.

A checkpoint counts only when it is complete: the Trainer writes ``trainer_state.json`` last,
so a folder whose state file is missing or unparsable was cut short (by a crash or ``kill -9``)
and is ignored, then removed. The MLflow run id is stored beside the checkpoints so a rerun
reattaches the same run.
"""

import json
import os
import re
import shutil
from pathlib import Path

RUN_ID_FILE = "mlflow_run_id"
FINAL_DIR = "final"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
# Everything resuming needs besides the weights (model.safetensors, or sharded weights).
_RESUME_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")


def checkpoint_step(path: Path) -> int | None:
    """The step a ``checkpoint-<step>`` folder was written at, or None for other names."""
    m = _CHECKPOINT_RE.match(path.name)
    return int(m.group(1)) if m else None


def is_complete(path: Path) -> bool:
    """True when ``path`` holds weights, optimizer, scheduler and a readable trainer state."""
    if not all((path / name).is_file() for name in _RESUME_FILES):
        return False
    if not any(path.glob("*.safetensors")) and not any(path.glob("pytorch_model*.bin")):
        return False
    try:
        state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and state.get("global_step") == checkpoint_step(path)


def list_checkpoints(folder: Path) -> list[Path]:
    """Every ``checkpoint-<step>`` folder under ``folder``, oldest step first (complete or not)."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint, or None when training must start from scratch."""
    complete = [p for p in list_checkpoints(folder) if is_complete(p)]
    return complete[-1] if complete else None


def remove_incomplete(folder: Path) -> list[Path]:
    """Delete checkpoint folders a crash left half-written; returns what was removed."""
    removed = [p for p in list_checkpoints(folder) if not is_complete(p)]
    for p in removed:
        shutil.rmtree(p, ignore_errors=True)
    return removed


def read_run_id(folder: Path) -> str | None:
    """The MLflow run id stored beside the checkpoints, if any."""
    try:
        text = (folder / RUN_ID_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def write_run_id(folder: Path, run_id: str) -> None:
    """Store the run id atomically (write, fsync, rename) so a crash never leaves half an id."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{RUN_ID_FILE}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(run_id)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / RUN_ID_FILE)


def reset(folder: Path) -> None:
    """Forget a training key's progress: its checkpoints, final model and run id."""
    shutil.rmtree(folder, ignore_errors=True)
