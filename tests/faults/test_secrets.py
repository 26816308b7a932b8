"""Secrets hygiene: after a full run with known tokens, no token appears anywhere.

The run (see ``full_run`` in conftest) publishes to a status server with a write token, serves
the model behind a bearer token, reads private badges with a read token in the URL (as documented)
and has ``HF_TOKEN`` in its environment. Searched afterwards: what every command printed, the status
server's log, every file of the project and its stores (``.cubeops/`` included: MLflow artifacts,
status store, model-server logs, checkpoints), every MLflow run's params, tags and artifacts and
every registered version, and every Prefect flow run, log and artifact. Tokens are stored only as
hashes, and compared in constant time.
"""

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import mlflow
import pytest
from prefect.client.orchestration import get_client

from flows.serving.app import ServingApp
from flows.serving.settings import ServerSettings
from status.store import StatusStore
from status.tokens import READ, TokenIndex, TokenRecord, hash_token, list_tokens

pytestmark = pytest.mark.faults


@dataclass
class Haystack:
    """Everything searched, by where it came from."""

    places: dict[str, bytes] = field(default_factory=dict)

    def add(self, where: str, content: str | bytes) -> None:
        """Add one place to search."""
        self.places[where] = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")

    def hits(self, secret: str) -> list[str]:
        """The places holding ``secret``."""
        needle = secret.encode()
        return [where for where, content in self.places.items() if needle in content]


def _files(haystack: Haystack, folder: Path) -> int:
    count = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            haystack.add(f"file {path.relative_to(folder)}", path.read_bytes())
            count += 1
    return count


def _mlflow(haystack: Haystack, tracking_uri: str, download_to: Path) -> int:
    client = mlflow.MlflowClient(tracking_uri)
    runs = 0
    for experiment in client.search_experiments():
        haystack.add(f"experiment {experiment.name}", repr(experiment))
        for run in client.search_runs([experiment.experiment_id]):
            runs += 1
            where = f"mlflow run {run.info.run_name} ({run.info.run_id})"
            haystack.add(f"{where} params", repr(run.data.params))
            haystack.add(f"{where} tags", repr(run.data.tags))
            haystack.add(f"{where} metric names", repr(sorted(run.data.metrics)))
            local = Path(client.download_artifacts(run.info.run_id, "", str(download_to / run.info.run_id)))
            _files(haystack, local)
    for model in client.search_registered_models():
        haystack.add(f"registered model {model.name}", repr(model))
        for version in client.search_model_versions(f"name='{model.name}'"):
            haystack.add(f"model version {model.name} v{version.version}", repr(version))
    return runs


def _prefect(haystack: Haystack) -> tuple[int, int, int]:
    flow_runs = logs = artifacts = 0
    with get_client(sync_client=True) as client:
        offset = 0
        while page := client.read_flow_runs(limit=200, offset=offset):
            for run in page:
                haystack.add(f"prefect flow run {run.name} ({run.id})", run.model_dump_json())
            flow_runs += len(page)
            offset += len(page)
        offset = 0
        while page := client.read_logs(limit=200, offset=offset):
            haystack.add(f"prefect logs {offset}-{offset + len(page)}", "\n".join(log.message for log in page))
            logs += len(page)
            offset += len(page)
        offset = 0
        while page := client.read_artifacts(limit=200, offset=offset):
            for artifact in page:
                haystack.add(f"prefect artifact {artifact.key or artifact.id}", artifact.model_dump_json())
            artifacts += len(page)
            offset += len(page)
        haystack.add("prefect variables", repr(client.read_variables()))
    return flow_runs, logs, artifacts


def test_no_token_appears_in_any_log_store_or_artifact(full_run, scenario, tmp_path):
    row = scenario("8 secrets hygiene").trial()
    haystack = Haystack()
    for command, output in full_run.outputs.items():
        if not command.startswith("token create"):  # the one place a token is printed, once
            haystack.add(f"output of cubeops {command}", output)
    haystack.add("status server log", full_run.status_log.read_bytes())
    files = _files(haystack, full_run.root.parent)
    runs = _mlflow(haystack, full_run.tracking_uri, tmp_path / "artifacts")
    flow_runs, logs, artifacts = _prefect(haystack)

    # The search can find what it looks for: each token is where it was handed out, the run
    # really logged to these places, and the read token really went through the access log.
    for name in ("CUBEOPS_STATUS_TOKEN", "read token"):
        assert full_run.secrets[name].encode() in "".join(full_run.outputs.values()).encode()
    assert runs >= 3 and flow_runs >= 3 and logs > 0 and artifacts > 0
    assert any(p.startswith("file .cubeops") or "/.cubeops/" in p for p in haystack.places)
    assert b"token=[redacted]" in haystack.places["status server log"]

    leaks = {name: haystack.hits(secret) for name, secret in full_run.secrets.items()}
    assert not any(leaks.values()), {name: places[:10] for name, places in leaks.items() if places}
    row.ok()
    row.figure = (
        f"{len(full_run.secrets)} secrets × {len(haystack.places)} places ({files} files, {runs} MLflow runs, "
        f"{flow_runs} Prefect runs, {logs} Prefect logs, {artifacts} artifacts): 0 hits; hashed; compare_digest"
    )


def test_tokens_are_stored_only_as_hashes(full_run, scenario):
    row = scenario("8 secrets hygiene").trial()
    store = StatusStore(f"sqlite:///{full_run.root / '.cubeops' / 'status.db'}")
    try:
        stored = {r.scope: r.token_hash for r in list_tokens(store, "acme/secret-keeper")}
    finally:
        store.close()
    assert stored == {
        "write": hashlib.sha256(full_run.secrets["CUBEOPS_STATUS_TOKEN"].encode()).hexdigest(),
        "read": hashlib.sha256(full_run.secrets["read token"].encode()).hexdigest(),
    }
    row.ok()


def test_tokens_are_compared_in_constant_time(monkeypatch, scenario):
    """Every check, hit or miss, goes through ``hmac.compare_digest`` (no early exit on a mismatch)."""
    row = scenario("8 secrets hygiene").trial()
    compared = []
    real = hmac.compare_digest

    def spy(a, b):  # noqa: ANN001
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    token = "cubr_" + "A" * 43
    record = TokenRecord(1, "acme/bot", "badges", READ, hash_token(token), datetime.now(timezone.utc))
    index = TokenIndex([record])
    assert index.verify(token, "acme/bot") == record
    assert index.verify("cubr_" + "B" * 43, "acme/bot") is None
    assert len(compared) == 2, "a token check skipped the constant-time comparison"

    settings = ServerSettings(
        model_name="m", version="1", model_uri="models:/m/1", run_id=None, data_digest=None, host="127.0.0.1",
        port=1, max_prompt_chars=10, max_new_tokens=4, default_new_tokens=2, request_timeout=5.0,
        token_env="SERVING_TOKEN", state_file="/nonexistent",
    )
    app = ServingApp(lambda *a: None, settings, environ={"SERVING_TOKEN": "right-token"})
    compared.clear()
    for given in (b"Bearer right-token", b"Bearer wrong-token", b"Bearer r", b"Basic right-token"):
        app._authorized({"headers": [(b"authorization", given)]})
    assert len(compared) >= 3, "the model server compared a bearer token without compare_digest"
    assert app._authorized({"headers": [(b"authorization", b"Bearer right-token")]})
    assert not app._authorized({"headers": [(b"authorization", b"Bearer right-tokeN")]})
    row.ok()
