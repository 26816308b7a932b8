"""The reconciler keeps badges true: stale and stalled by time, down/degraded/drift by probing."""

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from status.model import ProjectInfo, StatusUpdate
from status.probe import HealthAnswer, Verdict, get_health, http_probe, serving_verdict
from status.reconciler import Reconciler, ReconcilerSettings
from status.view import StatusView
from tests.helpers import free_port

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
INFO = ProjectInfo("acme/bot", "public", timedelta(hours=6), timedelta(minutes=2))


def _reconciler(store, probe=http_probe, **settings) -> Reconciler:
    defaults = {"probe_every": 0.0, "degraded_after": 0.2, "probe_timeout": 2.0}
    return Reconciler(store, StatusView(T0), ReconcilerSettings(**{**defaults, **settings}), probe=probe, clock=lambda: T0)


def _face(rec: Reconciler, stage: str):
    return rec.view.faces[("acme/bot", stage)]


def test_a_ready_dataset_turns_stale_after_stale_after(status_store):
    status_store.publish(INFO, StatusUpdate("acme/bot", "data", "ready", "ready · 9 docs"), now=T0)
    rec = _reconciler(status_store)
    rec.tick(T0 + timedelta(hours=5))
    assert (_face(rec, "data").state, _face(rec, "data").color) == ("ready", "brightgreen")
    rec.tick(T0 + timedelta(hours=7))
    face = _face(rec, "data")
    assert (face.state, face.message, face.color) == ("stale", "stale · 7h old", "yellow")
    assert face.last_modified == T0 + timedelta(hours=6)
    # A fresh publish makes it ready again.
    status_store.publish(INFO, StatusUpdate("acme/bot", "data", "ready", "ready · 10 docs"), now=T0 + timedelta(hours=8))
    rec.tick(T0 + timedelta(hours=8, minutes=1))
    assert _face(rec, "data").message == "ready · 10 docs"


def test_training_stalls_without_heartbeats_and_recovers_with_one(status_store):
    status_store.publish(INFO, StatusUpdate("acme/bot", "train", "training", "training · step 3/60"), now=T0)
    rec = _reconciler(status_store)
    rec.tick(T0 + timedelta(minutes=1))
    assert _face(rec, "train").state == "training"
    rec.tick(T0 + timedelta(minutes=5))
    face = _face(rec, "train")
    assert (face.state, face.color) == ("stalled", "orange")
    assert face.message == "stalled · no heartbeat for 5m"
    status_store.heartbeat("acme/bot", "train", now=T0 + timedelta(minutes=5, seconds=30))
    rec.tick(T0 + timedelta(minutes=6))
    assert _face(rec, "train").state == "training"
    # Nothing derived was written as history: the store still holds one event.
    assert [e.state for e in status_store.history("acme/bot")] == ["training"]


class _Health:
    """A model server's /health whose answers the test changes as it goes."""

    def __init__(self):
        self.version, self.delay, self.code, self.extra = "3", 0.0, 200, {}
        self.calls = 0
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                health.calls += 1
                time.sleep(health.delay)
                body = json.dumps({"status": "ok", "version": health.version, **health.extra}).encode()
                self.send_response(health.code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def health():
    h = _Health()
    yield h
    h.stop()


def test_probing_moves_serving_through_drift_degraded_down_and_back_to_live(status_store, health):
    status_store.publish(
        INFO,
        StatusUpdate("acme/bot", "serving", "live", "live · v3", {"endpoint": health.url}, {"champion_version": 3}),
        now=T0,
    )
    rec = _reconciler(status_store)

    def step(**change):
        for k, v in change.items():
            setattr(health, k, v)
        rec.tick(T0)
        return _face(rec, "serving")

    assert step().state == "live"
    drift = step(version="2")
    assert (drift.state, drift.color) == ("drift", "orange")
    assert drift.message == "drift · v2 ≠ champion v3"
    slow = step(version="3", delay=0.4)
    assert (slow.state, slow.color) == ("degraded", "yellow")
    down = step(delay=0.0, code=503)
    assert (down.state, down.message, down.color) == ("down", "down · HTTP 503", "red")
    health.stop()
    assert step().state == "down"  # still down (unreachable now): no new event
    assert [e.state for e in status_store.history("acme/bot", "serving")] == ["down", "degraded", "drift", "live"]
    current = status_store.current("acme/bot")["serving"]
    assert current.details["champion_version"] == 3 and current.links == {"endpoint": health.url}
    assert current.details["probe"]["error"] == "HTTP 503" and current.details["probe"]["status"] == 503


def test_recovery_to_live_and_a_drift_flag_from_health(status_store, health):
    status_store.publish(
        INFO, StatusUpdate("acme/bot", "serving", "down", "down", {}, {"url": health.url, "version": "3"}), now=T0
    )
    rec = _reconciler(status_store)
    rec.tick(T0)
    assert (_face(rec, "serving").state, _face(rec, "serving").message) == ("live", "live · v3")
    health.extra = {"drift": True}
    rec.tick(T0)
    assert _face(rec, "serving").state == "drift"


def test_probes_wait_for_probe_every_and_leave_deploying_alone(status_store):
    calls = []

    def probe(url, champion, timeout, degraded_after):
        calls.append((url, champion))
        return Verdict("live", "live · v1", {"seen": True})

    status_store.publish(
        INFO, StatusUpdate("acme/bot", "serving", "deploying", "deploying v1", {}, {"url": "http://model:1"}), now=T0
    )
    rec = _reconciler(status_store, probe=probe, probe_every=3600.0)
    rec.tick(T0)
    assert calls == []  # the deploy flow owns a deploying stage
    status_store.publish(
        INFO, StatusUpdate("acme/bot", "serving", "live", "live · v1", {"url": "http://model:1"}, {"version": 1}), now=T0
    )
    rec.tick(T0)
    rec.tick(T0)
    assert calls == [("http://model:1", "1")]  # once, then not again within probe_every


def test_a_probe_that_raises_or_talks_nonsense_leaves_the_state_alone(status_store):
    def broken(url, champion, timeout, degraded_after):
        raise RuntimeError("boom")

    def confused(url, champion, timeout, degraded_after):
        return Verdict("exploded", "?")

    status_store.publish(INFO, StatusUpdate("acme/bot", "serving", "live", "live · v1", {}, {"url": "http://m:1"}), now=T0)
    for probe in (broken, confused):
        rec = _reconciler(status_store, probe=probe)
        rec.tick(T0)
        assert _face(rec, "serving").state == "live"
    assert status_store.count_events("acme/bot") == 1


def test_the_model_servers_own_probe_plugs_in(status_store, health):
    serving_probe = pytest.importorskip("flows.serving.probe", reason="flows.serving is not in this tree").probe
    status_store.publish(
        INFO, StatusUpdate("acme/bot", "serving", "live", "live · v3", {"url": health.url}, {"version": "3", "url": health.url}),
        now=T0,
    )
    rec = _reconciler(status_store, probe=serving_probe)
    health.version = "2"
    rec.tick(T0)
    assert _face(rec, "serving").state == "drift"
    health.stop()
    rec.tick(T0)
    assert _face(rec, "serving").state == "down"


@pytest.mark.parametrize(
    "answer, champion, expected",
    [
        (HealthAnswer(True, 0.05, 200, "4"), "4", ("live", "live · v4")),
        (HealthAnswer(True, 0.05, 200, None), "4", ("live", "live")),
        (HealthAnswer(True, 0.05, 200, "3"), "4", ("drift", "drift · v3 ≠ champion v4")),
        (HealthAnswer(True, 3.0, 200, "4"), "4", ("degraded", "degraded · 3.0s")),
        (HealthAnswer(True, 0.05, 200, "4", health={"status": "degraded"}), "4", ("degraded", "degraded · 0.1s")),
        (HealthAnswer(False, 5.0, error="timeout"), "4", ("down", "down · timeout")),
        (HealthAnswer(False, 0.0, 500, error="HTTP 500"), None, ("down", "down · HTTP 500")),
    ],
)
def test_serving_verdicts(answer, champion, expected):
    assert serving_verdict(answer, champion, degraded_after=2.0) == expected


def test_health_reports_unreachable_and_timeouts(health):
    assert get_health(f"http://127.0.0.1:{free_port()}", 1.0).error == "unreachable"
    health.delay = 1.5
    answer = get_health(health.url, 0.3)
    assert not answer.ok and answer.error == "timeout"
    assert http_probe(health.url, None, 0.3, 2.0).state == "down"
