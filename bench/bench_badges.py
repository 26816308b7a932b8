"""Badge throughput: the cubeops status server against shields' own renderer, measured in one run.

Three servers on loopback, each loaded in turn by ``wrk`` with 64 keep-alive connections:

* **cubeops** — ``cubeops status serve`` on a sqlite store, answering a *private* project's badge
  through the full path (query parsing, read-token check, state lookup, cached render);
* **badge-maker** — a minimal node http server that renders every request with shields'
  ``badge-maker`` (``bench/badge-maker/server.mjs``), the baseline;
* **nginx** — the same SVG as a static file, the ceiling (skipped, saying so, without nginx).

Prints req/s, p99 latency and errors of each, the ratio cubeops / badge-maker (goal ≥ 1.0, with
p99 ≤ 10 ms and no errors), and ``RESULT`` lines for ``bench/run_all.py``.

    python bench/bench_badges.py [--seconds 10] [--connections 64]

Needs ``wrk`` (Debian: ``apt-get install wrk``), ``node`` with ``npm install`` done in
``bench/badge-maker``, and optionally ``nginx`` (``apt-get install nginx-light``).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NODE_DIR = REPO / "bench" / "badge-maker"
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}) before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{url} answered {exc.code}") from None
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def start(cmd: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    out = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, seconds: int, connections: int) -> dict:
    """Warm up for 2 s, then measure; returns req/s, p99 (ms) and errors."""
    subprocess.run(["wrk", "-t1", f"-c{connections}", "-d2s", url], capture_output=True, check=True)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    return {"rps": rps, "p99_ms": _ms(*p99.groups()), "errors": errors}


def prepare_store(root: Path) -> tuple[Path, str]:
    """A project spec and a status store holding a private project with a read token."""
    from status.model import ProjectInfo, StatusUpdate
    from status.store import StatusStore
    from status.tokens import READ, create_token

    spec = root / "cubeops.yaml"
    spec.write_text("project: bench/badges\nvisibility: private\n", encoding="utf-8")
    store = StatusStore(f"sqlite:///{root / '.cubeops' / 'status.db'}").create()
    info = ProjectInfo("bench/badges", visibility="private")
    store.publish(info, StatusUpdate("bench/badges", "data", "ready", "ready"))
    store.publish(info, StatusUpdate("bench/badges", "train", "passing", "passing"))
    _, token = create_token(store, "bench/badges", READ, "bench")
    store.close()
    return spec, token


def start_nginx(root: Path, svg: bytes, port: int) -> subprocess.Popen | None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        return None
    # nginx's workers drop root privileges: the files must be world-readable.
    root.chmod(0o755)
    www = root / "www"
    www.mkdir(mode=0o755)
    (www / "data.svg").write_bytes(svg)
    (www / "data.svg").chmod(0o644)
    (root / "nginx-logs").mkdir()
    conf = root / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    types {{ image/svg+xml svg; }}
    client_body_temp_path {root}/nginx-logs; proxy_temp_path {root}/nginx-logs;
    fastcgi_temp_path {root}/nginx-logs; uwsgi_temp_path {root}/nginx-logs; scgi_temp_path {root}/nginx-logs;
    server {{
        listen 127.0.0.1:{port};
        location / {{ root {www}; add_header Cache-Control no-cache; etag on; }}
    }}
}}
""",
        encoding="utf-8",
    )
    return start([nginx, "-c", str(conf), "-p", str(root), "-g", "daemon off;"], root / "nginx.log")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk); cannot measure", file=sys.stderr)
        return 2
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "badge-maker").is_dir():
        print(f"the baseline needs node and `npm install` in {NODE_DIR}", file=sys.stderr)
        return 2

    results: dict[str, dict] = {}
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="bench-badges-") as tmp:
        root = Path(tmp)
        spec, token = prepare_store(root)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("CUBEOPS_STATUS_STORE", None)
        try:
            ours_port, node_port, nginx_port = free_port(), free_port(), free_port()
            ours = start(
                [sys.executable, "-m", "flows.cli", "status", "serve", "-c", str(spec), "--port", str(ours_port), "--no-access-log"],
                root / "cubeops.log",
                env,
            )
            procs.append(ours)
            node = start(["node", str(NODE_DIR / "server.mjs"), str(node_port)], root / "node.log")
            procs.append(node)
            ours_url = f"http://127.0.0.1:{ours_port}/api/v1/cubes/status/data?repositoryOwnerPlusName=bench/badges&token={token}"
            node_url = f"http://127.0.0.1:{node_port}/api/v1/cubes/status/data?label=data&message=ready&color=brightgreen"
            ours_svg = wait_http(ours_url, ours)
            node_svg = wait_http(node_url, node)
            if ours_svg != node_svg:
                print("warning: the two servers answer different SVGs", file=sys.stderr)
            if b"ready" not in ours_svg:
                raise RuntimeError("the cubeops server did not open the private badge with its read token")
            results["badge-maker (node, renders per request)"] = run_wrk(node_url, args.seconds, args.connections)
            results["cubeops status serve (token + state lookup)"] = run_wrk(ours_url, args.seconds, args.connections)
            nginx = start_nginx(root, ours_svg, nginx_port)
            if nginx is not None:
                procs.append(nginx)
                nginx_url = f"http://127.0.0.1:{nginx_port}/data.svg"
                wait_http(nginx_url, nginx)
                results["nginx static file (ceiling)"] = run_wrk(nginx_url, args.seconds, args.connections)
        finally:
            for proc in procs:
                stop(proc)

    print(f"\n{args.connections} keep-alive connections, {args.seconds} s each, wrk -t1, loopback, {os.cpu_count()} CPUs")
    print(f"{'server':<46} {'req/s':>10} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:<46} {r['rps']:>10,.0f} {r['p99_ms']:>8.2f} {r['errors']:>7}")
    if "nginx static file (ceiling)" not in results:
        print("nginx static file (ceiling): nginx is not installed (apt-get install nginx-light); not measured")
    node_r = results["badge-maker (node, renders per request)"]
    ours_r = results["cubeops status serve (token + state lookup)"]
    ratio = ours_r["rps"] / node_r["rps"]
    ok = ratio >= 1.0 and ours_r["p99_ms"] <= 10.0 and ours_r["errors"] == 0
    print(f"ratio cubeops / badge-maker: {ratio:.2f} (goal >= 1.0); cubeops p99 {ours_r['p99_ms']:.2f} ms (goal <= 10)")
    rows = [
        {"benchmark": "badge req/s vs badge-maker (64 conns)", "cubeops": round(ours_r["rps"]), "baseline": round(node_r["rps"]),
         "unit": "req/s", "ratio": round(ratio, 3), "goal": ">=1.0", "ok": ok},
        {"benchmark": "badge p99 latency", "cubeops": ours_r["p99_ms"], "baseline": node_r["p99_ms"], "unit": "ms",
         "ratio": round(ours_r["p99_ms"] / node_r["p99_ms"], 3) if node_r["p99_ms"] else None, "goal": "<=10ms",
         "ok": ours_r["p99_ms"] <= 10.0},
    ]
    nginx_r = results.get("nginx static file (ceiling)")
    if nginx_r:
        rows.append({"benchmark": "badge req/s vs nginx static (ceiling)", "cubeops": round(ours_r["rps"]),
                     "baseline": round(nginx_r["rps"]), "unit": "req/s", "ratio": round(ours_r["rps"] / nginx_r["rps"], 3),
                     "goal": "info"})
    for row in rows:
        print("RESULT " + json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
