"""Importing cubeops does nothing: no I/O, no tracking URI, and status/ never pulls in torch."""

import os
import subprocess
import sys

from tests.helpers import REPO

MODULES = [
    "flows", "flows.spec", "flows.spec_loader", "flows.layout", "flows.errors", "flows.cli", "flows.pipeline",
    "flows.tracking", "flows.runtime", "flows.contracts", "status", "status.model", "status.store", "status.publish",
    "registry",
]


def _run(code: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_status_imports_without_torch_or_mlflow(tmp_path):
    code = (
        "import sys, status, status.model, status.store, status.publish\n"
        "heavy = [m for m in ('torch', 'transformers', 'mlflow', 'prefect') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    res = _run(code, REPO)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_importing_any_module_writes_nothing_and_sets_no_tracking_uri(tmp_path):
    code = (
        "import importlib, os\n"
        f"for m in {MODULES!r}: importlib.import_module(m)\n"
        "assert 'MLFLOW_TRACKING_URI' not in os.environ\n"
        "import mlflow.tracking._tracking_service.utils as u\n"
        "assert not u._tracking_uri, u._tracking_uri\n"
    )
    env_code = f"import sys; sys.path.insert(0, {str(REPO)!r})\n" + code
    res = _run(env_code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert list(tmp_path.iterdir()) == [], "importing cubeops created files"
