"""One run at a time per project: an OS file lock under ``.cubeops/locks/``.

The lock is released by the kernel when the process dies (even on SIGKILL), so a crashed run
never blocks the next one.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.errors import AlreadyRunning


@contextmanager
def project_lock(locks_dir: Path, project: str) -> Iterator[Path]:
    """Hold the project's run lock; raise :class:`AlreadyRunning` naming the holder when taken."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    path = locks_dir / (project.replace("/", "__") + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise AlreadyRunning(
                f"a run of {project} is already in progress (pid {holder}); wait for it or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
