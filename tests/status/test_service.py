"""The status service over real HTTP: badges, caching headers, access rules, publishing, bad input."""

import json
import time
import xml.etree.ElementTree as ET
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import pytest
import requests

from status.badge import render_badge
from status.model import ProjectInfo, StatusUpdate
from status.tokens import READ, WRITE, create_token, list_tokens, revoke_token
from tests.status.conftest import PRIVATE_INFO, PUBLIC_INFO

SVG_TYPE = "image/svg+xml;charset=utf-8"


def _wait_for(predicate, timeout: float = 5.0, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def projects(status_store):
    """A public and a private project with a published data stage, and tokens for the private one."""
    status_store.publish(PUBLIC_INFO, StatusUpdate("acme/bot", "data", "ready", "ready · 12.4k docs"))
    status_store.publish(PUBLIC_INFO, StatusUpdate("acme/bot", "train", "training", "training · step 40/200"))
    status_store.publish(PRIVATE_INFO, StatusUpdate("acme/secret", "data", "ready", "ready · 3 docs"))
    _, read = create_token(status_store, "acme/secret", READ, "badges")
    _, revoked = create_token(status_store, "acme/secret", READ, "old")
    revoke_token(status_store, "acme/secret", "old")
    _, other = create_token(status_store, "acme/bot", READ, "bot-badges")
    _, write = create_token(status_store, "acme/bot", WRITE, "ci")
    return {"read": read, "revoked": revoked, "other": other, "write": write}


def test_public_badge_is_the_shields_svg_of_the_published_state(projects, make_served):
    served = make_served()
    r = requests.get(served.badge("data", "acme/bot"), timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"] == SVG_TYPE
    assert r.text == render_badge("data", "ready · 12.4k docs", "brightgreen")
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["etag"].startswith('"')
    assert parsedate_to_datetime(r.headers["last-modified"]).year >= 2024
    assert r.headers["link"] == '<https://status.example.com/acme/bot?tab=Dataset>; rel="related"'
    train = requests.get(served.badge("train", "acme/bot", style="for-the-badge", label="fine-tune"), timeout=5)
    assert train.text == render_badge("fine-tune", "training · step 40/200", "blue", style="for-the-badge")
    never = requests.get(served.badge("serving", "acme/bot"), timeout=5)
    assert never.text == render_badge("serving", "unknown", "lightgrey")


def test_etag_gives_304_until_the_state_changes(projects, status_store, make_served):
    served = make_served()
    url = served.badge("data", "acme/bot")
    first = requests.get(url, timeout=5)
    again = requests.get(url, headers={"If-None-Match": first.headers["etag"]}, timeout=5)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == "no-cache"
    weak = requests.get(url, headers={"If-None-Match": f'"x", W/{first.headers["etag"]}'}, timeout=5)
    assert weak.status_code == 304
    status_store.publish(PUBLIC_INFO, StatusUpdate("acme/bot", "data", "failed", "failed · no documents"))
    changed = _wait_for(lambda: (r := requests.get(url, headers={"If-None-Match": first.headers["etag"]}, timeout=5)).status_code == 200 and r)
    assert changed.text == render_badge("data", "failed · no documents", "red")
    assert changed.headers["etag"] != first.headers["etag"]


def test_head_answers_the_same_headers_without_a_body(projects, make_served):
    served = make_served()
    get = requests.get(served.badge("data", "acme/bot"), timeout=5)
    head = requests.head(served.badge("data", "acme/bot"), timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]


def test_private_badges_open_with_their_own_read_token_only(projects, make_served):
    served = make_served()
    shown = requests.get(served.badge("data", "acme/secret", projects["read"]), timeout=5)
    assert shown.text == render_badge("data", "ready · 3 docs", "brightgreen")
    for token in ("PUBLIC", None, projects["other"], projects["revoked"]):
        refused = requests.get(served.badge("data", "acme/secret", token), timeout=5)
        assert refused.status_code == 200
        assert refused.text == render_badge("data", "unknown", "lightgrey")
    # A public project opens whatever read token comes along.
    assert "12.4k docs" in requests.get(served.badge("data", "acme/bot", projects["read"]), timeout=5).text


def test_no_existence_oracle_every_refusal_is_the_same_badge_and_headers(projects, make_served):
    served = make_served()
    refusals = {
        "unknown project": served.badge("data", "ghost/none"),
        "private, no token": served.badge("data", "acme/secret"),
        "private, malformed token": served.badge("data", "acme/secret", "not a token!"),
        "private, revoked token": served.badge("data", "acme/secret", projects["revoked"]),
        "private, another project's token": served.badge("data", "acme/secret", projects["other"]),
        "unknown project, real token": served.badge("data", "ghost/none", projects["read"]),
    }
    answers = {}
    for case, url in refusals.items():
        r = requests.get(url, timeout=5)
        headers = {k.lower(): v for k, v in r.headers.items() if k.lower() != "date"}
        answers[case] = (r.status_code, headers, r.content)
    first = next(iter(answers.values()))
    for case, answer in answers.items():
        assert answer == first, f"{case} differs"
    assert first[0] == 200 and "link" not in first[1]
    # The same holds for the JSON forms.
    api = [requests.get(f"{served.url}/api/v1/cubes/status?repositoryOwnerPlusName={p}", timeout=5) for p in ("ghost/none", "acme/secret")]
    assert [r.status_code for r in api] == [404, 404] and api[0].content == api[1].content


def test_refusals_cost_the_same_and_no_badge_touches_the_database(projects, make_served):
    from sqlalchemy import event

    served = make_served(poll=3600)
    app = served.app
    queries = []
    event.listen(app.store.engine, "before_cursor_execute", lambda *a, **k: queries.append(1))
    time.sleep(0.3)  # let the reconciler's first pass finish
    queries.clear()
    urls = [served.badge("data", p, t) for p, t in [("acme/bot", "PUBLIC"), ("acme/secret", projects["read"]), ("ghost/none", "PUBLIC")]]
    with requests.Session() as session:
        for _ in range(50):
            for url in urls:
                assert session.get(url, timeout=5).status_code == 200
    assert queries == [], "a badge request reached the database"

    # In-process timing of the refusal paths, interleaved: no path is measurably slower.
    import asyncio

    cases = {
        "unknown": ("ghost/none", "PUBLIC"),
        "private": ("acme/secret", "PUBLIC"),
        "malformed": ("acme/secret", "zzz"),
        "revoked": ("acme/secret", projects["revoked"]),
    }

    async def send(message):
        pass

    async def receive():
        return {"type": "http.request"}

    def scope(project, token):
        query = f"repositoryOwnerPlusName={project}&token={quote(token)}".encode()
        return {"type": "http", "method": "GET", "path": "/api/v1/cubes/status/data", "query_string": query, "headers": []}

    async def measure():
        samples = {k: [] for k in cases}
        scopes = {k: scope(*v) for k, v in cases.items()}
        for _ in range(400):
            for name, sc in scopes.items():
                t = time.perf_counter()
                await app(sc, receive, send)
                samples[name].append(time.perf_counter() - t)
        return {k: sorted(v)[len(v) // 2] for k, v in samples.items()}

    medians = asyncio.run(measure())
    assert max(medians.values()) < 1.5 * min(medians.values()), medians


def test_a_write_token_in_a_url_is_revoked_at_once_and_the_badge_says_so(projects, status_store, make_served):
    served = make_served()
    leaked = requests.get(served.badge("data", "acme/bot", projects["write"]), timeout=5)
    assert leaked.status_code == 200
    assert leaked.text == render_badge("data", "token revoked", "red")
    # Refused for publishing straight away, before the store even records it.
    r = requests.post(
        f"{served.url}/api/v1/cubes/status/data",
        json={"repositoryOwnerPlusName": "acme/bot", "state": "ready"},
        headers={"Authorization": f"Bearer {projects['write']}"},
        timeout=5,
    )
    assert r.status_code == 401
    record = _wait_for(lambda: next((t for t in list_tokens(status_store, "acme/bot") if t.name == "ci" and not t.active), None))
    assert "leaked" in record.revoked_reason
    metrics = _wait_for(lambda: "cubeops_status_token_leaks_total 1" in (m := requests.get(f"{served.url}/metrics", timeout=5).text) and m)
    assert 'cubeops_status_tokens_used_total{scope="write"} 0' in metrics
    # A made-up write-shaped token reads exactly the same: the badge is no oracle for write tokens.
    fake = requests.get(served.badge("data", "acme/bot", "cubw_" + "A" * 43), timeout=5)
    assert fake.content == leaked.content


def test_a_publish_through_the_api_shows_in_the_badge_within_a_second(projects, make_served):
    served = make_served(poll=0.25)
    url = served.badge("serving", "acme/bot")
    t0 = time.monotonic()
    r = requests.post(
        f"{served.url}/api/v1/cubes/status/serving",
        json={
            "repositoryOwnerPlusName": "acme/bot",
            "state": "deploying",
            "message": "deploying v4",
            "links": {"mlflow": "http://mlflow/runs/1"},
            "details": {},
            "visibility": "public",
            "stale_after_s": 604800.0,
            "heartbeat_ttl_s": 120.0,
        },
        headers={"Authorization": f"Bearer {projects['write']}"},
        timeout=5,
    )
    assert r.status_code == 200 and r.json()["ok"] is True
    _wait_for(lambda: "deploying v4" in requests.get(url, timeout=5).text, timeout=1.0)
    assert time.monotonic() - t0 < 1.0


def test_a_publish_by_another_process_shows_in_the_badge_within_a_second(projects, store_url, make_served):
    from status.store import StatusStore

    served = make_served(poll=0.25)
    url = served.badge("train", "acme/bot")
    writer = StatusStore(store_url)  # a flow's own connection, not the server's
    try:
        t0 = time.monotonic()
        writer.publish(PUBLIC_INFO, StatusUpdate("acme/bot", "train", "passing", "passing · ppl 21.3"))
        _wait_for(lambda: "passing · ppl 21.3" in requests.get(url, timeout=5).text, timeout=1.0)
        assert time.monotonic() - t0 < 1.0
    finally:
        writer.close()


def test_the_remote_backend_publishes_and_beats_through_the_service(projects, make_served, status_store):
    from status.publish import Publisher, RemoteBackend

    served = make_served()
    publisher = Publisher(PUBLIC_INFO, RemoteBackend(served.url, projects["write"], retries=0), strict=True)
    assert publisher.publish("train", "training", "training · step 1/10", links={"prefect": "http://p/1"})
    before = status_store.current("acme/bot")["train"].heartbeat_at
    time.sleep(0.01)
    assert publisher.heartbeat("train")
    assert status_store.current("acme/bot")["train"].heartbeat_at > before
    assert "step 1/10" in requests.get(served.badge("train", "acme/bot"), timeout=5).text
    # A stage that never published has no heartbeat to refresh; a wrong token is refused.
    assert not Publisher(PUBLIC_INFO, RemoteBackend(served.url, projects["write"], retries=0)).heartbeat("serving")
    refused = Publisher(PUBLIC_INFO, RemoteBackend(served.url, projects["other"], retries=0))
    assert not refused.publish("data", "ready")
    assert "read token cannot publish" in refused.failures[0]


def test_a_first_publish_creates_the_project_with_its_visibility(status_store, make_served):
    _, write = create_token(status_store, "new/project", WRITE)
    served = make_served()
    body = {"repositoryOwnerPlusName": "new/project", "state": "preparing", "visibility": "private"}
    r = requests.post(f"{served.url}/api/v1/cubes/status/data", json=body, headers={"Authorization": f"Bearer {write}"}, timeout=5)
    assert r.status_code == 200
    assert status_store.project("new/project").visibility == "private"
    assert "unknown" in requests.get(served.badge("data", "new/project"), timeout=5).text


def test_status_api_lists_every_stage_with_messages_times_and_links(projects, make_served):
    served = make_served()
    r = requests.get(f"{served.url}/api/v1/cubes/status?repositoryOwnerPlusName=acme/bot", timeout=5)
    assert r.status_code == 200
    doc = r.json()
    assert doc["repositoryOwnerPlusName"] == "acme/bot" and doc["visibility"] == "public"
    assert set(doc["stages"]) == {"data", "train", "serving"}
    data = doc["stages"]["data"]
    assert data["state"] == "ready" and data["message"] == "ready · 12.4k docs" and data["color"] == "brightgreen"
    assert data["updatedAt"] and data["page"] == "https://status.example.com/acme/bot?tab=Dataset"
    assert doc["stages"]["serving"]["state"] == "unknown" and doc["stages"]["serving"]["updatedAt"] is None
    assert "details" not in data  # details may hold local paths; they stay on the server
    private = f"{served.url}/api/v1/cubes/status?repositoryOwnerPlusName=acme/secret"
    assert requests.get(private, timeout=5).status_code == 404
    assert requests.get(private + f"&token={projects['read']}", timeout=5).status_code == 200
    assert requests.get(private, headers={"Authorization": f"Bearer {projects['read']}"}, timeout=5).status_code == 200


def test_endpoint_json_by_parameter_by_accept_header_and_by_short_url(projects, make_served):
    served = make_served()
    expected = {"schemaVersion": 1, "label": "data", "message": "ready · 12.4k docs", "color": "brightgreen", "isError": False, "cacheSeconds": 300}
    by_param = requests.get(served.badge("data", "acme/bot", format="json"), timeout=5)
    by_accept = requests.get(served.badge("data", "acme/bot"), headers={"Accept": "application/json"}, timeout=5)
    short = requests.get(f"{served.url}/badge/acme/bot/data.json", timeout=5)
    for r in (by_param, by_accept, short):
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json() == expected
    svg = requests.get(f"{served.url}/badge/acme/bot/data.svg", timeout=5)
    assert svg.text == render_badge("data", "ready · 12.4k docs", "brightgreen")
    assert "unknown" in requests.get(f"{served.url}/badge/acme/secret/data.svg", timeout=5).text


BAD_IMAGE_REQUESTS = {
    "unknown stage": ("/api/v1/cubes/status/deploy?repositoryOwnerPlusName=acme/bot", "unknown stage"),
    "nested stage": ("/api/v1/cubes/status/data/heartbeat?repositoryOwnerPlusName=acme/bot", "unknown stage"),
    "unknown style": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot&style=round", "unknown style"),
    "missing project": ("/api/v1/cubes/status/data?token=PUBLIC", "missing repositoryOwnerPlusName"),
    "path traversal": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=../../etc/passwd", "bad repositoryOwnerPlusName"),
    "10 kB value": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=" + "a" * 10240, "query too long"),
    "control character": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot%00", "bad repositoryOwnerPlusName"),
    "newline": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot%0A", "bad repositoryOwnerPlusName"),
    "odd unicode": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/b%C3%B6t%E2%80%AE", "bad repositoryOwnerPlusName"),
    "not utf-8": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/%FF", "bad repositoryOwnerPlusName"),
    "duplicate project": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot&repositoryOwnerPlusName=x/y", "duplicate repositoryOwnerPlusName"),
    "duplicate token": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot&token=PUBLIC&token=PUBLIC", "duplicate token"),
    "label with bidi override": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot&label=%E2%80%AEevil", "bad label"),
    "long label": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot&label=" + "x" * 65, "bad label"),
    "unknown format": ("/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot&format=xml", "bad format"),
    "short url, bad shape": ("/badge/acme/data.svg", "bad badge path"),
    "short url, bad project": ("/badge/..%2F..%2Fetc/passwd/data.svg", "bad"),
}


@pytest.mark.parametrize("path, says", BAD_IMAGE_REQUESTS.values(), ids=BAD_IMAGE_REQUESTS.keys())
def test_bad_image_requests_get_a_clear_error_badge_with_status_200(projects, make_served, tmp_path, path, says):
    served = make_served()
    r = requests.get(served.url + path, timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"] == SVG_TYPE
    root = ET.fromstring(r.content)
    assert says in root.get("aria-label")
    assert 'fill="#dd4343"' in r.text  # red: an error, not a state
    for leak in ("Traceback", str(tmp_path), "/work/", "sqlite", "etc/passwd"):
        assert leak not in r.text


BAD_API_REQUESTS = [
    ("GET", "/api/v1/cubes/status/data?repositoryOwnerPlusName=../../etc/passwd&format=json", {}, None, 400),
    ("GET", "/api/v1/cubes/status/bogus?repositoryOwnerPlusName=acme/bot", {"Accept": "application/json"}, None, 404),
    ("GET", "/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot&token=a&token=b", {"Accept": "application/json"}, None, 400),
    ("GET", "/api/v1/cubes/status?repositoryOwnerPlusName=" + "a" * 10240, {}, None, 400),
    ("GET", "/api/v1/cubes/status?repositoryOwnerPlusName=acme%2Fbot%00", {}, None, 400),
    ("POST", "/api/v1/cubes/status/data", {}, {"repositoryOwnerPlusName": "acme/bot", "state": "ready"}, 401),
    ("POST", "/api/v1/cubes/status/bogus", {}, {}, 404),
    ("POST", "/api/v1/cubes/status/data", {"Authorization": "Bearer nonsense"}, {"repositoryOwnerPlusName": "acme/bot", "state": "ready"}, 401),
    ("POST", "/api/v1/cubes/status/data", "write", "{not json", 422),
    ("POST", "/api/v1/cubes/status/data", "write", ["a", "list"], 422),
    ("POST", "/api/v1/cubes/status/data", "write", {"repositoryOwnerPlusName": "acme/bot", "state": "flying"}, 422),
    ("POST", "/api/v1/cubes/status/data", "write", {"repositoryOwnerPlusName": "acme/bot", "state": "ready", "message": "a\x00b"}, 422),
    ("POST", "/api/v1/cubes/status/data", "write", {"repositoryOwnerPlusName": "acme/bot", "state": "ready", "visibility": "secret"}, 422),
    ("POST", "/api/v1/cubes/status/data", "write", {"repositoryOwnerPlusName": "acme/bot", "state": "ready", "stale_after_s": -1}, 422),
    ("POST", "/api/v1/cubes/status/data", "write", {"repositoryOwnerPlusName": "acme/bot", "state": "ready", "extra": 1}, 422),
    ("POST", "/api/v1/cubes/status/data", "write", {"repositoryOwnerPlusName": "acme/bot", "state": "ready", "details": {"x": "y" * 300_000}}, 413),
    ("POST", "/api/v1/cubes/status/data", "write", {"repositoryOwnerPlusName": "acme/other", "state": "ready"}, 403),
    ("POST", "/api/v1/cubes/status/data", "read", {"repositoryOwnerPlusName": "acme/bot", "state": "ready"}, 403),
    ("PUT", "/api/v1/cubes/status/data", {}, None, 405),
    ("GET", "/etc/passwd", {}, None, 404),
]


@pytest.mark.parametrize("method, path, headers, body, code", BAD_API_REQUESTS)
def test_bad_api_requests_get_a_4xx_json_error(projects, make_served, tmp_path, method, path, headers, body, code):
    served = make_served()
    if headers == "write":
        headers = {"Authorization": f"Bearer {projects['write']}"}
    elif headers == "read":
        headers = {"Authorization": f"Bearer {projects['other']}"}
    data = body if isinstance(body, str) else (json.dumps(body) if body is not None else None)
    r = requests.request(method, served.url + path, headers={**headers, "Content-Type": "application/json"}, data=data, timeout=5)
    assert r.status_code == code, r.text
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert error and "Traceback" not in error and str(tmp_path) not in error and "/work/" not in error
    # Nothing was recorded by a refused publish.
    assert "flying" not in requests.get(served.badge("data", "acme/bot"), timeout=5).text


def test_healthz_metrics_and_openapi(projects, make_served):
    served = make_served()
    for _ in range(3):
        requests.get(served.badge("data", "acme/secret", projects["read"]), timeout=5)
    requests.get(served.badge("data", "acme/bot", style="nope"), timeout=5)
    health = requests.get(f"{served.url}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok" and health.json()["projects"] == 2
    metrics = requests.get(f"{served.url}/metrics", timeout=5)
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = dict(line.rsplit(" ", 1) for line in metrics.text.splitlines() if not line.startswith("#"))
    assert int(lines['cubeops_status_requests_total{route="badge",code="200"}']) == 4
    assert int(lines['cubeops_status_request_duration_seconds_count{route="badge"}']) == 4
    assert int(lines["cubeops_status_badge_cache_hits_total"]) == 2
    assert int(lines['cubeops_status_tokens_used_total{scope="read"}']) == 3
    assert lines["cubeops_status_projects"] == "2"
    spec = requests.get(f"{served.url}/openapi.json", timeout=5).json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/cubes/status/{stage}", "/api/v1/cubes/status", "/api/v1/cubes/status/{stage}/heartbeat"} <= set(spec["paths"])
    assert set(spec["paths"]["/api/v1/cubes/status/{stage}"]) == {"get", "post"}


def test_a_token_used_for_a_badge_records_its_last_use(projects, status_store, make_served):
    served = make_served()
    requests.get(served.badge("data", "acme/secret", projects["read"]), timeout=5)
    used = _wait_for(lambda: next((t for t in list_tokens(status_store, "acme/secret") if t.name == "badges" and t.last_used_at), None))
    assert used.last_used_at is not None


def test_time_alone_turns_a_badge_stale_without_any_publish(status_store, make_served):
    from datetime import datetime, timezone

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    clock = [t0]
    info = ProjectInfo("acme/bot", "public", timedelta(hours=1), timedelta(minutes=2))
    status_store.publish(info, StatusUpdate("acme/bot", "data", "ready", "ready · 5 docs"), now=t0)
    served = make_served(clock=lambda: clock[0])
    url = served.badge("data", "acme/bot")
    assert "ready · 5 docs" in requests.get(url, timeout=5).text
    clock[0] = t0 + timedelta(hours=3)
    stale = _wait_for(lambda: "stale" in (r := requests.get(url, timeout=5)).text and r)
    assert stale.text == render_badge("data", "stale · 3h old", "yellow")
    assert parsedate_to_datetime(stale.headers["last-modified"]) == t0 + timedelta(hours=1)


def test_the_service_runs_on_a_postgresql_store(postgres_url):
    from status.app import create_app
    from status.reconciler import ReconcilerSettings
    from status.settings import StatusSettings
    from status.store import StatusStore
    from tests.status.conftest import serve_app

    writer = StatusStore(postgres_url).create()
    try:
        _, write = create_token(writer, "acme/bot", WRITE)
        settings = StatusSettings(store_url=postgres_url, reconciler=ReconcilerSettings(poll_interval=0.25))
        with serve_app(create_app(settings)) as served:
            body = {"repositoryOwnerPlusName": "acme/bot", "state": "ready", "message": "ready · pg"}
            r = requests.post(f"{served.url}/api/v1/cubes/status/data", json=body, headers={"Authorization": f"Bearer {write}"}, timeout=5)
            assert r.status_code == 200
            assert "ready · pg" in requests.get(served.badge("data", "acme/bot"), timeout=5).text
            writer.publish(PUBLIC_INFO, StatusUpdate("acme/bot", "train", "queued", "queued · pg"))
            _wait_for(lambda: "queued · pg" in requests.get(served.badge("train", "acme/bot"), timeout=5).text, timeout=1.0)
        assert writer.current("acme/bot")["data"].message == "ready · pg"
    finally:
        writer.close()


@pytest.mark.parametrize("name", ["acme/bot", "a/b", "A-1/x.y_z", "acme/bot\n", "../x", "a/b/c", "acme/", "-a/b", "é/b", "a" * 101 + "/b"])
def test_badge_urls_accept_exactly_the_project_names_the_spec_accepts(name):
    from flows.spec import PROJECT_RE as SPEC_RE
    from status.params import PROJECT_RE

    spec_ok = bool(SPEC_RE.match(name)) and not name.endswith("\n")  # the spec reads YAML scalars, never a newline
    assert bool(PROJECT_RE.fullmatch(name)) == spec_ok
