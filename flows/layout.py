"""Where a project's files live: the embedded defaults under ``.cubeops/`` beside the spec.

Nothing here touches the disk until asked: :func:`resolve_layout` computes paths, and
:meth:`Layout.ensure` creates the folders.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flows.spec import ProjectSpec

STATE_DIR = ".cubeops"


@dataclass(frozen=True)
class Layout:
    """Resolved locations of every store, cache and log of one project."""

    root: Path
    """The folder holding ``cubeops.yaml``; relative data paths are read from here."""
    home: Path
    """``.cubeops/`` beside the spec."""
    tracking_uri: str
    artifact_root: str
    status_store: str
    prefect_home: Path
    prefect_api_url: str | None
    experiment: str

    @property
    def data_dir(self) -> Path:
        """Prepared datasets, one folder per content digest."""
        return self.home / "data"

    @property
    def checkpoints_dir(self) -> Path:
        """Training checkpoints, one folder per training key."""
        return self.home / "checkpoints"

    @property
    def serving_dir(self) -> Path:
        """Model-server pid files and logs."""
        return self.home / "serving"

    @property
    def locks_dir(self) -> Path:
        """Per-project run locks."""
        return self.home / "locks"

    def ensure(self) -> "Layout":
        """Create the local folders (not the remote stores)."""
        for d in (self.home, self.data_dir, self.checkpoints_dir, self.serving_dir, self.locks_dir, self.prefect_home):
            d.mkdir(parents=True, exist_ok=True)
        if self.artifact_root.startswith("/"):
            Path(self.artifact_root).mkdir(parents=True, exist_ok=True)
        return self


def resolve_layout(spec: ProjectSpec, spec_dir: str | Path, environ: Mapping[str, str] | None = None) -> Layout:
    """Compute the layout of the project whose spec lives in ``spec_dir``.

    The standard variables (``MLFLOW_TRACKING_URI``, ``PREFECT_API_URL``) win over the spec, which
    wins over the embedded defaults, so the same project runs unchanged against real servers.
    """
    env = os.environ if environ is None else environ
    root = Path(spec_dir).resolve()
    home = root / STATE_DIR
    tracking_uri = env.get("MLFLOW_TRACKING_URI") or spec.tracking.uri or f"sqlite:///{home / 'mlflow.db'}"
    status_store = env.get("CUBEOPS_STATUS_STORE") or spec.status.store or f"sqlite:///{home / 'status.db'}"
    prefect_api = env.get("PREFECT_API_URL") or spec.tracking.prefect_api_url
    return Layout(
        root=root,
        home=home,
        tracking_uri=tracking_uri,
        artifact_root=str(home / "artifacts"),
        status_store=status_store,
        prefect_home=home / "prefect",
        prefect_api_url=prefect_api,
        experiment=spec.experiment_name,
    )
