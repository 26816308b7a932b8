"""``cubeops serve start|status|stop`` outside a pipeline run."""

import requests

from flows.cli import main
from registry.aliases import PROMOTED, promote
from registry.client import registry_client
from status.store import StatusStore
from tests.registry.builders import register_version


def serve(capsys, project, action: str) -> tuple[int, str]:
    code = main(["serve", "-c", str(project.spec_path), action])
    out = capsys.readouterr()
    return code, out.out


def test_start_status_stop(project, saved_models, cleanup, capsys, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(project.layout.prefect_home))
    register_version(project, saved_models.tiny, 30.0)
    url = f"http://127.0.0.1:{project.spec.serving.port}"
    assert main(["serve", "-c", str(project.spec_path), "start"]) == 2
    assert "has no champion to serve" in capsys.readouterr().err
    promote(registry_client(project.layout), project.name, "1", PROMOTED, "first version")

    code, out = serve(capsys, project, "start")
    assert code == 0
    first, log_line = out.strip().splitlines()
    assert first.startswith(f"serving acme-support-bot v1 at {url} (pid ")
    pid = int(first.rsplit("pid ", 1)[1].rstrip(")"))
    assert requests.get(f"{url}/health", timeout=5).json()["pid"] == pid
    assert log_line.strip().startswith(f"log: {project.layout.serving_dir}/v1-")

    code, out = serve(capsys, project, "start")  # already serving the champion: nothing restarts
    assert code == 0 and f"(pid {pid})" in out

    code, out = serve(capsys, project, "status")
    assert code == 0 and out.splitlines()[0] == "live · v1"

    code, out = serve(capsys, project, "stop")
    assert (code, out.strip()) == (0, f"stopped v1 (pid {pid})")
    code, out = serve(capsys, project, "status")
    assert code == 1 and out.strip() == "down · unreachable"
    store = StatusStore(project.layout.status_store)
    assert [e.text for e in store.history(project.spec.project, "serving")][:3] == [
        "down · stopped", "live · v1", "live · v1",
    ]
    store.close()
