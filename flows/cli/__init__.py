"""The ``cubeops`` command line.

Each command lives in its own module (``flows/cli/<command>.py``) exposing ``register(sub)``;
its heavy imports happen inside the handler, so ``cubeops --help`` is instant.
"""

import argparse
import importlib
import sys
from collections.abc import Sequence

from flows.errors import SpecError, UserError

COMMANDS: tuple[str, ...] = (
    "init",
    "validate",
    "run",
    "schedule",
    "serve",
    "registry",
    "status",
    "token",
    "badges",
    "readme",
    "dashboard",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="cubeops",
        description="Take a language model from a team's text data to a served model: "
        "prepare, fine-tune, register, deploy, and publish Data / Training / Serving badges.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMANDS:
        importlib.import_module(f"flows.cli.cmd_{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (2 for every user error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        result = args.handler(args)
    except SpecError as exc:
        for line in exc.lines():
            print(f"cubeops: error: {line}", file=sys.stderr)
        return exc.exit_code
    except UserError as exc:
        print(f"cubeops: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cubeops: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())
