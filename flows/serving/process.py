"""The deployer's side of the local model server: pid files, logs, start, switch, stop.

Each server process has a pid file ``.cubeops/serving/server-<pid>.json`` (what it serves, its
ports, its log) and a log ``.cubeops/serving/v<version>-<stamp>.log``. Moving to a new version:

1. start the new server(s); each binds a private loopback port and loads the model;
2. check ``/health`` on the private port (and let the caller run a smoke test there);
3. switch: the new server joins the public port and steers new connections to itself;
4. stop the old server, which finishes its in-flight requests first.

Clients of ``serving.port`` see no failed request (see :mod:`flows.serving.sockets`). A server
that dies while starting is reported with the tail of its log; a port held by another process is
reported with that process and a free port to use instead.
"""

import fcntl
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from flows.errors import ServingError
from flows.layout import Layout
from flows.serving.settings import ServerSettings, settings_for
from flows.spec import ProjectSpec

log = logging.getLogger(__name__)

PID_GLOB = "server-*.json"
STOP_GRACE = 5.0
JOIN_TIMEOUT = 15.0
# After the switch, how long the old server keeps its socket: connections it accepted before the
# switch complete their handshake and get read; none arrive after it.
DRAIN_PAUSE = 0.3


@dataclass(frozen=True)
class ServerRecord:
    """One running server process, as its pid file records it."""

    pid: int
    create_time: float
    model_name: str
    version: str
    run_id: str | None
    data_digest: str | None
    host: str
    port: int
    private_port: int
    log: str
    settings: str
    started_at: float
    public: bool = False
    """True once it answers on the public port (a server still being checked is not)."""

    @property
    def url(self) -> str:
        """The public base URL."""
        return base_url(self.host, self.port)

    @property
    def private_url(self) -> str:
        """The private loopback URL (this process only)."""
        return f"http://127.0.0.1:{self.private_port}"


def base_url(host: str, port: int) -> str:
    """A URL clients on this machine can use for a server bound to ``host``."""
    if host in ("0.0.0.0", "", "*"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# -- pid files ---------------------------------------------------------------------------------


def pid_file(serving_dir: Path, pid: int) -> Path:
    """Where a server's pid file lives."""
    return serving_dir / f"server-{pid}.json"


def _write_record(serving_dir: Path, record: ServerRecord) -> None:
    path = pid_file(serving_dir, record.pid)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2), encoding="utf-8")
    tmp.replace(path)


def _forget(serving_dir: Path, record: ServerRecord) -> None:
    """Remove a stopped server's pid file and settings (its log stays, for the record)."""
    for path in (pid_file(serving_dir, record.pid), Path(record.settings), _state_path(Path(record.settings))):
        path.unlink(missing_ok=True)


def is_alive(pid: int, create_time: float | None = None) -> bool:
    """True when ``pid`` runs (not a zombie) and, given ``create_time``, is the same process."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(pid)
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 0.01
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _reap(pid: int) -> None:
    # A server this process started is its child; collect its exit status so it is not a zombie.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def live_servers(serving_dir: Path) -> list[ServerRecord]:
    """The servers whose processes still run, oldest first; pid files of dead ones are removed."""
    records = []
    for path in sorted(serving_dir.glob(PID_GLOB)) if serving_dir.is_dir() else []:
        try:
            record = ServerRecord(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if is_alive(record.pid, record.create_time):
            records.append(record)
        else:
            _forget(serving_dir, record)
    return sorted(records, key=lambda r: r.started_at)


@contextmanager
def serving_lock(serving_dir: Path) -> Iterator[None]:
    """One start/switch/stop at a time per project (released by the kernel if the holder dies)."""
    serving_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(serving_dir / "serving.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def log_tail(path: str | Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file (empty when it does not exist)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


# -- the port ----------------------------------------------------------------------------------


def _listeners() -> list[tuple[int, int | None]]:
    """(port, pid) of every listening TCP socket on this machine."""
    import psutil

    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return []
    return [(c.laddr.port, c.pid) for c in conns if c.status == psutil.CONN_LISTEN and c.laddr]


def port_holders(port: int) -> list[tuple[int | None, str]]:
    """Processes listening on TCP ``port``: (pid, a short description) each."""
    return [(pid, _describe(pid)) for p, pid in _listeners() if p == port]


def _describe(pid: int | None) -> str:
    import psutil

    if pid is None:
        return "a process this user cannot see"
    try:
        proc = psutil.Process(pid)
        cmd = " ".join(proc.cmdline()) or proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return f"pid {pid}"
    return f"pid {pid} ({cmd[:120]})"


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As the servers bind: a port left in TIME_WAIT by a stopped server is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def suggest_port(host: str, taken: int) -> int | None:
    """A port near ``taken`` that nothing listens on and that binds now."""
    busy = {p for p, _ in _listeners()}
    for port in list(range(taken + 1, min(taken + 200, 65536))) + list(range(max(1024, taken - 200), taken)):
        if port not in busy and _bindable(host, port):
            return port
    return None


def check_port(host: str, port: int, ours: set[int]) -> None:
    """Raise :class:`ServingError` when a process other than our servers listens on ``port``."""
    others = [(pid, what) for pid, what in port_holders(port) if pid not in ours]
    if not others and (ours or _bindable(host, port)):
        return
    who = others[0][1] if others else "another process"
    free = suggest_port(host, port)
    hint = f"set serving.port to a free port such as {free}" if free else "set serving.port to a free port"
    raise ServingError(f"port {port} is already in use by {who}; stop it or {hint} in cubeops.yaml")


# -- starting ----------------------------------------------------------------------------------


def serving_token(spec: ProjectSpec, environ: Mapping[str, str] | None = None) -> str | None:
    """The bearer token the servers require (None without ``serving.auth``); raises when it is unset."""
    if spec.serving.auth is None:
        return None
    env = os.environ if environ is None else environ
    name = spec.serving.auth.token_env
    token = env.get(name)
    if not token:
        raise ServingError(f"serving.auth is set, so the model server needs a bearer token, but {name} is not set; "
                           f"export {name}=<a long random secret> and share it with the server's clients")
    return token


def _state_path(settings_path: Path) -> Path:
    return settings_path.with_name(settings_path.name.replace(".settings.json", ".state.json"))


def _package_root() -> str:
    import flows

    return str(Path(flows.__file__).resolve().parent.parent)


def server_environment(layout: Layout, settings: ServerSettings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server process's environment: the project's tracking store, quiet libraries, cubeops importable."""
    from flows.runtime import configure_quiet_libraries

    env = dict(os.environ if environ is None else environ)
    env["MLFLOW_TRACKING_URI"] = layout.tracking_uri
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    # MLflow's own timeout sits behind ours; ours answers first, with a JSON error.
    env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] = str(int(settings.request_timeout) + 5)
    configure_quiet_libraries(env)
    return env


@dataclass
class Starting:
    """A server process launched but not yet serving publicly."""

    proc: subprocess.Popen
    settings: ServerSettings
    settings_path: Path
    log: Path
    record: ServerRecord | None = None


def launch(spec: ProjectSpec, layout: Layout, version: Any, steer_index: int, steer_count: int,
           environ: Mapping[str, str] | None = None) -> Starting:
    """Start a server process for ``version`` (a :class:`~registry.client.VersionInfo`); returns at once."""
    serving_dir = layout.serving_dir
    serving_dir.mkdir(parents=True, exist_ok=True)
    stem = f"v{version.version}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    settings_path = serving_dir / f"{stem}.settings.json"
    settings = settings_for(spec, version, _state_path(settings_path), steer_index, steer_count)
    settings.write(settings_path)
    log_path = serving_dir / f"{stem}.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flows.serving.server", str(settings_path)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=server_environment(layout, settings, environ), cwd=str(layout.root),
            start_new_session=True,
        )
    return Starting(proc, settings, settings_path, log_path)


def _died(starting: Starting, what: str) -> ServingError:
    tail = log_tail(starting.log)
    return ServingError(
        f"the model server for v{starting.settings.version} {what}; last lines of {starting.log}:\n{tail}"
        if tail else f"the model server for v{starting.settings.version} {what} (its log {starting.log} is empty)"
    )


def _get_json(url: str, token: str | None, timeout: float = 2.0) -> dict | None:
    import requests

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        resp = requests.get(url, headers=headers, timeout=timeout)
    except requests.RequestException:
        return None
    if resp.status_code != 200:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def wait_ready(serving_dir: Path, starting: Starting, token: str | None, timeout: float) -> ServerRecord:
    """Wait for the new server's private ``/health``; write its pid file. Raises with the log's tail if it dies."""
    import psutil

    deadline = time.monotonic() + timeout
    state_file = Path(starting.settings.state_file)
    while time.monotonic() < deadline:
        code = starting.proc.poll()
        if code is not None:
            raise _died(starting, f"exited with code {code} while starting")
        if state_file.exists():
            try:
                state = json.loads(state_file.read_text(encoding="utf-8"))
            except ValueError:
                state = {}
            port = state.get("private_port")
            health = _get_json(f"http://127.0.0.1:{port}/health", token) if port else None
            if health and health.get("pid") == starting.proc.pid:
                s = starting.settings
                record = ServerRecord(
                    pid=starting.proc.pid, create_time=psutil.Process(starting.proc.pid).create_time(),
                    model_name=s.model_name, version=s.version, run_id=s.run_id, data_digest=s.data_digest,
                    host=s.host, port=s.port, private_port=port, log=str(starting.log),
                    settings=str(starting.settings_path), started_at=time.time(),
                )
                _write_record(serving_dir, record)
                starting.record = record
                return record
        time.sleep(0.2)
    stop_process(starting.proc.pid)
    raise _died(starting, f"did not answer /health within {timeout:.0f}s and was stopped")


def start_servers(spec: ProjectSpec, layout: Layout, version: Any, steer_index: int, token: str | None,
                  timeout: float, environ: Mapping[str, str] | None = None) -> list[ServerRecord]:
    """Start ``serving.workers`` servers of ``version`` on private ports and wait until each is healthy."""
    count = spec.serving.workers
    started = [launch(spec, layout, version, steer_index, count, environ) for _ in range(count)]
    records = []
    try:
        for starting in started:
            records.append(wait_ready(layout.serving_dir, starting, token, timeout))
    except BaseException:
        for starting in started:
            stop_process(starting.proc.pid)
            if starting.record:
                _forget(layout.serving_dir, starting.record)
        raise
    return records


# -- switching and stopping --------------------------------------------------------------------


def go_public(records: list[ServerRecord], token: str | None, timeout: float = JOIN_TIMEOUT) -> None:
    """Tell the new servers to join the public port; wait until each says it has (or why it could not)."""
    for r in records:
        os.kill(r.pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    pending = {r.pid: r for r in records}
    while pending and time.monotonic() < deadline:
        for pid, r in list(pending.items()):
            health = _get_json(f"{r.private_url}/health", token) or {}
            state = str(health.get("public", ""))
            if state == "joined":
                del pending[pid]
            elif state.startswith("error"):
                raise ServingError(f"v{r.version} could not take over the public port: {state[6:].strip()}")
            elif not is_alive(r.pid, r.create_time):
                raise ServingError(f"the model server for v{r.version} died while switching; last lines of {r.log}:\n"
                                   f"{log_tail(r.log)}")
        if pending:
            time.sleep(0.05)
    if pending:
        raise ServingError(f"v{records[0].version} did not take over port {records[0].port} within {timeout:.0f}s")


def stop_process(pid: int, grace: float = STOP_GRACE, create_time: float | None = None) -> None:
    """SIGTERM the process group, wait ``grace`` seconds, then SIGKILL it."""
    import psutil

    if not is_alive(pid, create_time):
        _reap(pid)
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    try:
        proc = psutil.Process(pid)
        proc.wait(grace)
    except psutil.TimeoutExpired:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            psutil.Process(pid).wait(5)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            pass
    except psutil.NoSuchProcess:
        pass
    _reap(pid)


def stop_servers(serving_dir: Path, records: list[ServerRecord], grace: float = STOP_GRACE) -> None:
    """Stop servers (each finishes its in-flight requests within ``grace``) and remove their pid files."""
    for r in records:
        stop_process(r.pid, grace, r.create_time)
        _forget(serving_dir, r)


def switch_to(serving_dir: Path, new: list[ServerRecord], old: list[ServerRecord], token: str | None,
              grace: float = STOP_GRACE) -> list[ServerRecord]:
    """Make ``new`` the public servers, then stop ``old`` once they have finished their requests."""
    go_public(new, token)
    public = [replace(r, public=True) for r in new]
    for r in public:
        _write_record(serving_dir, r)
    if old:
        time.sleep(DRAIN_PAUSE)
        stop_servers(serving_dir, old, grace)
    return public


def roll_out(
    spec: ProjectSpec,
    layout: Layout,
    version: Any,
    token: str | None,
    check: Callable[[str], None] | None = None,
    timeout: float = 180.0,
    environ: Mapping[str, str] | None = None,
) -> list[ServerRecord]:
    """Serve ``version`` at the spec's port, replacing whatever cubeops serves there now.

    ``check(private_url)`` runs against a new server before it goes public; when it raises, the
    new servers are stopped, the old ones keep serving, and the error propagates.
    """
    serving_dir = layout.serving_dir
    host, port = spec.serving.host, spec.serving.port
    old = live_servers(serving_dir)
    check_port(host, port, {r.pid for r in old})
    grace = spec.serving.request_timeout.total_seconds() + STOP_GRACE
    # The new servers' place in the port's socket group: after the public servers already on it.
    sharing = len([r for r in old if r.public and (r.host, r.port) == (host, port)])
    new = start_servers(spec, layout, version, sharing, token, timeout, environ)
    try:
        if check is not None:
            check(new[0].private_url)
        return switch_to(serving_dir, new, old, token, grace)
    except BaseException:
        stop_servers(serving_dir, new)
        raise


def serving_now(serving_dir: Path, host: str, port: int) -> str | None:
    """The version every public server at ``host:port`` serves, or None (nothing there, or a mix)."""
    versions = {r.version for r in live_servers(serving_dir) if r.public and (r.host, r.port) == (host, port)}
    return versions.pop() if len(versions) == 1 else None
