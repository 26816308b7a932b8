"""The public port, shared by the old and the new server during a switch, and steered to the new one.

Every cubeops server binds the public port with ``SO_REUSEPORT``, so a new server can listen
next to the old one. Linux would then spread new connections over both by a hash; instead the
joining server attaches a tiny classic-BPF program to the port's socket group that sends every
new connection to itself (``SO_ATTACH_REUSEPORT_CBPF``). From that instant the old server gets
no new connections, finishes the requests it has, and can be stopped without a single refused or
reset request. When the old socket leaves the group the program's index falls out of range and
the kernel falls back to its hash over the one remaining server; the next server to join steers
again, to itself.

Servers join in order, so a joiner's index in the group is the number of servers already there
(``steer_index``); ``steer_count`` servers joining together (``serving.workers``) share the new
connections at random.
"""

import ctypes
import logging
import socket
import struct
import sys

log = logging.getLogger("cubeops.serving")

SO_ATTACH_REUSEPORT_CBPF = 51  # linux/asm-generic/socket.h

# Classic BPF opcodes (linux/filter.h).
_LD_W_ABS, _ALU_MOD_K, _ALU_ADD_K, _RET_K, _RET_A = 0x20, 0x94, 0x04, 0x06, 0x16
_SKF_AD_RANDOM = (-0x1000 + 56) & 0xFFFFFFFF


def steering_program(index: int, count: int = 1) -> list[tuple[int, int, int, int]]:
    """BPF instructions choosing socket ``index`` (or one of ``index .. index+count-1`` at random)."""
    if count <= 1:
        return [(_RET_K, 0, 0, index)]
    return [(_LD_W_ABS, 0, 0, _SKF_AD_RANDOM), (_ALU_MOD_K, 0, 0, count), (_ALU_ADD_K, 0, 0, index), (_RET_A, 0, 0, 0)]


def steer(sock: socket.socket, index: int, count: int = 1) -> bool:
    """Send the group's new connections to ``index`` (.. ``index+count-1``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    insns = steering_program(index, count)
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in insns))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }, native alignment.
    fprog = struct.pack("HP", len(insns), ctypes.addressof(code))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)
    except OSError as exc:
        log.warning("cannot steer connections to the new server (%s); the port's hash will share them", exc)
        return False
    return True


def shared_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening socket on ``host:port`` that other cubeops servers can share (``SO_REUSEPORT``)."""
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(addr)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def private_socket() -> socket.socket:
    """A listening socket on a free loopback port: the deployer checks a new server here before it goes public."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock
