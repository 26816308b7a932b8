"""``cubeops run --only data`` as a user runs it: a real subprocess, its exit code and its message."""

import os

import yaml

from flows.data.version import load_prepared
from tests.flows.data.conftest import TINY_MODEL, write_files
from tests.helpers import run_cli


def _env() -> dict[str, str]:
    # The user's environment: no test harness, the project's own stores under .cubeops/.
    drop = ("PREFECT_HOME", "PREFECT_API_URL", "MLFLOW_TRACKING_URI", "CUBEOPS_STATUS_STORE")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _project(root, sources):
    spec = {"project": "acme/cli", "data": {"sources": sources, "block_size": 32}, "model": TINY_MODEL}
    (root / "cubeops.yaml").write_text(yaml.safe_dump(spec))
    return root / "cubeops.yaml"


def test_run_only_data_prepares_the_dataset(tmp_path, corpus_docs):
    root = tmp_path / "proj"
    write_files(root, {"data/notes.txt": "\n\n".join(corpus_docs)})
    res = run_cli("run", "--only", "data", "-c", str(_project(root, ["data/"])), env=_env(), timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    (line,) = [ln for ln in res.stdout.splitlines() if ln.startswith("data ")]
    digest = line.split()[1]
    assert line.endswith(f"({len(corpus_docs)} documents, {line.split('documents, ')[1].split()[0]} tokens, prepared)")
    prepared = load_prepared(root / ".cubeops" / "data" / digest)
    assert prepared.digest == digest
    assert prepared.documents == len(corpus_docs)


def test_run_only_data_with_a_bad_source_exits_2_with_one_message(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    res = run_cli("run", "--only", "data", "-c", str(_project(root, ["docs/*.txt"])), env=_env(), timeout=300)
    assert res.returncode == 2, res.stderr[-3000:]
    assert f"cubeops: error: data.sources[0]: 'docs/*.txt' matches no files (looked under {root})" in res.stderr
