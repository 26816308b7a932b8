"""``cubeops badges``: the Markdown of the three status badges for a README."""

import argparse
import os
import sys
from collections.abc import Mapping

from flows.cli.common import Project, command, load_project

TOKEN_HELP = "a read token of the project (private projects; default: $CUBEOPS_READ_TOKEN); never a write token"


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "badges", "print the Markdown of the Data, Training and Serving badges")
    p.add_argument("--project", help="OWNER/NAME (default: the spec's project)")
    p.add_argument("--token", help=TOKEN_HELP)
    p.add_argument("--url", help="status server base URL (default: the spec's status.url)")
    p.set_defaults(handler=run)


def badges_for(project: Project, owner_name: str | None, token: str | None, url: str | None, environ: Mapping[str, str]) -> str:
    """The badge Markdown of ``owner_name`` (default the spec's project), its token checked."""
    from flows.errors import StatusError
    from flows.spec import PROJECT_RE
    from status.markdown import badge_markdown
    from status.readme import READ_TOKEN_ENV, badge_token, base_url_for
    from status.serve import shown_url
    from status.store import StatusStore

    spec, layout = project.spec, project.layout
    name = owner_name or spec.project
    if not PROJECT_RE.fullmatch(name):
        raise StatusError(f"--project {name!r} must be OWNER/NAME (letters, digits, '.', '_', '-')")
    base = base_url_for(url, spec.status.url, environ)

    def open_store() -> StatusStore:
        return StatusStore(layout.status_store)

    visibility = spec.visibility
    if name != spec.project:
        store = open_store()
        try:
            info = store.project(name)
        finally:
            store.close()
        if info is None:
            raise StatusError(f"{name} has never published to the status store {shown_url(layout.status_store)}")
        visibility = info.visibility
    chosen = badge_token(name, visibility, token or environ.get(READ_TOKEN_ENV), open_store)
    return badge_markdown(base, name, chosen)


def run(args: argparse.Namespace) -> int:
    project = load_project(args, configure=False)
    print(badges_for(project, args.project, args.token, args.url, os.environ))
    print("each badge links to its tab of the project page on the status server", file=sys.stderr)
    return 0
