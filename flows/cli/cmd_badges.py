"""``cubeops badges``: the Markdown of the three status badges for a README."""

import argparse

from flows.cli.common import command
from flows.errors import NotBuilt


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "badges", "print the Markdown of the Data, Training and Serving badges")
    p.add_argument("--project", help="OWNER/NAME (default: the spec's project)")
    p.add_argument("--token", help="name of a read token (private projects)")
    p.add_argument("--url", help="status server base URL (default: the spec's status.url)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise NotBuilt("`cubeops badges` is not available in this release yet")
