"""The shared public port: a new listener joins next to the old one and takes every new connection."""

import socket
import sys

import pytest

from flows.serving.sockets import shared_socket, steer
from tests.helpers import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="connection steering is Linux-only")


def _accepted(listeners: list[socket.socket], connections: int = 30) -> list[int]:
    """Open ``connections`` clients to the port; count how many each listener accepted."""
    port = listeners[0].getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(connections)]
    counts = []
    for sock in listeners:
        sock.settimeout(0.2)
        n = 0
        while True:
            try:
                conn, _ = sock.accept()
            except (TimeoutError, BlockingIOError):
                break
            conn.close()
            n += 1
        counts.append(n)
    for c in clients:
        c.close()
    return counts


def test_the_newest_listener_takes_every_new_connection_and_survives_the_old_one():
    port = free_port()
    old = shared_socket("127.0.0.1", port)
    new = shared_socket("127.0.0.1", port)
    try:
        assert steer(new, 1)
        assert _accepted([old, new]) == [0, 30]
        old.close()  # the old server leaves; the port keeps answering
        assert _accepted([new]) == [30]
        newer = shared_socket("127.0.0.1", port)  # the next deploy joins at index 1 and is steered to at once
        try:
            assert _accepted([new, newer]) == [0, 30]
        finally:
            newer.close()
    finally:
        old.close()
        new.close()


def test_several_new_workers_share_the_new_connections():
    port = free_port()
    old, a, b = (shared_socket("127.0.0.1", port) for _ in range(3))
    try:
        assert steer(a, 1, count=2)
        counts = _accepted([old, a, b], connections=60)
        assert counts[0] == 0 and counts[1] > 5 and counts[2] > 5 and sum(counts) == 60
    finally:
        for s in (old, a, b):
            s.close()
