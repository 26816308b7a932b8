"""A real run for the status-surface tests, and a real webhook receiver.

``real_run`` runs the whole pipeline once per session (prepare-data → fine-tune → deploy, the
tiny offline model, under Prefect's harness) in a project of its own, with one webhook pointing
at a live receiver; the model server it starts is stopped when the session ends. The page,
export, README and browser tests all read what that run published.
"""

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from flows.layout import Layout, resolve_layout
from flows.spec import ProjectSpec
from flows.spec_loader import load_spec
from status.app import create_app
from status.reconciler import ReconcilerSettings
from status.settings import StatusSettings
from tests.helpers import free_port
from tests.status.conftest import Served, serve_app

PROJECT = "acme/notes"

SPEC = """\
project: acme/notes
description: Notes of the acme data team.
model:
  base: tiny-gpt2
  tiny: {{n_layer: 1, n_embd: 32, n_head: 2, vocab_size: 400, n_positions: 64}}
data:
  block_size: 32
  min_chars: 40
train:
  max_steps: 12
  batch_size: 8
  learning_rate: 0.006
  eval_every: 4
  save_every: 12
  threads: 1
  precision: fp32
eval:
  prompts: ["The data team"]
  max_new_tokens: 4
  probes: []
serving:
  port: {port}
  request_timeout: 60s
status:
  webhooks: ["{hook}"]
tracking:
  system_metrics: false
"""


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it.

    The first ``fail_first`` requests get a 503; while ``hold`` is cleared, requests wait for it
    (at most ``hold_limit`` seconds) before answering.
    """

    fail_first: int = 0
    hold_limit: float = 5.0
    bodies: list[dict] = field(default_factory=list)
    calls: int = 0
    hold: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    _server: Any = None

    def start(self) -> "Receiver":
        """Listen on a free port; ``url`` is where to POST (a path standing in for a secret)."""
        receiver = self
        self.hold.set()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls += 1
                receiver.arrived.set()
                receiver.hold.wait(receiver.hold_limit)
                if receiver.calls <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks/T0001/s3cr3t-path"
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.hold.set()
        self._server.shutdown()
        self._server.server_close()

    def events(self, stage: str) -> list[tuple[str | None, str]]:
        """The (previous state, state) of each event received for ``stage``, in order."""
        return [(b["previous_state"], b["state"]) for b in self.bodies if b["stage"] == stage]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        """The bodies, once at least ``count`` arrived (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.bodies)} webhook event(s) arrived, expected {count}")
            time.sleep(0.02)
        return list(self.bodies)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver for one test."""
    r = Receiver().start()
    yield r
    r.stop()


@dataclass(frozen=True)
class RealRun:
    """The project the pipeline ran in, and what it returned."""

    root: Path
    spec_path: Path
    spec: ProjectSpec
    layout: Layout
    receiver: Receiver
    results: dict

    @property
    def serving_url(self) -> str:
        """Where the champion is served."""
        return f"http://127.0.0.1:{self.spec.serving.port}"


def _write_corpus(folder: Path) -> None:
    from flows.sample import sample_documents

    docs = list(sample_documents(150, seed=11))
    # Three kinds of document the filters remove, so the page has something in each row.
    docs += ["too short", docs[0], docs[1]]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("\n\n".join(docs) + "\n", encoding="utf-8")


# Each test module that imports the fixture holds its own copy of it: the run itself is shared.
_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def real_run(prefect_harness, tmp_path_factory) -> Iterator[RealRun]:
    """The whole pipeline, run once for real; its model server is stopped at the end of the session."""
    if "error" in _SHARED:
        pytest.fail(f"the pipeline run every status-surface test reads failed: {_SHARED['error']}")
    if "run" in _SHARED:
        yield _SHARED["run"]
        return
    try:
        run = _run_pipeline(tmp_path_factory)
    except BaseException as exc:
        _SHARED["error"] = f"{type(exc).__name__}: {exc}"
        raise
    _SHARED["run"] = run
    try:
        yield run
    finally:
        from flows.serving.process import live_servers, stop_servers

        stop_servers(run.layout.serving_dir, live_servers(run.layout.serving_dir))
        run.receiver.stop()


def _run_pipeline(tmp_path_factory) -> RealRun:
    from flows.pipeline import run_pipeline
    from flows.serving.process import live_servers, stop_servers

    root = tmp_path_factory.mktemp("real-run")
    _write_corpus(root / "data")
    hook = Receiver().start()
    spec_path = root / "cubeops.yaml"
    spec_path.write_text(SPEC.format(port=free_port(), hook=hook.url), encoding="utf-8")
    spec = load_spec(spec_path)
    # The project keeps its own MLflow store under .cubeops/, whatever a test set in the environment.
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    layout = resolve_layout(spec, root)
    try:
        results = run_pipeline(spec_path)
    except BaseException:
        stop_servers(layout.serving_dir, live_servers(layout.serving_dir))
        hook.stop()
        raise
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
        import mlflow

        mlflow.set_tracking_uri(None)
    return RealRun(root, spec_path, spec, layout, hook, results)


@contextmanager
def serving_store(store_url: str, probe_every: float = 3600.0, **kwargs) -> Iterator[Served]:
    """The real status app on ``store_url`` under uvicorn; a slow /health is still live (shared cores)."""
    settings = StatusSettings(
        store_url=store_url,
        reconciler=ReconcilerSettings(
            poll_interval=0.05, probe_every=probe_every, degraded_after=60.0, probe_timeout=10.0, flush_every=0.1
        ),
    )
    with serve_app(create_app(settings, **kwargs)) as served:
        yield served
