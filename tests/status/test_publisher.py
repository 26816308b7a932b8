"""publish(): the local backend writes the store; a failing backend never stops a flow."""

import pytest

from flows.errors import StatusError
from flows.layout import resolve_layout
from flows.spec_loader import parse_spec
from status.publish import Publisher, publisher_for
from status.store import StatusStore


def test_local_publisher_writes_the_projects_store(tmp_path):
    spec = parse_spec("project: acme/bot\nvisibility: private\n")
    layout = resolve_layout(spec, tmp_path, environ={})
    pub = publisher_for(spec, layout, environ={})
    assert pub.publish("data", "ready", "ready · 3 docs")
    store = StatusStore(layout.status_store)
    assert store.current("acme/bot")["data"].text == "ready · 3 docs"
    assert store.project("acme/bot").visibility == "private"
    assert (tmp_path / ".cubeops" / "status.db").exists()


def test_remote_publishing_needs_a_write_token_from_the_environment(tmp_path):
    spec = parse_spec("project: acme/bot\nstatus:\n  url: http://127.0.0.1:9/\n")
    layout = resolve_layout(spec, tmp_path, environ={})
    with pytest.raises(StatusError, match="CUBEOPS_STATUS_TOKEN is not set"):
        publisher_for(spec, layout, environ={})


def test_unreachable_status_server_is_logged_not_raised(tmp_path, caplog):
    spec = parse_spec("project: acme/bot\nstatus:\n  url: http://127.0.0.1:9\n")
    layout = resolve_layout(spec, tmp_path, environ={})
    pub = publisher_for(spec, layout, environ={"CUBEOPS_STATUS_TOKEN": "w-secret"})
    pub.backend.session.adapters["http://"].max_retries.total = 0
    assert pub.publish("train", "training", "training · 5%") is False
    assert "unreachable" in pub.failures[0]
    assert "w-secret" not in caplog.text


def test_strict_publisher_raises(tmp_path):
    class Broken:
        def publish(self, info, update):
            raise StatusError("store is read-only")

        def heartbeat(self, project, stage):
            raise StatusError("store is read-only")

    from status.model import ProjectInfo

    pub = Publisher(ProjectInfo("acme/bot"), Broken(), strict=True)
    with pytest.raises(StatusError, match="read-only"):
        pub.publish("data", "failed", "failed · no files")
