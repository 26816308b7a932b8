"""Model-server processes on a free loopback port: switching versions, and the ways starting fails."""

import os
import socket
import threading
import time

import pytest
import requests

from flows.errors import ServingError
from flows.serving.process import live_servers, roll_out
from registry.client import VersionInfo, get_version, registry_client
from tests.registry.builders import register_version


def _hammer(url: str, kind: str, stop: threading.Event, out: list) -> None:
    """Send requests one after another, each on a new connection, until told to stop."""
    while not stop.is_set():
        try:
            if kind == "health":
                r = requests.get(f"{url}/health", timeout=20)
                out.append((r.status_code, r.json().get("version")))
            else:
                body = {"inputs": ["The data team"], "params": {"max_new_tokens": 2}}
                r = requests.post(f"{url}/invocations", json=body, timeout=20)
                out.append((r.status_code, "invocation"))
        except requests.RequestException as exc:
            out.append((0, f"{type(exc).__name__}: {exc}"))
        # A steady stream, not a flood: the box is shared, and the new server has to load meanwhile.
        time.sleep(0.02)


def test_switching_versions_under_load_fails_no_request(project, saved_models, cleanup):
    for ppl in (30.0, 20.0):
        register_version(project, saved_models.tiny, ppl)
    client = registry_client(project.layout)
    (first,) = roll_out(project.spec, project.layout, get_version(client, project.name, "1"), None)
    assert requests.get(f"{first.url}/health", timeout=5).json()["version"] == "1"

    stop = threading.Event()
    seen: dict[str, list] = {"health-a": [], "health-b": [], "invoke": []}
    threads = [threading.Thread(target=_hammer, args=(first.url, k.split("-")[0], stop, out)) for k, out in seen.items()]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        (second,) = roll_out(project.spec, project.layout, get_version(client, project.name, "2"), None)
        # Let every client finish a few requests after the switch (however slow the machine is).
        counts = {k: len(v) for k, v in seen.items()}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(len(v) < counts[k] + 3 for k, v in seen.items()):
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(30)

    everything = [r for out in seen.values() for r in out]
    failed = [r for r in everything if r[0] != 200]
    assert not failed, f"{len(failed)} of {len(everything)} requests failed during the switch: {failed[:5]}"
    for name in ("health-a", "health-b"):
        versions = [v for _, v in seen[name]]
        assert versions[0] == "1" and versions[-1] == "2"
        # Once a client reached v2, every later connection reached v2.
        assert "1" not in versions[versions.index("2"):], name
    assert second.port == first.port and second.pid != first.pid
    assert not _alive(first.pid)
    assert [r.pid for r in live_servers(project.layout.serving_dir)] == [second.pid]


def _alive(pid: int) -> bool:
    from flows.serving.process import is_alive

    return is_alive(pid)


def test_a_server_that_dies_while_starting_shows_the_tail_of_its_log(project, cleanup):
    missing = VersionInfo(name="no-such-model", version="1", created=None, run_id=None, source="")
    with pytest.raises(ServingError) as info:
        roll_out(project.spec, project.layout, missing, None, timeout=120)
    message = str(info.value)
    assert "the model server for v1 exited with code 1 while starting; last lines of" in message
    # The server's own last words, not a traceback.
    assert message.endswith("cannot serve models:/no-such-model/1: Registered Model with name=no-such-model not found")
    assert "Traceback" not in message
    assert live_servers(project.layout.serving_dir) == []
    assert not list(project.layout.serving_dir.glob("server-*.json"))


def test_a_port_held_by_another_process_is_named_with_a_free_port_to_use(project):
    holder = socket.socket()
    holder.bind(("127.0.0.1", project.spec.serving.port))
    holder.listen()
    try:
        with pytest.raises(ServingError) as info:
            roll_out(project.spec, project.layout, VersionInfo("m", "1", None, None, ""), None)
    finally:
        holder.close()
    message = str(info.value)
    assert f"port {project.spec.serving.port} is already in use by pid {os.getpid()} (" in message
    assert "set serving.port to a free port such as " in message
    suggested = int(message.rsplit("such as ", 1)[1].split()[0])
    with socket.socket() as s:
        s.bind(("127.0.0.1", suggested))  # the suggestion is really free
    assert not project.layout.serving_dir.exists() or not list(project.layout.serving_dir.glob("*.log"))
