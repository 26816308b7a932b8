"""`cubeops token` and `cubeops status serve` as a user runs them: real subprocesses, real HTTP."""

import os
import subprocess
import sys
from pathlib import Path

import requests

from status.model import StatusUpdate
from status.store import StatusStore
from tests.helpers import REPO, free_port, run_cli, server_process, wait_http
from tests.status.conftest import PRIVATE_INFO


def _project(tmp_path: Path, visibility: str = "private") -> Path:
    spec = tmp_path / "cubeops.yaml"
    spec.write_text(f"project: acme/secret\nvisibility: {visibility}\n", encoding="utf-8")
    return spec


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CUBEOPS_STATUS_STORE", "CUBEOPS_STATUS_TOKEN")}
    env["PYTHONPATH"] = str(REPO)
    return env


def test_token_create_prints_once_list_shows_no_secret_and_revoke_works(tmp_path):
    spec = _project(tmp_path)
    created = run_cli("token", "create", "-c", str(spec), "--name", "badges", cwd=tmp_path, env=_env())
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("cubr_") and "shown once" in created.stderr
    write = run_cli("token", "-c", str(spec), "create", "--write", cwd=tmp_path, env=_env())
    assert write.returncode == 0 and write.stdout.strip().startswith("cubw_")
    listed = run_cli("token", "list", "-c", str(spec), cwd=tmp_path, env=_env())
    assert listed.returncode == 0
    assert "badges" in listed.stdout and "read" in listed.stdout and "write" in listed.stdout
    assert token not in listed.stdout and write.stdout.strip() not in listed.stdout
    revoked = run_cli("token", "revoke", "badges", "-c", str(spec), cwd=tmp_path, env=_env())
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    listed = run_cli("token", "list", "-c", str(spec), cwd=tmp_path, env=_env())
    line = next(ln for ln in listed.stdout.splitlines() if "badges" in ln)
    assert "revoked" in line
    missing = run_cli("token", "revoke", "nope", "-c", str(spec), cwd=tmp_path, env=_env())
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "no token named 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_status_serve_serves_the_store_and_redacts_tokens_from_its_log(tmp_path):
    spec = _project(tmp_path)
    store = StatusStore(f"sqlite:///{tmp_path / '.cubeops' / 'status.db'}").create()
    store.publish(PRIVATE_INFO, StatusUpdate("acme/secret", "data", "ready", "ready · 7 docs"))
    store.close()
    token = run_cli("token", "create", "-c", str(spec), cwd=tmp_path, env=_env()).stdout.strip()
    port = free_port()
    log = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "flows.cli", "status", "serve", "-c", str(spec), "--port", str(port)]
    with server_process(cmd, log, env=_env(), cwd=tmp_path) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", timeout=30, proc=proc)
        badge = requests.get(
            f"{base}/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/secret&token={token}", timeout=5
        )
        assert badge.status_code == 200 and "ready · 7 docs" in badge.text
        leaked = requests.get(f"{base}/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/secret&tok%65n={token}x", timeout=5)
        assert leaked.status_code == 200
    text = log.read_text(encoding="utf-8")
    assert "GET /api/v1/cubes/status/data?repositoryOwnerPlusName=acme/secret&token=[redacted]" in text
    assert token not in text and token[5:] not in text
    assert "Traceback" not in text


def test_status_serve_on_a_taken_port_is_one_clear_error(tmp_path):
    import socket

    spec = _project(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = run_cli("status", "serve", "-c", str(spec), "--port", str(port), cwd=tmp_path, env=_env(), timeout=60)
    assert res.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in res.stderr and "Traceback" not in res.stderr


def test_the_status_app_imports_without_torch_transformers_or_mlflow():
    code = (
        "import sys, status.app, status.serve, status.reconciler\n"
        "heavy = [m for m in ('torch', 'transformers', 'mlflow', 'prefect', 'pydantic') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, env=_env())
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_serve_settings_come_from_the_spec_and_the_environment():
    import pytest

    from flows.errors import StatusError
    from flows.spec_loader import parse_spec
    from status.settings import settings_from_spec

    spec = parse_spec("project: acme/bot\nserving:\n  probe_every: 10s\n  degraded_after: 1s\nstatus:\n  url: https://status.example.com/\n")
    settings = settings_from_spec(spec, "sqlite:///x.db", environ={})
    assert settings.public_url == "https://status.example.com"
    assert (settings.reconciler.probe_every, settings.reconciler.degraded_after) == (10.0, 1.0)
    env = {"CUBEOPS_STATUS_PUBLIC_URL": "https://badges.example.org", "CUBEOPS_STATUS_POLL_S": "0.5"}
    settings = settings_from_spec(spec, "sqlite:///x.db", environ=env)
    assert settings.public_url == "https://badges.example.org" and settings.reconciler.poll_interval == 0.5
    with pytest.raises(StatusError, match="CUBEOPS_STATUS_POLL_S"):
        settings_from_spec(spec, "sqlite:///x.db", environ={"CUBEOPS_STATUS_POLL_S": "soon"})


def test_log_lines_lose_every_token_value():
    from status.redact import redact

    token = "cubr_" + "s" * 43
    assert redact(f'"GET /api/v1/cubes/status/data?repositoryOwnerPlusName=a/b&token={token} HTTP/1.1" 200') == (
        '"GET /api/v1/cubes/status/data?repositoryOwnerPlusName=a/b&token=[redacted] HTTP/1.1" 200'
    )
    assert token not in redact(f"/x?TOKEN={token}&a=1 and /y?tok%65n={token}")
    assert redact("/healthz and /x?label=token") == "/healthz and /x?label=token"
