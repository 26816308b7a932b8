"""``cubeops serve start|stop|status``: the local model server outside a pipeline run."""

import argparse

from flows.cli.common import command
from flows.errors import NotBuilt


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "serve", "start, stop or inspect the local model server of the champion")
    p.add_argument("action", choices=("start", "stop", "status"), help="what to do")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise NotBuilt("`cubeops serve` is not available in this release yet")
