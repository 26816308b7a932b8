"""``cubeops token``: create, list and revoke badge (read) and publish (write) tokens."""

import argparse
import sys

from flows.cli.common import command, load_project
from flows.spec_loader import DEFAULT_SPEC


def _config_here(parser: argparse.ArgumentParser) -> None:
    # `-c` also after the action (`cubeops token create -c FILE`); SUPPRESS keeps the outer value.
    parser.add_argument("-c", "--config", default=argparse.SUPPRESS, metavar="FILE", help=f"project spec (default: ./{DEFAULT_SPEC})")


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "token", "create, list or revoke read-only badge tokens and write tokens")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="print a new token once; only its hash is stored")
    create.add_argument("--project", help="OWNER/NAME (default: the spec's project)")
    create.add_argument("--write", action="store_true", help="a write token for remote publishing")
    create.add_argument("--name", help="a name to list and revoke it by")
    listing = actions.add_parser("list", help="name, scope, created and last used of each token")
    listing.add_argument("--project", help="only this OWNER/NAME (default: every project in the store)")
    revoke = actions.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    revoke.add_argument("--project", help="OWNER/NAME (default: the spec's project)")
    for action in (create, listing, revoke):
        _config_here(action)
    p.set_defaults(handler=run)


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def run(args: argparse.Namespace) -> int:
    project = load_project(args, configure=False)
    from status.store import StatusStore
    from status.tokens import READ, WRITE, create_token, list_tokens, revoke_token

    store = StatusStore(project.layout.status_store)
    try:
        if args.action == "create":
            owner_name = args.project or project.spec.project
            scope = WRITE if args.write else READ
            record, secret = create_token(store, owner_name, scope, args.name)
            print(secret)
            if scope == WRITE:
                hint = f"set CUBEOPS_STATUS_TOKEN to it where flows publish to {project.spec.status.url or 'the status server'}"
            else:
                hint = "use it as token=… in the badge URLs of this project"
            print(
                f"{scope} token {record.name!r} for {owner_name}; shown once, only its hash is stored: {hint}",
                file=sys.stderr,
            )
        elif args.action == "list":
            records = list_tokens(store, args.project)
            if not records:
                print("no tokens")
                return 0
            rows = [("PROJECT", "NAME", "SCOPE", "CREATED", "LAST USED", "STATUS")]
            for r in records:
                state = "active" if r.active else f"revoked {_when(r.revoked_at)}: {r.revoked_reason or ''}".rstrip(": ")
                rows.append((r.project, r.name, r.scope, _when(r.created_at), _when(r.last_used_at), state))
            widths = [max(len(row[i]) for row in rows) for i in range(5)]
            for row in rows:
                print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[5])
        else:
            owner_name = args.project or project.spec.project
            record = revoke_token(store, owner_name, args.name)
            print(f"token {record.name!r} of {owner_name} is revoked ({_when(record.revoked_at)})")
    finally:
        store.close()
    return 0
