"""Fixtures of the data-prep tests: project folders with real files, and a real HTTP server."""

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from flows.spec import ProjectSpec
from flows.spec_loader import parse_spec

TINY_MODEL = {"base": "tiny-gpt2", "tiny": {"vocab_size": 400, "n_positions": 128}}


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    """Write ``files`` (relative path → text or bytes) under ``root``; ``.gz`` names are compressed."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(gzip.compress(raw, mtime=0) if name.endswith(".gz") else raw)


def make_spec(**sections: object) -> ProjectSpec:
    """A spec for project ``acme/notes`` with the tiny model; ``sections`` replace whole sections."""
    data = {"project": "acme/notes", "model": TINY_MODEL, "data": {"block_size": 32}}
    data.update(sections)
    return parse_spec(yaml.safe_dump(data))


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., tuple[ProjectSpec, Path]]:
    """Make a project folder: ``project(files, **sections)`` writes the files and cubeops.yaml."""

    def make(files: dict[str, str | bytes], **sections: object) -> tuple[ProjectSpec, Path]:
        root = tmp_path / "proj"
        root.mkdir(exist_ok=True)
        write_files(root, files)
        spec = make_spec(**sections)
        (root / "cubeops.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json", exclude_defaults=True)))
        return spec, root

    return make


@dataclass
class Route:
    """What the test server answers on one path."""

    body: bytes = b""
    status: int = 200
    delay: float = 0.0
    declare_length: bool = True
    fail_first: int = 0
    """Answer 503 to this many requests before answering normally."""


@dataclass
class FileServer:
    """A real HTTP server on 127.0.0.1 with a route table and a log of requested paths."""

    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        """The full URL of ``path``."""
        return self.base + path


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    """Serve ``routes`` over HTTP on a free port; stopped after the test, even when it fails."""
    state = FileServer(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            if route.delay:
                time.sleep(route.delay)
            if route.fail_first > 0:
                route.fail_first -= 1
                self.send_error(503, "Service Unavailable")
                return
            self.send_response(route.status)
            if route.declare_length:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            try:
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout or a size limit): that is the test's point

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
