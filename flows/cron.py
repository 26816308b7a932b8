"""Cron expression checks, shared by spec validation and the scheduler."""

from datetime import datetime, timezone


def check_cron(expr: str) -> None:
    """Raise ``ValueError`` naming the problem when ``expr`` is not a five-field cron expression."""
    from cronsim import CronSim, CronSimError

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron {expr!r} must have five fields (minute hour day month weekday), not {len(fields)}")
    try:
        CronSim(expr, datetime.now(timezone.utc))
    except CronSimError as exc:
        raise ValueError(f"cron {expr!r} is invalid: {exc}") from None
