"""Scheduled runs: a Prefect deployment of the pipeline on the spec's cron, one run at a time."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

from flows.errors import UserError
from flows.spec import ProjectSpec

# A scheduled run that starts later than this after its slot is reported as a missed schedule.
LATE_AFTER = timedelta(minutes=5)


def deployment_name(spec: ProjectSpec) -> str:
    """The deployment's name: the project, with `/` as `-`."""
    return spec.project.replace("/", "-")


def lateness(scheduled: datetime | None, started: datetime) -> timedelta | None:
    """How late a scheduled run started, or None when on time (or not scheduled at all)."""
    if scheduled is None:
        return None
    late = started - scheduled
    return late if late > LATE_AFTER else None


def serve_schedule(spec: ProjectSpec, spec_path: Path) -> None:
    """Serve the pipeline as a deployment on the spec's cron until interrupted.

    ``global_limit=1`` keeps runs of the project from overlapping even when several
    ``cubeops schedule`` processes serve it; a slot that comes while a run is still going waits.
    """
    if not spec.schedule.cron:
        raise UserError(f"{spec_path}: schedule.cron is not set; add for example `schedule: {{cron: \"0 3 * * *\"}}`")
    from prefect.schedules import Cron

    from flows.pipeline import pipeline

    pipeline.serve(
        name=deployment_name(spec),
        schedules=[Cron(spec.schedule.cron, timezone=spec.schedule.timezone)],
        parameters={"config": str(spec_path)},
        global_limit=1,
        tags=["cubeops", spec.project],
        description=f"cubeops pipeline of {spec.project}: prepare-data → fine-tune → deploy",
    )


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(timezone.utc)
