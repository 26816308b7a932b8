"""``cubeops readme``: insert or update the badge block and model card in a README."""

import argparse
import os
import sys
from pathlib import Path

from flows.cli.cmd_badges import TOKEN_HELP, badges_for
from flows.cli.common import Project, command, load_project


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "readme", "insert or update the badges and model card block in README.md")
    p.add_argument("--write", metavar="README", help="update this file in place (default: print)")
    p.add_argument("--token", help=TOKEN_HELP)
    p.add_argument("--url", help="status server base URL (default: the spec's status.url)")
    p.set_defaults(handler=run)


def champion_card(project: Project) -> str | None:
    """The model card of ``@champion``, or None while the project has no champion."""
    layout = project.layout
    if layout.tracking_uri.startswith("sqlite:///") and not Path(layout.tracking_uri[len("sqlite:///"):]).exists():
        return None  # nothing was ever tracked here; opening the store would create it
    from flows.contracts import CHAMPION
    from registry.card import find_card
    from registry.client import alias_version, registry_client

    client = registry_client(layout)
    info = alias_version(client, project.spec.model_name, CHAMPION)
    return find_card(client, info) if info is not None else None


def _read(path: Path) -> str:
    from flows.errors import UserError

    if path.is_dir():
        raise UserError(f"--write {path} is a folder; name the README file")
    if not path.exists():
        return ""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text (byte {exc.start}); cubeops will not rewrite it") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def _write(path: Path, text: str) -> None:
    import tempfile

    from flows.errors import UserError

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    from flows.runtime import configure_quiet_libraries
    from status.markdown import BEGIN_MARK, END_MARK, update_block
    from status.readme import readme_block

    project = load_project(args, configure=False)
    badges = badges_for(project, None, args.token, args.url, os.environ)
    path = Path(args.write) if args.write else None
    existed = path is not None and path.exists()
    text = _read(path) if path is not None else ""
    # Refuse unbalanced markers before the slower registry look-up.
    update_block(text, "", source=str(path))
    configure_quiet_libraries()
    card = champion_card(project)
    block = readme_block(badges, card)
    if path is None:
        print(f"{BEGIN_MARK}\n{block}{END_MARK}")
        return 0
    new, action = update_block(text, block, source=str(path))
    if action != "unchanged":
        _write(path, new)
    what = {
        "appended": f"{path} had no cubeops markers: appended the block at its end"
        if existed
        else f"created {path} with the badge block",
        "updated": f"updated the block between the cubeops markers in {path}",
        "unchanged": f"{path} is up to date",
    }[action]
    note = "" if card else " (no champion yet: badges only)"
    print(what + note, file=sys.stderr)
    return 0
