"""Helpers shared by the CLI commands: the ``-c FILE`` option and loading the project."""

import argparse
from dataclasses import dataclass
from pathlib import Path

from flows.layout import Layout, resolve_layout
from flows.spec import ProjectSpec
from flows.spec_loader import DEFAULT_SPEC, load_spec


def add_config(parser: argparse.ArgumentParser) -> None:
    """Add ``-c/--config FILE`` (default ``./cubeops.yaml``)."""
    parser.add_argument(
        "-c", "--config", default=DEFAULT_SPEC, metavar="FILE", help=f"project spec (default: ./{DEFAULT_SPEC})"
    )


@dataclass(frozen=True)
class Project:
    """A loaded spec and its resolved layout."""

    spec: ProjectSpec
    layout: Layout
    spec_path: Path


def load_project(args: argparse.Namespace, configure: bool = True) -> Project:
    """Load the spec named by ``-c`` and, for commands that run things, configure the process."""
    from flows.runtime import configure_logging, configure_prefect, configure_quiet_libraries

    path = Path(args.config)
    if path.is_dir():
        path = path / DEFAULT_SPEC
    spec = load_spec(path)
    layout = resolve_layout(spec, path.parent)
    if configure:
        # Prefect's temporary server keeps its database under .cubeops/prefect: it must exist first.
        layout.ensure()
        configure_quiet_libraries()
        configure_prefect(layout)
        configure_logging(getattr(args, "verbose", False))
    return Project(spec, layout, path.resolve())


def command(sub: argparse._SubParsersAction, name: str, summary: str, description: str = "") -> argparse.ArgumentParser:
    """Add a command with a one-line summary (shown by ``cubeops --help``) and the -c option."""
    parser = sub.add_parser(name, help=summary, description=description or summary)
    add_config(parser)
    return parser
