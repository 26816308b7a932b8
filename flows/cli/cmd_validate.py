"""``cubeops validate``: check the spec and print every problem with its line."""

import argparse

from flows.cli.common import command, load_project


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "validate", "check cubeops.yaml and print every problem with its line")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = load_project(args, configure=False)
    spec = project.spec
    print(f"{project.spec_path}: ok — project {spec.project} ({spec.visibility}), model {spec.model.base}, "
          f"{len(spec.data.sources)} data source(s)")
    return 0
