"""Concurrent publishers: 8 processes × 500 publishes at once, to the sqlite store and over HTTP.

Every publish goes through the flows' own :class:`~status.publish.Publisher` (strict, so a lost
publish is an error). Afterwards the history holds exactly 4,000 events, each writer's 500
messages once each and in the order written, and every stage shows its last write: the event
with the highest id, in the store and on the badge.
"""

import json
import subprocess
import time
from pathlib import Path

import pytest

from status.model import STAGES
from status.store import StatusStore
from status.tokens import WRITE, create_token
from tests.faults.conftest import PYTHON, child_env, wait_until, write_spec
from tests.helpers import stop_process

pytestmark = pytest.mark.faults

WORKERS = 8
EACH = 500
PROJECT = "acme/many-writers"


def run_workers(tmp_path: Path, where: list[str], env: dict[str, str]) -> tuple[list[dict], float]:
    """Start the workers, release them together, wait for all; (their reports, seconds)."""
    gate = tmp_path / "gate"
    gate.mkdir(exist_ok=True)
    go = gate / "go"
    procs = []
    try:
        for i in range(WORKERS):
            cmd = [
                PYTHON, "-m", "tests.faults.publish_worker", "--project", PROJECT, "--worker", str(i),
                "--count", str(EACH), "--ready", str(gate / f"ready-{i}"), "--go", str(go), *where,
            ]
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          start_new_session=True))
        wait_until(lambda: all((gate / f"ready-{i}").exists() for i in range(WORKERS)) or any(p.poll() for p in procs),
                   timeout=120, what="every publisher ready")
        started = time.perf_counter()
        go.touch()
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"a publisher failed ({proc.returncode}): {out[-2000:]} {err[-2000:]}"
            assert "Traceback" not in err and "status not published" not in err, err[-2000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports, time.perf_counter() - started
    finally:
        for proc in procs:
            stop_process(proc)


def check_history(store_url: str) -> dict[str, str]:
    """Exactly WORKERS × EACH events, each write once and in order; each stage on its last write.

    Returns each stage's current message.
    """
    store = StatusStore(store_url)
    try:
        assert store.count_events(PROJECT) == WORKERS * EACH
        events = store.history(PROJECT, limit=WORKERS * EACH + 10)
        current = store.current(PROJECT)
    finally:
        store.close()
    by_worker: dict[int, list[tuple[int, int]]] = {}
    for ev in events:
        worker, n = ev.message[1:].split(" #")
        by_worker.setdefault(int(worker), []).append((ev.event_id, int(n)))
    for worker in range(WORKERS):
        writes = sorted(by_worker.get(worker, []))
        assert [n for _, n in writes] == list(range(EACH)), f"writer {worker}'s publishes lost, doubled or reordered"
    shown = {}
    for stage in STAGES:
        last = max((ev for ev in events if ev.stage == stage), key=lambda ev: ev.event_id)
        assert current[stage].event_id == last.event_id, f"{stage} does not show its last write"
        assert (current[stage].state, current[stage].message) == (last.state, last.message)
        shown[stage] = last.message
    return shown


def test_eight_processes_publish_to_the_sqlite_store_at_once(tmp_path, scenario):
    row = scenario("4 concurrent publishers (sqlite)").trial()
    store_url = f"sqlite:///{tmp_path / 'status.db'}"
    StatusStore(store_url).create().close()
    reports, seconds = run_workers(tmp_path, ["--store", store_url], child_env())
    assert sum(r["published"] for r in reports) == WORKERS * EACH
    check_history(store_url)
    row.ok()
    slowest = max(r["slowest_s"] for r in reports)
    row.figure = f"{WORKERS}×{EACH}: 4000/4000 events, 0 errors, {WORKERS * EACH / seconds:.0f} publishes/s, slowest {slowest:.2f}s"


def test_eight_processes_publish_over_http_at_once(tmp_path, scenario, status_server):
    row = scenario("4 concurrent publishers (HTTP)").trial()
    spec = write_spec(tmp_path / "project", f"project: {PROJECT}\n")
    store_url = f"sqlite:///{tmp_path / 'project' / '.cubeops' / 'status.db'}"
    store = StatusStore(store_url).create()
    _, token = create_token(store, PROJECT, WRITE, "publishers")
    store.close()
    server = status_server(spec)
    env = child_env(CUBEOPS_STATUS_TOKEN=token)
    reports, seconds = run_workers(tmp_path, ["--url", server.url], env)
    assert sum(r["published"] for r in reports) == WORKERS * EACH
    shown = check_history(store_url)
    for stage, message in shown.items():
        wait_until(lambda: server.badge_json(PROJECT, stage)["message"] == message, timeout=10,
                   what=f"the {stage} badge showing the last write")
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]
    row.ok()
    slowest = max(r["slowest_s"] for r in reports)
    row.figure = f"{WORKERS}×{EACH}: 4000/4000 events, 0 errors, {WORKERS * EACH / seconds:.0f} publishes/s, slowest {slowest:.2f}s"
