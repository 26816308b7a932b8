"""Webhook delivery to a real local HTTP receiver: events, Slack text, retries, recorded failures."""

import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from status.webhooks import ChangeEvent, WebhookSender, redact_url
from tests.helpers import free_port

EVENT = ChangeEvent("acme/bot", "train", "passing", "training", "passing · ppl 21.3", datetime(2026, 1, 2, tzinfo=timezone.utc))


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 that records bodies and fails the first ``fail_first`` calls."""
    state = {"bodies": [], "calls": 0, "fail_first": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            state["calls"] += 1
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state["calls"] <= state["fail_first"]:
                self.send_response(503)
                self.end_headers()
                return
            state["bodies"].append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_port}/hooks/secret-path"
    yield state
    server.shutdown()
    server.server_close()


def test_event_is_delivered_with_slack_text(receiver):
    sender = WebhookSender([receiver["url"]], backoff=0.01)
    sender.send(EVENT)
    assert sender.flush(10)
    (body,) = receiver["bodies"]
    assert body["project"] == "acme/bot" and body["stage"] == "train" and body["state"] == "passing"
    assert body["previous_state"] == "training"
    assert body["text"] == "acme/bot · train: passing · ppl 21.3 (was training)"


def test_receiver_failing_twice_gets_the_event_on_the_third_try(receiver):
    receiver["fail_first"] = 2
    failures = []
    sender = WebhookSender([receiver["url"]], on_failure=failures.append, retries=3, backoff=0.01)
    sender.send(EVENT)
    assert sender.flush(10)
    assert receiver["calls"] == 3 and len(receiver["bodies"]) == 1
    assert failures == [] and sender.delivered == 1


def test_unreachable_receiver_is_recorded_without_blocking(receiver):
    dead = f"http://127.0.0.1:{free_port()}/hook/T000/B000/XXXX"
    failures = []
    sender = WebhookSender([dead, receiver["url"]], on_failure=failures.append, retries=2, backoff=0.01, timeout=1)
    sender.send(EVENT)
    assert sender.flush(20)
    assert len(failures) == 1
    assert failures[0].attempts == 3 and failures[0].error == "ConnectionError"
    assert "XXXX" not in failures[0].url, "the secret part of a webhook URL is never recorded"
    assert len(receiver["bodies"]) == 1, "a dead receiver does not stop delivery to the others"


def test_redact_keeps_scheme_and_host_only():
    assert redact_url("https://hooks.slack.com/services/T0/B0/secret") == "https://hooks.slack.com/…"
    assert redact_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000/"
