"""``cubeops registry``: list, show, promote and roll back model versions (MLflow aliases)."""

import argparse

from flows.cli.common import command
from flows.errors import NotBuilt


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "registry", "list, show, promote or roll back registered model versions")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="table of versions with digest, perplexity, aliases and gate verdict")
    show = actions.add_parser("show", help="details of one version")
    show.add_argument("version")
    show.add_argument("--card", action="store_true", help="print the model card")
    promote = actions.add_parser("promote", help="make a version the champion (a recorded manual override)")
    promote.add_argument("version")
    promote.add_argument("--reason", required=True)
    actions.add_parser("rollback", help="move champion back to the previous version")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise NotBuilt("`cubeops registry` is not available in this release yet")
