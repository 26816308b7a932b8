"""Model server abuse: the server the full run deployed, hit by 32 concurrent hostile clients.

Malformed and deeply nested JSON, bodies that are not UTF-8, oversize prompts and bodies,
``max_new_tokens`` (and its aliases) over the cap or of the wrong type, wrong methods, content
types and credentials, mixed with valid requests. Every answer is 2xx or 4xx with a JSON error
and no stack trace; ``/health`` keeps answering throughout, and the same process serves after.
"""

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests

pytestmark = pytest.mark.faults

CLIENTS = 32
ROUNDS = 2
MAX_PROMPT = 200
MAX_NEW = 16
VALID = {"inputs": ["The data team"], "params": {"max_new_tokens": 2}}


def _nested(depth: int) -> bytes:
    return b'{"inputs": ' + b"[" * depth + b'"x"' + b"]" * depth + b"}"


def abuse_cases() -> list[tuple[str, str, str, bytes, dict]]:
    """(name, method, path, body, headers) of every abusive request, plus valid ones among them."""
    js = {"Content-Type": "application/json"}
    inv = "/invocations"
    cases = [
        ("syntax error", "POST", inv, b'{"inputs": ["x"]', js),
        ("single quotes", "POST", inv, b"{'inputs': ['x']}", js),
        ("trailing garbage", "POST", inv, b'{"inputs": ["x"]} }}}', js),
        ("not UTF-8", "POST", inv, b'{"inputs": ["\xff\xfe"]}', js),
        ("empty body", "POST", inv, b"", js),
        ("null", "POST", inv, b"null", js),
        ("a list", "POST", inv, b'[{"inputs": ["x"]}]', js),
        ("a string", "POST", inv, b'"The data team"', js),
        ("NaN", "POST", inv, b'{"inputs": NaN}', js),
        ("nested 40", "POST", inv, _nested(40), js),
        ("nested 900", "POST", inv, _nested(900), js),
        ("nested 100000", "POST", inv, _nested(100_000), js),
        ("prompt over the cap", "POST", inv, json.dumps({"inputs": ["x" * (MAX_PROMPT + 1)]}).encode(), js),
        ("prompt far over the cap", "POST", inv, json.dumps({"inputs": ["y" * 100_000]}).encode(), js),
        ("long prompt in instances", "POST", inv, json.dumps({"instances": ["z" * 1000]}).encode(), js),
        ("long prompt in a dataframe", "POST", inv,
         json.dumps({"dataframe_split": {"columns": ["p"], "data": [["w" * 5000]]}}).encode(), js),
        ("long prompt as CSV", "POST", inv, b"prompt\n" + b"v" * 5000 + b"\n", {"Content-Type": "text/csv"}),
        ("body over the limit", "POST", inv, b'{"inputs": ["' + b"a" * 3_000_000 + b'"]}', js),
        ("max_new_tokens over the cap", "POST", inv,
         json.dumps({"inputs": ["x"], "params": {"max_new_tokens": MAX_NEW + 1}}).encode(), js),
        ("max_new_tokens a billion", "POST", inv,
         json.dumps({"inputs": ["x"], "params": {"max_new_tokens": 10**9}}).encode(), js),
        ("max_new_tokens negative", "POST", inv, json.dumps({"inputs": ["x"], "params": {"max_new_tokens": -5}}).encode(), js),
        ("max_new_tokens text", "POST", inv, json.dumps({"inputs": ["x"], "params": {"max_new_tokens": "8"}}).encode(), js),
        ("max_new_tokens bool", "POST", inv, json.dumps({"inputs": ["x"], "params": {"max_new_tokens": True}}).encode(), js),
        ("max_new_tokens float", "POST", inv, json.dumps({"inputs": ["x"], "params": {"max_new_tokens": 2.5}}).encode(), js),
        ("max_tokens top level", "POST", inv, json.dumps({"prompt": "x", "max_tokens": 10_000}).encode(), js),
        ("max_length in params", "POST", inv, json.dumps({"inputs": ["x"], "params": {"max_length": 4096}}).encode(), js),
        ("params not an object", "POST", inv, json.dumps({"inputs": ["x"], "params": [1, 2]}).encode(), js),
        ("unknown param", "POST", inv, json.dumps({"inputs": ["x"], "params": {"temperature_x": 3}}).encode(), js),
        ("empty inputs", "POST", inv, json.dumps({"inputs": []}).encode(), js),
        ("number inputs", "POST", inv, json.dumps({"inputs": [1, 2, 3]}).encode(), js),
        ("no inputs", "POST", inv, json.dumps({"foo": "bar"}).encode(), js),
        ("wrong content type", "POST", inv, json.dumps(VALID).encode(), {"Content-Type": "text/plain"}),
        ("no content type", "POST", inv, json.dumps(VALID).encode(), {}),
        ("form content type", "POST", inv, b"inputs=x", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("GET invocations", "GET", inv, b"", {}),
        ("DELETE health", "DELETE", "/health", b"", {}),
        ("unknown path", "GET", "/../../etc/passwd", b"", {}),
        ("admin path", "POST", "/admin", b"{}", js),
        ("valid", "POST", inv, json.dumps(VALID).encode(), js),
        ("valid unified", "POST", inv, json.dumps({"inputs": ["Our data"], "params": {"max_new_tokens": 3}}).encode(), js),
    ]
    return cases


def _send(session: requests.Session, base: str, token: str, case, auth: str) -> tuple[str, int, str]:
    name, method, path, body, headers = case
    headers = dict(headers)
    if auth == "right":
        headers["Authorization"] = f"Bearer {token}"
    elif auth == "wrong":
        headers["Authorization"] = f"Bearer {token[:-1]}x"
    r = session.request(method, base + path, data=body, headers=headers, timeout=120)
    return f"{name} (auth {auth})", r.status_code, r.text


def test_32_hostile_clients_get_only_2xx_or_4xx_and_health_keeps_answering(full_run, scenario):
    row = scenario("7 model server abuse")
    base, token = full_run.serving_url, full_run.secrets["CUBEOPS_SERVING_TOKEN"]
    first = requests.get(f"{base}/health", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert first.status_code == 200
    pid = first.json()["pid"]

    stop = threading.Event()
    health: list[tuple[int, float]] = []

    def watch_health() -> None:
        session = requests.Session()
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                code = session.get(f"{base}/health", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code
            except requests.RequestException:
                code = 0
            health.append((code, time.perf_counter() - t0))
            stop.wait(0.2)

    def client(k: int) -> list[tuple[str, int, str]]:
        rng = random.Random(k)
        session = requests.Session()
        cases = abuse_cases() * ROUNDS
        rng.shuffle(cases)
        # Most requests carry the right token; some none or a wrong one (always a 401).
        return [_send(session, base, token, c, rng.choice(["right"] * 8 + ["none", "wrong"])) for c in cases]

    watcher = threading.Thread(target=watch_health, daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [a for batch in pool.map(client, range(CLIENTS)) for a in batch]
    finally:
        stop.set()
        watcher.join(60)
    seconds = time.perf_counter() - started

    row.trials = len(answers)
    bad = [(what, code, text[:200]) for what, code, text in answers if not (200 <= code < 300 or 400 <= code < 500)]
    traces = [what for what, _, text in answers if "Traceback" in text or 'File "/' in text]
    not_json = [what for what, code, text in answers if code >= 400 and not text.lstrip().startswith("{")]
    row.passed = len(answers) - len(set(bad) | set(traces) | set(not_json))
    assert not bad, f"{len(bad)} answers outside 2xx/4xx: {bad[:10]}"
    assert not traces, f"stack traces in the answers to {traces[:10]}"
    assert not not_json, f"errors that are not JSON: {not_json[:10]}"
    refused = {what.split(" (auth")[0] for what, code, _ in answers if 400 <= code < 500 and "(auth right)" in what}
    for must_refuse in ("nested 100000", "prompt over the cap", "max_new_tokens over the cap", "body over the limit",
                        "syntax error", "not UTF-8", "max_tokens top level"):
        assert must_refuse in refused, f"{must_refuse!r} was accepted"
    assert all(code == 401 for what, code, _ in answers if "(auth wrong)" in what or "(auth none)" in what)
    valid = [code for what, code, _ in answers if what.startswith("valid") and "(auth right)" in what]
    assert valid and all(code == 200 for code in valid), "a valid request failed under abuse"

    assert health and all(code == 200 for code, _ in health), f"/health failed: {[h for h in health if h[0] != 200][:5]}"
    after = requests.get(f"{base}/health", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert after.status_code == 200 and after.json()["pid"] == pid and psutil.pid_exists(pid)
    ok = requests.post(f"{base}/invocations", json=VALID, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert ok.status_code == 200
    codes: dict[int, int] = {}
    for _, code, _ in answers:
        codes[code] = codes.get(code, 0) + 1
    row.figure = (
        f"{CLIENTS} clients, {len(answers)} requests in {seconds:.0f} s: "
        + ", ".join(f"{n}×{c}" for c, n in sorted(codes.items()))
        + f"; /health {len(health)}/{len(health)} ok (max {max(t for _, t in health):.2f} s); same pid after"
    )
