"""Change notifications: one event per state change, from whoever recorded it; failures on the page."""

import time
from datetime import timedelta

import pytest
import requests

from flows.errors import SpecError
from flows.spec_loader import parse_spec
from status.model import ProjectInfo
from status.notify import Notifier
from status.publish import LocalBackend, Publisher, RemoteBackend
from status.store import StatusStore
from status.tokens import WRITE, create_token
from tests.helpers import free_port
from tests.status.real_run import Receiver, real_run, receiver, serving_store  # noqa: F401 - fixtures

HTML = {"Accept": "text/html"}


def _info(webhooks) -> ProjectInfo:
    return ProjectInfo("acme/bot", "public", timedelta(days=7), timedelta(minutes=2), webhooks=tuple(webhooks))


def test_the_real_run_announced_each_state_change_once(real_run):  # noqa: F811
    hook = real_run.receiver
    hook.wait_for(7)
    assert hook.events("data") == [(None, "preparing"), ("preparing", "ready")]
    assert hook.events("train") == [(None, "queued"), ("queued", "training"), ("training", "passing")]
    assert hook.events("serving") == [(None, "deploying"), ("deploying", "live")]
    passing = next(b for b in hook.bodies if b["state"] == "passing")
    assert passing["project"] == "acme/notes" and passing["event"] == "cubeops.status.changed"
    assert passing["text"].startswith("acme/notes · train: passing · ppl ") and passing["text"].endswith("(was training)")
    assert passing["links"]["mlflow_run"].startswith("http")


def test_progress_within_a_state_sends_nothing_and_failed_deliveries_show_on_the_page(receiver, store_url):  # noqa: F811
    dead = f"http://127.0.0.1:{free_port()}/hooks/T0001/dead-secret"
    notifier = Notifier(StatusStore(store_url), retries=2, backoff=0.01, timeout=2)
    pub = Publisher(_info([receiver.url, dead]), LocalBackend(store_url), notifier=notifier)
    for pct in (0, 25, 50, 75):
        assert pub.publish("train", "training", f"training · {pct}%", details={"step": pct})
    assert pub.publish("train", "passing", "passing · ppl 12.0")
    assert pub.close(20)
    assert receiver.events("train") == [(None, "training"), ("training", "passing")]
    store = StatusStore(store_url)
    failures = store.webhook_failures("acme/bot")
    assert [(f.previous_state, f.state, f.attempts, f.error) for f in failures] == [
        ("training", "passing", 3, "ConnectionError"),
        (None, "training", 3, "ConnectionError"),
    ]
    assert all("dead-secret" not in f.url for f in failures)
    with serving_store(store_url) as served:
        page = requests.get(f"{served.url}/acme/bot", headers=HTML, timeout=10).text
    notes = page[page.index('<section id="notifications">'):]
    assert "2 webhook(s)" in notes and "Failed deliveries" in notes
    assert "training → passing" in notes and "ConnectionError" in notes
    assert "s3cr3t-path" not in page and "dead-secret" not in page, "webhook paths are secrets"
    store.close()


def test_a_receiver_failing_twice_gets_the_event_on_the_third_try(receiver, store_url):  # noqa: F811
    receiver.fail_first = 2
    pub = Publisher(_info([receiver.url]), LocalBackend(store_url), notifier=Notifier(StatusStore(store_url), backoff=0.01))
    pub.publish("data", "ready", "ready · 3 docs")
    assert pub.close(20)
    assert receiver.calls == 3 and receiver.events("data") == [(None, "ready")]
    assert StatusStore(store_url).webhook_failures("acme/bot") == []


def test_a_receiver_that_times_out_never_blocks_publishing(receiver, store_url):  # noqa: F811
    receiver.hold.clear()  # the receiver answers nothing until released
    notifier = Notifier(StatusStore(store_url), retries=1, backoff=0.01, timeout=0.3)
    pub = Publisher(_info([receiver.url]), LocalBackend(store_url), notifier=notifier)
    assert pub.publish("serving", "deploying", "deploying · v2")
    assert pub.publish("serving", "live", "live · v2")
    # Both publishes returned while the receiver still sits on the first request.
    assert receiver.arrived.wait(10) and receiver.bodies == []
    assert pub.close(20)
    receiver.hold.set()
    failures = StatusStore(store_url).webhook_failures("acme/bot")
    assert [(f.state, f.attempts, f.error) for f in failures] == [("live", 2, "ReadTimeout"), ("deploying", 2, "ReadTimeout")]
    assert StatusStore(store_url).current("acme/bot")["serving"].state == "live"


def test_publisher_for_a_spec_with_webhooks_announces_changes(receiver, tmp_path):  # noqa: F811
    from flows.layout import resolve_layout
    from status.publish import publisher_for

    spec = parse_spec(f"project: acme/bot\nstatus:\n  webhooks: ['{receiver.url}']\n")
    pub = publisher_for(spec, resolve_layout(spec, tmp_path, environ={}), environ={})
    pub.publish("data", "preparing")
    pub.publish("data", "failed", "failed · no documents", details={"error": "no documents"})
    assert pub.close(20)
    assert receiver.events("data") == [(None, "preparing"), ("preparing", "failed")]
    assert receiver.bodies[1]["text"] == "acme/bot · data: failed · no documents (was preparing)"
    quiet_spec = parse_spec("project: acme/quiet\n")
    quiet = publisher_for(quiet_spec, resolve_layout(quiet_spec, tmp_path, environ={}), environ={})
    assert quiet.notifier is None and quiet.close(0.1)


def test_a_webhook_that_is_not_http_is_a_spec_error():
    with pytest.raises(SpecError, match="webhook 'ftp://hooks.example.com/x' must start with http:// or https://"):
        parse_spec("project: acme/bot\nstatus:\n  webhooks: ['ftp://hooks.example.com/x']\n")


def test_the_status_server_announces_remote_publishes_and_what_its_probe_finds(receiver, status_store, store_url, make_served):  # noqa: F811
    _, write = create_token(status_store, "acme/bot", WRITE, "ci")
    served = make_served(probe_every=0.2)
    remote = Publisher(_info([receiver.url]), RemoteBackend(served.url, write))
    assert remote.notifier is None, "the server announces remote publishes, not the flow"
    remote.publish("data", "preparing")
    remote.publish("data", "preparing", "preparing · 40%")
    remote.publish("data", "ready", "ready · 3 docs")
    # Serving at a port where nothing listens: the server's probe finds it down.
    remote.publish("serving", "live", "live · v1", details={"url": f"http://127.0.0.1:{free_port()}", "version": "1"})
    receiver.wait_for(4)
    assert receiver.events("data") == [(None, "preparing"), ("preparing", "ready")]
    assert receiver.events("serving") == [(None, "live"), ("live", "down")]
    assert status_store.webhooks("acme/bot") == [receiver.url]
    bad = requests.post(
        f"{served.url}/api/v1/cubes/status/data",
        json={"repositoryOwnerPlusName": "acme/bot", "state": "ready", "webhooks": ["file:///etc/passwd"]},
        headers={"Authorization": f"Bearer {write}"},
        timeout=10,
    )
    assert bad.status_code == 422 and bad.json()["error"].startswith("webhooks: must be a list")
    time.sleep(0.3)
    assert len(receiver.bodies) == 4, "a refused publish announces nothing"
