"""One of several concurrent publishers: ``python -m tests.faults.publish_worker ...``.

Publishes ``--count`` states through the same :class:`status.publish.Publisher` the flows use,
to the local store (``--store URL``) or a status server (``--url URL``, token in
``CUBEOPS_STATUS_TOKEN``). A worker announces it is ready by creating ``--ready``, then waits for
``--go`` to exist, so every worker starts publishing at the same moment.
Publishing is strict: a failed publish is an error here, not a warning. Prints one JSON line:
how many were published, the failures, and the slowest publish.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from status.model import STAGES, STATES, ProjectInfo
from status.publish import LocalBackend, Publisher, RemoteBackend, TOKEN_ENV


def stage_of(worker: int, n: int) -> str:
    """Which stage a worker's ``n``-th publish goes to (every stage gets writes from every worker)."""
    return STAGES[(worker + n) % len(STAGES)]


def message_of(worker: int, n: int) -> str:
    """The message of a worker's ``n``-th publish: names the writer and the write."""
    return f"w{worker} #{n}"


def main() -> int:
    """Publish, then report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", required=True)
    parser.add_argument("--worker", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--ready", required=True)
    parser.add_argument("--go", required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--store")
    where.add_argument("--url")
    args = parser.parse_args()

    backend = LocalBackend(args.store) if args.store else RemoteBackend(args.url, os.environ[TOKEN_ENV])
    publisher = Publisher(ProjectInfo(args.project), backend, strict=True)
    failures, slowest = [], 0.0
    Path(args.ready).touch()
    while not os.path.exists(args.go):
        time.sleep(0.005)
    began = time.perf_counter()
    for n in range(args.count):
        stage = stage_of(args.worker, n)
        states = STATES[stage]
        t0 = time.perf_counter()
        try:
            publisher.publish(stage, states[n % len(states)], message_of(args.worker, n), details={"n": n})
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the run
            failures.append(f"{n}: {type(exc).__name__}: {exc}"[:300])
        slowest = max(slowest, time.perf_counter() - t0)
    print(json.dumps({
        "worker": args.worker,
        "published": args.count - len(failures),
        "failures": failures[:20],
        "slowest_s": round(slowest, 3),
        "seconds": round(time.perf_counter() - began, 3),
    }))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
