"""Badge fuzzing: thousands of generated hostile requests against a real ``cubeops status serve``.

Path traversal, huge and double-encoded parameters, invalid UTF-8 (raw and percent-encoded),
injection strings, random and write-shaped tokens, odd methods, headers and bodies. The service
must answer every one with a status below 500, never show a stack trace or an internal path, and
still be healthy at the end with nothing alarming in its log.

Requests go over raw sockets, so bytes no HTTP library would send (a path that is not UTF-8)
reach the server as written.
"""

import http.client
import json
import socket
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from status.model import ProjectInfo, StatusUpdate
from status.store import StatusStore
from status.tokens import READ, WRITE, create_token
from tests.faults.conftest import child_env, cli, wait_until, write_spec
from tests.helpers import REPO, free_port, server_process, wait_http

pytestmark = pytest.mark.faults

PER_TEST = {"badge": 900, "alias": 450, "api": 350, "post": 400}
MIN_REQUESTS = 2000
FUZZ = settings(
    max_examples=100,  # set per test below
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
SENT = {"requests": 0, "4xx": 0, "2xx/3xx": 0, "5xx": 0}

# -- what the fuzzer sends -----------------------------------------------------------------------

TRAVERSAL = [
    "../", "..%2f", "%2e%2e%2f", "%2e%2e/", "..%5c", "..\\", "....//", "%252e%252e%252f", "..%252f", "%c0%ae%c0%ae/",
    "/etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2f", "%00", "%2500", ".", "..", "~root", "/proc/self/environ",
]
BAD_UTF8 = ["%ff", "%fe%ff", "%c3%28", "%ed%a0%80", "%f8%88%80%80%80", "%80", "%e2%82", "%c0%af", "%"]
INJECTION = [
    "<script>alert(1)</script>", "\"><svg onload=alert(1)>", "' OR '1'='1' --", "1; DROP TABLE events; --",
    "${jndi:ldap://127.0.0.1/x}", "{{7*7}}", "{% debug %}", "$(id)", "`id`", "; rm -rf /", "%0d%0aSet-Cookie:%20x=1",
    "\u202egnp.exe", "\u0000", "A" * 300, "%s%s%s%n", "../../../../../../windows/win.ini", "<!ENTITY x SYSTEM 'file:///'>",
]
UNICODE = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
KNOWN = ["acme/bot", "acme/secret", "acme", "acme/", "/bot", "acme/bot/extra", "a/b", ""]
STAGES = ["data", "train", "serving", "", "Data", "training", "x" * 50, "data.svg", "data%2f..", "..", "data/heartbeat"]
STYLES = ["flat", "flat-square", "plastic", "for-the-badge", "social", "FLAT", "", "x"]
FORMATS = ["svg", "json", "", "xml", "svg%00"]


def _pct(text: str) -> str:
    """Percent-encode as a careless client might (keeping what is already encoded)."""
    from urllib.parse import quote

    return quote(text, safe="%/=&?:+")


def _double(text: str) -> str:
    """Percent-encode twice."""
    return _pct(_pct(text)).replace("%", "%25")


def mostly(common, rare, tenths: int = 7):
    """``common`` in about ``tenths`` of ten draws, else ``rare`` (``one_of`` would weigh every branch
    of a nested ``one_of`` alike, and the hostile branches would drown the paths that reach deep code)."""
    return st.integers(0, 9).flatmap(lambda i: common if i < tenths else rare)


fragment = st.one_of(
    st.sampled_from(TRAVERSAL),
    st.sampled_from(BAD_UTF8),
    st.sampled_from(INJECTION).map(_pct),
    st.sampled_from(INJECTION).map(_double),
    UNICODE.map(_pct),
    st.integers(1, 20_000).map(lambda n: "x" * n),
    st.text("abcdef0123456789%./-_", max_size=30),
)
raw_fragment = st.one_of(
    fragment.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(min_size=1, max_size=12).map(lambda b: bytes(c for c in b if c > 0x20 and c not in b"#?% \x7f") or b"\xff"),
)


def _token_strategy(tokens: dict[str, str]):
    """Real tokens, near misses, random read- and write-shaped ones, junk."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return st.one_of(
        st.just("PUBLIC"),
        st.sampled_from(list(tokens.values())),
        st.sampled_from(list(tokens.values())).map(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B")),
        st.text(alphabet, min_size=43, max_size=43).map(lambda s: "cubr_" + s),
        st.text(alphabet, min_size=43, max_size=43).map(lambda s: "cubw_" + s),
        fragment,
        st.just(""),
    )


def query_strategy(tokens: dict[str, str]):
    """Query strings of known and unknown parameters, duplicated, hostile or plain."""
    names = st.sampled_from(["repositoryOwnerPlusName", "token", "style", "label", "format", "tab", "x", "", "token%00"])
    values = mostly(
        st.one_of(st.sampled_from(KNOWN), st.sampled_from(STYLES), st.sampled_from(FORMATS), _token_strategy(tokens)),
        fragment,
        tenths=6,
    )
    pair = st.tuples(names, values).map(lambda kv: f"{kv[0]}={kv[1]}" if kv[0] else kv[1])
    return st.lists(pair, max_size=7).map("&".join)


# -- a raw HTTP client -----------------------------------------------------------------------------


def send(port: int, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]] = (), body: bytes = b"") -> tuple[int, bytes]:
    """One request on its own connection, bytes as given; (status, body)."""
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    if body or method == b"POST":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock, method=method.decode("latin-1"))
        response.begin()
        data = response.read()
    SENT["requests"] += 1
    SENT["5xx" if response.status >= 500 else "4xx" if response.status >= 400 else "2xx/3xx"] += 1
    return response.status, data


# -- the server ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``cubeops status serve`` over a store with a public and a private project and their tokens."""
    root = tmp_path_factory.mktemp("fuzz-project")
    spec = write_spec(root, "project: acme/bot\nstatus:\n  heartbeat_ttl: 1h\n")
    store = StatusStore(f"sqlite:///{root / '.cubeops' / 'status.db'}")
    public, private = ProjectInfo("acme/bot"), ProjectInfo("acme/secret", visibility="private")
    store.publish(public, StatusUpdate("acme/bot", "data", "ready", "ready · 12k docs"))
    store.publish(public, StatusUpdate("acme/bot", "train", "training", "training · 40%"))
    store.publish(private, StatusUpdate("acme/secret", "serving", "live", "live · v3"))
    tokens = {
        "read": create_token(store, "acme/secret", READ, "badges")[1],
        "write": create_token(store, "acme/bot", WRITE, "ci")[1],
        "other-write": create_token(store, "acme/secret", WRITE, "ci")[1],
    }
    store.close()
    port = free_port()
    log = root / "status-server.log"
    cmd = cli("status", "serve", "-c", str(spec), "--port", str(port))
    with server_process(cmd, log, env=child_env(CUBEOPS_STATUS_POLL_S="0.2"), cwd=root) as proc:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
        yield {"port": port, "tokens": tokens, "log": log, "root": root, "proc": proc}


def _internal_markers(root: Path) -> list[bytes]:
    import sys
    import sysconfig

    return [
        b"Traceback", b'File "/', b"site-packages", str(REPO).encode(), str(root).encode(), b"sqlalchemy",
        sysconfig.get_paths()["stdlib"].encode(), sys.prefix.encode(), b"Internal Server Error",
    ]


def check(served: dict, row, status: int, body: bytes, what: str) -> None:
    """No 5xx; nothing of the server's insides in the body. Counts the request as a trial."""
    row.trial()
    assert status < 500, f"{status} for {what}: {body[:300]!r}"
    for marker in _internal_markers(served["root"]):
        assert marker not in body, f"{marker!r} in the answer to {what}: {body[:300]!r}"
    row.ok()


ROW = "5 badge fuzzing"


def _figure(row) -> None:
    row.figure = f"{SENT['requests']} requests: {SENT['2xx/3xx']} 2xx/3xx, {SENT['4xx']} 4xx, {SENT['5xx']} 5xx"


ACCEPTS = [b"image/svg+xml", b"application/json", b"*/*", b"text/html", b"application/json, image/*", b"\xff\xfe"]


def test_badge_requests(served, scenario):
    row = scenario(ROW)

    @settings(FUZZ, max_examples=PER_TEST["badge"])
    @given(
        method=st.sampled_from([b"GET", b"GET", b"GET", b"HEAD"]),
        stage=mostly(st.sampled_from(STAGES), fragment),
        query=query_strategy(served["tokens"]),
        raw=st.one_of(st.just(b""), raw_fragment),
        accept=st.one_of(st.none(), st.sampled_from(ACCEPTS)),
        etag=st.one_of(st.none(), st.just(b"*"), raw_fragment),
    )
    def one(method, stage, query, raw, accept, etag):
        target = f"/api/v1/cubes/status/{stage}?{query}".encode("utf-8", "surrogatepass") + raw
        headers = ([(b"Accept", accept)] if accept else []) + ([(b"If-None-Match", etag)] if etag else [])
        status, body = send(served["port"], method, target, headers)
        check(served, row, status, body, target[:200])
        if method == b"GET" and status == 200 and not (accept and b"json" in accept) and b"format=json" not in target:
            assert body.startswith(b"<svg"), f"an image request without an image: {body[:100]!r}"

    try:
        one()
    finally:
        _figure(row)


def test_alias_and_page_paths(served, scenario):
    row = scenario(ROW)

    @settings(FUZZ, max_examples=PER_TEST["alias"])
    @given(
        owner=mostly(st.sampled_from(["acme", "acme", "", "..", "%2e%2e"]), fragment),
        name=mostly(st.sampled_from(["bot", "secret", "..", ""]), fragment),
        file=mostly(st.sampled_from(["data.svg", "train.json", "serving.png", "..%2f..%2fetc%2fpasswd", ".svg"]), fragment),
        extra=st.one_of(st.just(b""), raw_fragment),
        query=query_strategy(served["tokens"]),
        page=st.booleans(),
        accept=st.one_of(st.none(), st.sampled_from(ACCEPTS)),
    )
    def one(owner, name, file, extra, query, page, accept):
        path = f"/{owner}/{name}" if page else f"/badge/{owner}/{name}/{file}"
        target = (path + "?" + query).encode("utf-8", "surrogatepass") + extra
        status, body = send(served["port"], b"GET", target, [(b"Accept", accept)] if accept else [])
        check(served, row, status, body, target[:200])

    try:
        one()
    finally:
        _figure(row)


def test_status_api_and_other_routes(served, scenario):
    row = scenario(ROW)

    @settings(FUZZ, max_examples=PER_TEST["api"])
    @given(
        method=st.sampled_from([b"GET", b"HEAD", b"OPTIONS", b"DELETE", b"PUT", b"PATCH", b"TRACE", b"FOO"]),
        route=st.sampled_from(["/api/v1/cubes/status", "/healthz", "/metrics", "/openapi.json", "/", "/api", "/api/v1/cubes"]),
        query=query_strategy(served["tokens"]),
        auth=st.one_of(
            st.none(),
            _token_strategy(served["tokens"]).map(lambda t: b"Bearer " + t.encode("utf-8", "surrogatepass")),
            st.binary(max_size=200).map(lambda b: bytes(c for c in b if c not in b"\r\n")),
            st.integers(100, 20_000).map(lambda n: b"Bearer " + b"x" * n),
        ),
    )
    def one(method, route, query, auth):
        target = f"{route}?{query}".encode("utf-8", "surrogatepass")
        status, body = send(served["port"], method, target, [(b"Authorization", auth)] if auth is not None else [])
        check(served, row, status, body, f"{method!r} {target[:200]!r}")

    try:
        one()
    finally:
        _figure(row)


def _nested(depth: int) -> bytes:
    return b'{"repositoryOwnerPlusName": "acme/bot", "details": ' + b"[" * depth + b"]" * depth + b"}"


def test_publish_and_heartbeat_bodies(served, scenario):
    row = scenario(ROW)
    tokens = served["tokens"]
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | UNICODE | st.sampled_from(INJECTION),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(UNICODE, children, max_size=4),
        max_leaves=20,
    )
    known_fields = st.fixed_dictionaries(
        {},
        optional={
            "repositoryOwnerPlusName": mostly(st.sampled_from(KNOWN), fragment),
            "state": mostly(st.sampled_from(["ready", "training", "live", "failed", "bogus"]), fragment),
            "message": st.one_of(UNICODE, st.integers(0, 5000).map(lambda n: "m" * n)),
            "links": json_values,
            "details": json_values,
            "visibility": st.sampled_from(["public", "private", "", None, 1]),
            "stale_after_s": st.one_of(st.floats(), st.integers(), st.text(max_size=5)),
            "heartbeat_ttl_s": st.one_of(st.floats(), st.integers(), st.none()),
            "webhooks": json_values,
        },
    )

    def encode(value) -> bytes:
        return json.dumps(value, allow_nan=True).encode()

    bodies = st.one_of(
        known_fields.map(encode),
        json_values.map(encode),
        st.binary(max_size=300),
        st.sampled_from([b"", b"{", b"null", b"[]", b'"x"', b"\xff\xfe{}", b'{"a":' * 50]),
        st.sampled_from([100, 500, 900, 2_000, 200_000]).map(_nested),
        st.integers(200_000, 400_000).map(lambda n: b'{"message": "' + b"x" * n + b'"}'),
    )

    @settings(FUZZ, max_examples=PER_TEST["post"])
    @given(
        stage=mostly(st.sampled_from(["data", "train", "serving", "nope"]), fragment, tenths=8),
        heartbeat=st.booleans(),
        body=bodies,
        auth=mostly(
            st.sampled_from([tokens["write"], tokens["read"], tokens["other-write"]]).map(lambda t: b"Bearer " + t.encode()),
            st.none() | _token_strategy(tokens).map(lambda t: b"Bearer " + t.encode("utf-8", "surrogatepass")),
            tenths=6,
        ),
        query=st.one_of(st.just(""), query_strategy(tokens)),
        content_type=st.sampled_from([b"application/json", b"text/plain", b"application/x-www-form-urlencoded", b""]),
    )
    def one(stage, heartbeat, body, auth, query, content_type):
        path = f"/api/v1/cubes/status/{stage}" + ("/heartbeat" if heartbeat else "") + (f"?{query}" if query else "")
        headers = [(b"Content-Type", content_type)] if content_type else []
        if auth is not None:
            headers.append((b"Authorization", auth))
        target = path.encode("utf-8", "surrogatepass")
        status, answer = send(served["port"], b"POST", target, headers, body)
        check(served, row, status, answer, f"POST {target[:120]!r} with {len(body)} bytes {body[:60]!r}")

    try:
        one()
    finally:
        _figure(row)


def test_the_server_survived_everything(served, scenario):
    """Last: enough requests went out, the service still answers, and its log shows no crash."""
    row = scenario(ROW)
    assert SENT["requests"] >= MIN_REQUESTS, f"only {SENT['requests']} requests were sent"
    assert served["proc"].poll() is None, "the status server exited"
    health = requests.get(f"http://127.0.0.1:{served['port']}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    badge = requests.get(f"http://127.0.0.1:{served['port']}/badge/acme/bot/data.json", timeout=10).json()
    assert badge["message"] == "ready · 12k docs"
    # Deep but parseable details (the fuzzer's write tokens may be revoked as leaked by now): stored,
    # then shown on the page and in the API without a crash.
    store = StatusStore(f"sqlite:///{served['root'] / '.cubeops' / 'status.db'}")
    _, fresh = create_token(store, "acme/bot", WRITE, "after-fuzzing")
    store.close()
    body = b'{"repositoryOwnerPlusName": "acme/bot", "state": "passing", "details": {"x": ' + b"[" * 800 + b"]" * 800 + b"}}"
    answers = []

    def publish() -> bool:
        answers.append(send(served["port"], b"POST", b"/api/v1/cubes/status/train",
                            [(b"Authorization", b"Bearer " + fresh.encode()), (b"Content-Type", b"application/json")], body))
        return answers[-1][0] == 200

    try:
        wait_until(publish, timeout=10, what="a publish with the new token")
    except AssertionError:
        raise AssertionError(f"the publish was refused: {answers[-1]}") from None
    for target in (b"/acme/bot?tab=Training", b"/api/v1/cubes/status?repositoryOwnerPlusName=acme/bot"):
        status, answer = send(served["port"], b"GET", target, [(b"Accept", b"text/html")])
        check(served, row, status, answer, target)
        assert status == 200, f"{target!r}: {status} {answer[:200]!r}"
    log = served["log"].read_text(encoding="utf-8", errors="replace")
    for alarm in ("Traceback", "badge request failed", "Exception in ASGI application", "Internal Server Error"):
        assert alarm not in log, f"{alarm!r} in the status server's log:\n{log[-3000:]}"
    _figure(row)
    row.figure += "; deep details shown; healthy after, clean log"
