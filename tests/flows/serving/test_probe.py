"""The Serving badge's probe against a real HTTP server on loopback that answers as told."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows.serving.probe import probe
from tests.helpers import free_port


class Health(BaseHTTPRequestHandler):
    """Answers /health as the test sets: a status, a body, a delay."""

    reply = (200, {"version": "3", "pid": 1}, 0.0)

    def do_GET(self):  # noqa: N802 - http.server's name
        status, body, delay = self.server.reply
        time.sleep(delay)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def health():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Health)
    server.reply = Health.reply
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_live_when_the_champion_answers_in_time(health):
    result = probe(_url(health), "3", degraded_after=1.0)
    assert (result.state, result.message) == ("live", "live · v3")
    assert result.details["pid"] == 1


def test_drift_when_another_version_is_served(health):
    assert probe(_url(health), "4").message == "drift · v3 served, champion v4"
    assert probe(_url(health), None).message == "drift · v3 served, no champion"


def test_degraded_when_slow_erroring_or_unreadable(health):
    health.reply = (200, {"version": "3"}, 0.3)
    slow = probe(_url(health), "3", degraded_after=0.1)
    assert slow.state == "degraded" and slow.message.startswith("degraded · v3, /health took 0.")
    health.reply = (503, {"error_code": "x"}, 0.0)
    assert probe(_url(health), "3").message == "degraded · /health 503"
    health.reply = (200, "<html>not json</html>", 0.0)
    assert probe(_url(health), "3").message == "degraded · /health unreadable"
    health.reply = (200, {"version": "3"}, 1.0)
    assert probe(_url(health), "3", timeout=0.2).message == "degraded · no answer in 0.2s"


def test_down_when_nothing_listens():
    result = probe(f"http://127.0.0.1:{free_port()}", "3")
    assert (result.state, result.message) == ("down", "down · unreachable")
