"""Load: 60 s at 64 connections against a real ``cubeops status serve`` while publishes happen.

Zero errors (no socket error, no timeout, nothing but 2xx/3xx), every publish recorded, and the
server's resident memory grows less than 10% from its warmed-up size. ``wrk`` drives the load
when installed; otherwise a bounded Python generator (asyncio, keep-alive connections) does.
"""

import asyncio
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from status.model import STATES, ProjectInfo, StatusUpdate
from status.store import StatusStore
from status.tokens import READ, WRITE, create_token
from tests.faults.conftest import write_spec

pytestmark = pytest.mark.faults

SECONDS = 60
CONNECTIONS = 64
WARM_UP_S = 5
MAX_GROWTH = 0.10
PUBLISH_EVERY_S = 0.25
PROJECT, PRIVATE = "acme/loaded", "acme/loaded-private"


def badge_paths(read_token: str) -> list[str]:
    """The mix a README page full of badges produces: every stage, styles, JSON, aliases, a private one."""
    paths = []
    for stage in ("data", "train", "serving"):
        paths += [
            f"/api/v1/cubes/status/{stage}?repositoryOwnerPlusName={PROJECT}&token=PUBLIC",
            f"/api/v1/cubes/status/{stage}?repositoryOwnerPlusName={PROJECT}&style=for-the-badge",
            f"/api/v1/cubes/status/{stage}?repositoryOwnerPlusName={PROJECT}&format=json",
            f"/badge/{PROJECT}/{stage}.svg",
            f"/badge/{PRIVATE}/{stage}.json?token={read_token}",
        ]
    return paths + [f"/api/v1/cubes/status?repositoryOwnerPlusName={PROJECT}", "/healthz"]


# -- load generators ---------------------------------------------------------------------------

WRK_SCRIPT = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def run_wrk(url: str, paths: list[str], seconds: int, folder: Path) -> dict:
    """``wrk`` at CONNECTIONS connections for ``seconds``; its counts of requests and errors."""
    script = folder / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths), encoding="utf-8")
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    return {
        "tool": "wrk",
        "requests": requests_done,
        "errors": sum(int(g) for g in socket_errors.groups()) if socket_errors else 0,
        "bad_status": int(non_2xx.group(1)) if non_2xx else 0,
        "p99": p99.group(1) if p99 else "?",
        "output": out,
    }


async def _client(port: int, paths: list[str], offset: int, deadline: float, tally: dict) -> None:
    reader = writer = None
    i = offset
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            path = paths[i % len(paths)]
            i += 1
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            status = int(head.split(b" ", 2)[1])
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
            await asyncio.wait_for(reader.readexactly(length), 10)
            tally["requests"] += 1
            if status >= 400:
                tally["bad_status"] += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, AttributeError):
            tally["errors"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def run_python_load(url: str, paths: list[str], seconds: int) -> dict:
    """The same load from Python: CONNECTIONS keep-alive connections for ``seconds``."""
    port = int(url.rsplit(":", 1)[1])
    tally = {"requests": 0, "errors": 0, "bad_status": 0}

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_client(port, paths, k, deadline, tally) for k in range(CONNECTIONS)))

    asyncio.run(main())
    return {"tool": "python", "p99": "n/a", "output": "", **tally}


def generate_load(url: str, paths: list[str], seconds: int, folder: Path) -> dict:
    """Load with wrk when installed, else from Python."""
    if shutil.which("wrk"):
        return run_wrk(url, paths, seconds, folder)
    return run_python_load(url, paths, seconds)


# -- the test ---------------------------------------------------------------------------------------


class Publishing(threading.Thread):
    """Publishes a new train state over HTTP every PUBLISH_EVERY_S until stopped; counts what failed."""

    def __init__(self, url: str, token: str):
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.stop = threading.Event()
        self.sent, self.failed = 0, []

    def run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        states = STATES["train"]
        while not self.stop.wait(PUBLISH_EVERY_S):
            body = {"repositoryOwnerPlusName": PROJECT, "state": states[self.sent % len(states)],
                    "message": f"load publish {self.sent}", "details": {"n": self.sent}}
            try:
                r = session.post(f"{self.url}/api/v1/cubes/status/train", json=body, timeout=30)
                if r.status_code != 200:
                    self.failed.append(f"{r.status_code}: {r.text[:200]}")
            except requests.RequestException as exc:
                self.failed.append(type(exc).__name__)
            self.sent += 1


def test_sixty_seconds_at_64_connections_while_publishing(tmp_path, scenario, status_server):
    row = scenario("6 load (60 s, 64 connections)").trial()
    root = tmp_path / "project"
    spec = write_spec(root, f"project: {PROJECT}\n")
    store = StatusStore(f"sqlite:///{root / '.cubeops' / 'status.db'}")
    for stage, state in (("data", "ready"), ("train", "training"), ("serving", "live")):
        store.publish(ProjectInfo(PROJECT), StatusUpdate(PROJECT, stage, state, f"{state} · load"))
        store.publish(ProjectInfo(PRIVATE, visibility="private"), StatusUpdate(PRIVATE, stage, state))
    _, read = create_token(store, PRIVATE, READ, "badges")
    _, write = create_token(store, PROJECT, WRITE, "ci")
    store.close()
    server = status_server(spec, extra=("--no-access-log",))
    proc = psutil.Process(server.pid)
    paths = badge_paths(read)
    for path in paths:
        assert requests.get(server.url + path, timeout=10).status_code == 200, path

    # Warm up at full load first: buffers, caches and thread pools that a busy server keeps
    # belong to its baseline, not to its growth.
    warm = generate_load(server.url, paths, WARM_UP_S, tmp_path)
    assert warm["errors"] == 0 and warm["bad_status"] == 0, warm["output"]
    baseline = proc.memory_info().rss
    peak = baseline
    publishing = Publishing(server.url, write)
    publishing.start()
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.wait(1.0):
            peak = max(peak, proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = generate_load(server.url, paths, SECONDS, tmp_path)
    finally:
        publishing.stop.set()
        sampling.set()
        publishing.join(30)
        sampler.join(5)
    after = proc.memory_info().rss
    peak = max(peak, after)
    growth = peak / baseline - 1

    assert result["errors"] == 0, f"{result['errors']} socket errors or timeouts\n{result['output']}"
    assert result["bad_status"] == 0, f"{result['bad_status']} responses were not 2xx/3xx\n{result['output']}"
    assert publishing.sent > SECONDS / PUBLISH_EVERY_S / 2 and not publishing.failed, publishing.failed[:10]
    badge = server.badge_json(PROJECT, "train")
    assert badge["message"] == f"load publish {publishing.sent - 1}", "the last publish is not on the badge"
    assert growth < MAX_GROWTH, f"resident memory grew {growth:.1%} ({baseline / 2**20:.1f} → {peak / 2**20:.1f} MiB)"
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, log[-3000:]
    row.ok()
    row.figure = (
        f"{result['tool']}: {result['requests'] / SECONDS:.0f} req/s, p99 {result['p99']}, 0 errors; "
        f"{publishing.sent} publishes; RSS {baseline / 2**20:.1f}→{peak / 2**20:.1f} MiB ({growth:+.1%})"
    )
