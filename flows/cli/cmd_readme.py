"""``cubeops readme``: insert or update the badge block and model card in a README."""

import argparse

from flows.cli.common import command
from flows.errors import NotBuilt


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "readme", "insert or update the badges and model card block in README.md")
    p.add_argument("--write", metavar="README", help="update this file in place (default: print)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise NotBuilt("`cubeops readme` is not available in this release yet")
