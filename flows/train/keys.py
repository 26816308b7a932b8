"""Identity of a training run: the training key, the flattened params, the code's version.

The training key decides both where checkpoints live and whether a registered version can be
reused, so it covers exactly what changes the trained weights: the data, the model and train
sections (with device and precision resolved) and the cubeops version.
"""

import hashlib
import json
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from flows.spec import ProjectSpec

# Settings that change speed, not the weights: a new thread count must not retrain.
_SPEED_ONLY = ("threads",)


def cubeops_version() -> str:
    """The installed cubeops version (``0+unknown`` when running from an uninstalled tree)."""
    try:
        return metadata.version("cubeops")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def key_material(spec: ProjectSpec, data_digest: str, device: str, precision: str, version: str) -> dict[str, Any]:
    """What the training key hashes, as a plain dict (kept for the run's params and for debugging)."""
    train = spec.train.model_dump(mode="json", exclude=set(_SPEED_ONLY))
    train.update(device=device, precision=precision)
    return {
        "data_digest": data_digest,
        "model": spec.model.model_dump(mode="json", exclude={"license", "language"}),
        "train": train,
        "cubeops": version,
    }


def train_key(material: Mapping[str, Any]) -> str:
    """A short, stable hash of :func:`key_material` (names the checkpoint folder)."""
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """``{"train": {"seed": 1}}`` → ``{"train.seed": "1"}``; lists and mappings of scalars stay JSON."""
    if isinstance(value, Mapping) and value and all(isinstance(k, str) for k in value):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return {prefix: text}


def run_params(spec: ProjectSpec, extra: Mapping[str, Any]) -> dict[str, str]:
    """The run's params: the resolved spec sections that shape training, flattened, plus ``extra``."""
    sections = spec.model_dump(mode="json", include={"project", "data", "model", "train", "eval", "registry"})
    params = flatten(sections)
    params.update(flatten(dict(extra)))
    # MLflow caps a param value's length; long prompt lists are shortened, not rejected.
    return {k: (v if len(v) <= 6000 else v[:5990] + "…") for k, v in params.items()}


def git_commit(root: str | Path) -> str | None:
    """The commit checked out in the repository holding ``root``, or None outside a git repository."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None
