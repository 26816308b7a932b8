"""``cubeops schedule``: serve a Prefect deployment of the pipeline on the spec's cron."""

import argparse

from flows.cli.common import command, load_project


def register(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub,
        "schedule",
        "run the pipeline on the spec's cron schedule (Prefect deployment)",
        "Serve a Prefect deployment of the pipeline on schedule.cron until interrupted. Runs of the project "
        "never overlap; a run that starts late is reported. To run on a work pool instead, see "
        "examples/prefect.yaml (`prefect deploy`).",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = load_project(args)
    from flows.schedule import serve_schedule
    from flows.tracking import check_services

    check_services(project.layout)

    serve_schedule(project.spec, project.spec_path)
    return 0
