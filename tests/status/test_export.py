"""`cubeops status export`: static badges, endpoint JSON and page equal to what the server answers."""

import json
import os
import re
from pathlib import Path

import requests

from flows.cli import main
from status.model import StatusUpdate
from status.store import StatusStore
from tests.helpers import REPO, run_cli
from tests.status.conftest import PRIVATE_INFO
from tests.status.real_run import PROJECT, real_run, serving_store  # noqa: F401 - fixture

STAGES = ("data", "train", "serving")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUBEOPS_", "MLFLOW_TRACKING_URI"))}
    env["PYTHONPATH"] = str(REPO)
    return env


def test_export_of_a_real_run_equals_what_the_server_answers(real_run, tmp_path):  # noqa: F811
    out = tmp_path / "site"
    done = run_cli("status", "export", "-c", str(real_run.spec_path), "--out", str(out), env=_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    folder = out / PROJECT
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["index.html", *(f"{s}.svg" for s in STAGES), *(f"{s}.json" for s in STAGES)]
    )
    assert done.stdout.split() == [str(folder / n) for n in (*[f"{s}.{x}" for s in STAGES for x in ("svg", "json")], "index.html")]
    with serving_store(real_run.layout.status_store) as served:
        for stage in STAGES:
            svg = requests.get(f"{served.url}/badge/{PROJECT}/{stage}.svg", timeout=10)
            shields = requests.get(
                f"{served.url}/api/v1/cubes/status/{stage}",
                params={"repositoryOwnerPlusName": PROJECT, "token": "PUBLIC"},
                headers={"Accept": "application/json"},
                timeout=10,
            )
            assert (folder / f"{stage}.svg").read_bytes() == svg.content
            assert (folder / f"{stage}.json").read_bytes() == shields.content
            assert json.loads(shields.content)["schemaVersion"] == 1
    messages = [json.loads((folder / f"{s}.json").read_text())["message"] for s in STAGES]
    assert messages[0].startswith("ready ·") and messages[1].startswith("passing · ppl") and messages[2] == "live · v1"
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<img alt="\w+ Status" src="([^"]+)"', page) == ["data.svg", "train.svg", "serving.svg"]
    assert "Content-Security-Policy" in page and "<script>" in page, "the static page honours ?tab= by itself"
    assert "http://127.0.0.1" not in page.split("<main")[0], "the page links its own files, relatively"
    assert 'class="series"' in page and 'class="bar"' in page, "the charts are in the static page"


def test_a_private_project_is_exported_only_when_asked(tmp_path, capsys):
    spec = tmp_path / "cubeops.yaml"
    spec.write_text("project: acme/secret\nvisibility: private\n", encoding="utf-8")
    store = StatusStore(f"sqlite:///{tmp_path / '.cubeops' / 'status.db'}")
    store.publish(PRIVATE_INFO, StatusUpdate("acme/secret", "data", "ready", "ready · 3 docs"))
    store.close()
    out = tmp_path / "site"
    assert main(["status", "export", "-c", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "acme/secret is private" in err and "--include-private" in err
    assert not out.exists(), "nothing is written for a refused export"
    assert main(["status", "export", "-c", str(spec), "--out", str(out), "--include-private"]) == 0
    assert json.loads((out / "acme/secret/data.json").read_text())["message"] == "ready · 3 docs"


def test_an_export_folder_that_is_a_file_or_cannot_be_written_is_refused(tmp_path):
    spec = tmp_path / "cubeops.yaml"
    spec.write_text("project: acme/bot\n", encoding="utf-8")
    a_file = tmp_path / "site"
    a_file.write_text("not a folder", encoding="utf-8")
    as_file = run_cli("status", "export", "-c", str(spec), "--out", str(a_file), env=_env(), timeout=60)
    assert as_file.returncode == 2
    assert as_file.stderr == f"cubeops: error: --out {a_file} is a file, not a folder; name a folder to export into\n"
    assert a_file.read_text() == "not a folder"
    locked = Path("/sys/cubeops-export") if os.geteuid() == 0 else tmp_path / "locked" / "site"
    if os.geteuid() != 0:
        locked.parent.mkdir()
        locked.parent.chmod(0o500)
    try:
        refused = run_cli("status", "export", "-c", str(spec), "--out", str(locked), env=_env(), timeout=60)
    finally:
        if os.geteuid() != 0:
            locked.parent.chmod(0o700)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith(f"cubeops: error: cannot create the export folder {locked}/acme/bot: ")
    assert refused.stderr.count("\n") == 1
