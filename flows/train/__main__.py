"""``python -m flows.train``: the fine-tune flow alone, on a dataset already prepared.

    python -m flows.train -c cubeops.yaml --data .cubeops/data/<digest>/prepared.json [--force]

``--data`` is a :class:`~flows.contracts.PreparedData` as JSON; without it the flow prepares
(or reuses) the dataset itself. Exit code 2 on a user error, with one line on stderr.
"""

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from flows.errors import SpecError, UserError


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, configure the process, run ``fine-tune``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m flows.train", description="run the fine-tune flow")
    parser.add_argument("-c", "--config", default="cubeops.yaml", help="project spec (default: ./cubeops.yaml)")
    parser.add_argument("--data", help="PreparedData JSON of an already prepared dataset")
    parser.add_argument("--force", action="store_true", help="train again even when a version exists")
    # One rank of a multi-process run, launched by the fine-tune flow itself (flows.train.distributed).
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.worker:
            return _run_worker(Path(args.worker))
        return _run(args)
    except SpecError as exc:
        for line in exc.lines():
            print(f"cubeops: error: {line}", file=sys.stderr)
        return exc.exit_code
    except UserError as exc:
        print(f"cubeops: error: {exc}", file=sys.stderr)
        return exc.exit_code


class _UserErrorsWithoutTraceback(logging.Filter):
    """Prefect logs a failed run with its traceback; for a user error the one-line message is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], UserError):
            record.exc_info, record.exc_text = None, None
        return True


def _run(args: argparse.Namespace) -> int:
    from flows.contracts import PreparedData
    from flows.layout import resolve_layout
    from flows.runtime import configure_logging, configure_prefect, configure_quiet_libraries
    from flows.spec_loader import load_spec

    spec_path = Path(args.config)
    spec = load_spec(spec_path)
    root = spec_path.parent if spec_path.is_file() else spec_path
    layout = resolve_layout(spec, root)
    configure_quiet_libraries()
    configure_prefect(layout)
    configure_logging()
    data = None
    if args.data:
        try:
            data = PreparedData.model_validate(json.loads(Path(args.data).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise UserError(f"--data {args.data}: not a prepared-data JSON file ({exc})") from None
    from flows.train.flow import fine_tune

    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logging.getLogger(name).addFilter(_UserErrorsWithoutTraceback())
    result = fine_tune(spec=spec, root=str(layout.root), force=args.force, data=data)
    print(result.model_dump_json())
    return 0


def _run_worker(request: Path) -> int:
    from flows.runtime import configure_logging, configure_quiet_libraries
    from flows.train.worker import run_worker

    configure_quiet_libraries()
    configure_logging()
    return run_worker(request)


if __name__ == "__main__":
    sys.exit(main())
