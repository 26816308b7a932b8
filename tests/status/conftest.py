"""Fixtures of the status service tests: a store, and the real app served by uvicorn on loopback."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from status.app import StatusApp, create_app
from status.model import ProjectInfo
from status.reconciler import ReconcilerSettings
from status.settings import StatusSettings
from status.store import StatusStore
from tests.helpers import free_port

PUBLIC_INFO = ProjectInfo("acme/bot", "public", timedelta(days=7), timedelta(minutes=2))
PRIVATE_INFO = ProjectInfo("acme/secret", "private", timedelta(days=7), timedelta(minutes=2))


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A fresh sqlite status store URL."""
    return f"sqlite:///{tmp_path / 'status.db'}"


@pytest.fixture
def status_store(store_url: str) -> Iterator[StatusStore]:
    """A fresh sqlite status store, closed after the test."""
    store = StatusStore(store_url).create()
    yield store
    store.close()


@dataclass
class Served:
    """A status app running under uvicorn on 127.0.0.1."""

    app: StatusApp
    url: str

    def badge(self, stage: str, project: str, token: str | None = "PUBLIC", **params: str) -> str:
        """The URL of a badge."""
        from urllib.parse import urlencode

        query = {"repositoryOwnerPlusName": project, **({"token": token} if token is not None else {}), **params}
        return f"{self.url}/api/v1/cubes/status/{stage}?{urlencode(query, safe='/')}"


@contextmanager
def serve_app(app: StatusApp) -> Iterator[Served]:
    """Run ``app`` under uvicorn in a thread; stopped (and its lifespan closed) on exit, even on failure."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="status-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the status server stopped during start-up")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("the status server did not start within 30 s")
        time.sleep(0.02)
    try:
        yield Served(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def make_served(store_url: str) -> Iterator[Callable[..., Served]]:
    """Start the real status app on the test's store: ``make_served(probe=..., clock=..., poll=...)``."""
    stack = []

    def start(poll: float = 0.05, public_url: str = "https://status.example.com", **kwargs) -> Served:
        settings = StatusSettings(
            store_url=store_url,
            public_url=public_url,
            reconciler=ReconcilerSettings(poll_interval=poll, probe_every=kwargs.pop("probe_every", 30.0), flush_every=0.1),
        )
        cm = serve_app(create_app(settings, **kwargs))
        served = cm.__enter__()
        stack.append(cm)
        return served

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request, tmp_path):
    """The status store on sqlite and on PostgreSQL (skipped, saying why, without a server)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'status.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = StatusStore(url).create()
    yield store
    store.close()
