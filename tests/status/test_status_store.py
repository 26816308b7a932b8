"""The status store: current state + append-only history, on sqlite (WAL) and PostgreSQL."""

import multiprocessing as mp
from datetime import timedelta

import pytest

from status.model import ProjectInfo, StatusUpdate, effective_status, utcnow
from status.store import StatusStore

INFO = ProjectInfo("acme/bot", "public", timedelta(days=7), timedelta(minutes=2))


def test_publish_sets_current_and_appends_history(any_store):
    any_store.publish(INFO, StatusUpdate("acme/bot", "data", "preparing", "preparing · 2 sources"))
    any_store.publish(INFO, StatusUpdate("acme/bot", "data", "ready", "ready · 12.4k docs", {"mlflow": "r1"}, {"docs": 12400}))
    any_store.publish(INFO, StatusUpdate("acme/bot", "train", "queued"))
    cur = any_store.current("acme/bot")
    assert cur["data"].state == "ready"
    assert cur["data"].text == "ready · 12.4k docs"
    assert cur["data"].links == {"mlflow": "r1"} and cur["data"].details == {"docs": 12400}
    assert cur["train"].text == "queued"
    hist = any_store.history("acme/bot")
    assert [h.state for h in hist] == ["queued", "ready", "preparing"]
    assert any_store.count_events("acme/bot") == 3
    assert any_store.project("acme/bot").visibility == "public"
    assert any_store.project("nobody/none") is None


def test_project_settings_follow_the_latest_publish(any_store):
    any_store.publish(INFO, StatusUpdate("acme/bot", "data", "ready"))
    private = ProjectInfo("acme/bot", "private", timedelta(hours=1), timedelta(seconds=30))
    any_store.publish(private, StatusUpdate("acme/bot", "data", "ready"))
    info = any_store.project("acme/bot")
    assert info.visibility == "private" and info.stale_after == timedelta(hours=1)
    assert any_store.project_names() == ["acme/bot"]


def test_unknown_state_is_refused_before_it_reaches_the_store():
    with pytest.raises(ValueError, match="unknown train state 'ready'"):
        StatusUpdate("acme/bot", "train", "ready")
    with pytest.raises(ValueError, match="unknown stage"):
        StatusUpdate("acme/bot", "deploy", "live")


def test_heartbeat_keeps_training_from_reading_stalled(any_store):
    t0 = utcnow()
    any_store.publish(INFO, StatusUpdate("acme/bot", "train", "training", "training · 10%"), now=t0)
    later = t0 + timedelta(minutes=5)
    stalled = effective_status(any_store.current("acme/bot")["train"], INFO, later)
    assert stalled.state == "stalled" and stalled.text.startswith("stalled · no heartbeat for 5m")
    assert any_store.heartbeat("acme/bot", "train", now=later - timedelta(seconds=10))
    fresh = effective_status(any_store.current("acme/bot")["train"], INFO, later)
    assert fresh.state == "training"
    assert any_store.count_events("acme/bot") == 1, "a heartbeat adds no history"


def test_ready_data_goes_stale_after_the_spec_period(any_store):
    t0 = utcnow()
    any_store.publish(INFO, StatusUpdate("acme/bot", "data", "ready", "ready · 3 docs"), now=t0)
    cur = any_store.current("acme/bot")["data"]
    assert effective_status(cur, INFO, t0 + timedelta(days=6)).state == "ready"
    stale = effective_status(cur, INFO, t0 + timedelta(days=8))
    assert stale.state == "stale" and stale.color == "yellow" and stale.text == "stale · 8d old"


def _hammer(url: str, worker: int, n: int) -> None:
    s = StatusStore(url)
    for i in range(n):
        stage = ("data", "train", "serving")[i % 3]
        state = {"data": "ready", "train": "passing", "serving": "live"}[stage]
        s.publish(INFO, StatusUpdate("acme/bot", stage, state, f"{state} · w{worker} i{i}"))
    s.close()


def test_concurrent_publishers_from_several_processes_lose_nothing(any_store):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(any_store.url, w, 60)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert any_store.count_events("acme/bot") == 240
    # Each stage ends on the last event written for it.
    for stage, cur in any_store.current("acme/bot").items():
        last = any_store.history("acme/bot", stage=stage, limit=1)[0]
        assert cur.event_id == last.event_id and cur.text == last.text
