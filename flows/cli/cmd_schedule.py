"""``cubeops schedule``: serve a Prefect deployment of the pipeline on the spec's cron."""

import argparse

from flows.cli.common import command
from flows.errors import NotBuilt


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "schedule", "run the pipeline on the spec's cron schedule (Prefect deployment)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise NotBuilt("`cubeops schedule` is not available in this release yet; run `cubeops run` from your own scheduler")
