"""The ``pipeline``: prepare-data → fine-tune → deploy, each stage run when it exists."""

import importlib

from flows.errors import NotBuilt
from flows.layout import Layout
from flows.spec import ProjectSpec

# Stage name → (module, flow function). A stage whose module is absent is not part of this release.
STAGE_FLOWS = {
    "data": ("flows.data.flow", "prepare_data"),
    "train": ("flows.train.flow", "fine_tune"),
    "deploy": ("flows.deploy.flow", "deploy"),
}


def _stage(name: str):
    module, attr = STAGE_FLOWS[name]
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def run_pipeline(spec: ProjectSpec, layout: Layout, only: str | None = None, force: bool = False) -> dict:
    """Run the stages that exist in this release, in order, passing each result to the next."""
    names = [only] if only else list(STAGE_FLOWS)
    available = {n: _stage(n) for n in names}
    if not any(available.values()):
        raise NotBuilt(f"stage(s) {', '.join(names)} are not available in this release yet")
    results: dict = {}
    root = str(layout.root)
    if available.get("data"):
        results["data"] = available["data"](spec=spec, root=root, force=force)
    if available.get("train"):
        results["train"] = available["train"](spec=spec, root=root, force=force, data=results.get("data"))
    if available.get("deploy"):
        results["deploy"] = available["deploy"](spec=spec, root=root, force=force, model=results.get("train"))
    return results
