"""``cubeops status``: show the project's status, serve the badges, or export them as files."""

import argparse
import sys

from flows.cli.common import command, load_project
from flows.errors import NotBuilt


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "status", "show the Data / Training / Serving status, serve the badges, or export them")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    show = actions.add_parser("show", help="current state of each stage and recent history (default)")
    show.add_argument("--history", type=int, default=5, metavar="N", help="events of history to print")
    serve = actions.add_parser("serve", help="serve badges, status API and project pages over HTTP")
    serve.add_argument("-c", "--config", default=argparse.SUPPRESS, metavar="FILE", help="project spec (default: ./cubeops.yaml)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--no-access-log", dest="access_log", action="store_false", help="do not log each request")
    export = actions.add_parser("export", help="write badges, endpoint JSON and a static page to a folder")
    export.add_argument("-c", "--config", default=argparse.SUPPRESS, metavar="FILE", help="project spec (default: ./cubeops.yaml)")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write DIR/OWNER/NAME/ into")
    export.add_argument("--project", help="OWNER/NAME (default: the spec's project)")
    export.add_argument(
        "--include-private", action="store_true", help="export a private project too (anyone reaching the folder can read it)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    action = args.action or "show"
    if action == "serve":
        return _serve(args)
    if action == "export":
        return _export(args)
    if action != "show":
        raise NotBuilt(f"`cubeops status {action}` is not available in this release yet")
    project = load_project(args, configure=False)
    from status.model import STAGES, effective_status, unknown_status, utcnow
    from status.store import StatusStore

    store = StatusStore(project.layout.status_store)
    info = store.project(project.spec.project)
    now = utcnow()
    current = store.current(project.spec.project) if info else {}
    print(f"{project.spec.project} ({project.spec.visibility})")
    for stage in STAGES:
        st = current.get(stage) or unknown_status(project.spec.project, stage, now)
        if info:
            st = effective_status(st, info, now)
        when = st.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC") if stage in current else "never published"
        print(f"  {stage:<8} {st.text:<40} {when}")
    if info and args.__dict__.get("history", 5):
        print("history:")
        for ev in store.history(project.spec.project, limit=args.__dict__.get("history", 5)):
            print(f"  {ev.updated_at:%Y-%m-%d %H:%M:%S}  {ev.stage:<8} {ev.text}")
    store.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Serve every project in the spec's status store: badges, status API, remote publishing."""
    project = load_project(args, configure=False)
    from flows.runtime import configure_logging
    from status.serve import serve
    from status.settings import settings_from_spec

    configure_logging(getattr(args, "verbose", False))
    settings = settings_from_spec(project.spec, project.layout.status_store)
    serve(settings, host=args.host, port=args.port, access_log=args.access_log)
    return 0


def _export(args: argparse.Namespace) -> int:
    """Write the project's badges, endpoint JSON and page as static files under ``--out``."""
    from pathlib import Path

    from flows.errors import StatusError
    from flows.spec import PROJECT_RE
    from status.export import export_project
    from status.store import StatusStore

    project = load_project(args, configure=False)
    name = args.project or project.spec.project
    if not PROJECT_RE.fullmatch(name):
        raise StatusError(f"--project {name!r} must be OWNER/NAME (letters, digits, '.', '_', '-')")
    visibility = project.spec.visibility if name == project.spec.project else "public"
    store = StatusStore(project.layout.status_store)
    try:
        done = export_project(store, name, Path(args.out), visibility=visibility, include_private=args.include_private)
    finally:
        store.close()
    for path in done.files:
        print(path)
    if not done.known:
        print(f"{name} has not published any status yet: its badges read unknown", file=sys.stderr)
    print(f"exported {name} to {done.folder}; serve the folder from any static host", file=sys.stderr)
    return 0
