"""One run per project at a time, and a killed run never leaves the lock behind."""

import signal
import subprocess
import sys
import time

import pytest

from flows.errors import AlreadyRunning
from flows.lock import project_lock

HOLD = """
import sys, time
from pathlib import Path
from flows.lock import project_lock
with project_lock(Path(sys.argv[1]), "acme/bot"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_second_run_of_the_same_project_is_refused_naming_the_holder(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunning, match=f"pid {proc.pid}"):
            with project_lock(tmp_path, "acme/bot"):
                pass
        with project_lock(tmp_path, "acme/other"):
            pass  # another project is not blocked
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 5
        while True:
            try:
                with project_lock(tmp_path, "acme/bot"):
                    break
            except AlreadyRunning:
                assert time.monotonic() < deadline, "lock outlived a killed holder"
                time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
