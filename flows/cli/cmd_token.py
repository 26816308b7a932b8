"""``cubeops token``: create, list and revoke badge (read) and publish (write) tokens."""

import argparse

from flows.cli.common import command
from flows.errors import NotBuilt


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "token", "create, list or revoke read-only badge tokens and write tokens")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="print a new token once; only its hash is stored")
    create.add_argument("--project", help="OWNER/NAME (default: the spec's project)")
    create.add_argument("--write", action="store_true", help="a write token for remote publishing")
    create.add_argument("--name", help="a name to list and revoke it by")
    actions.add_parser("list", help="name, scope, created and last used of each token")
    revoke = actions.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise NotBuilt("`cubeops token` is not available in this release yet")
