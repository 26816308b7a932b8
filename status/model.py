"""The status model: stages, their state vocabulary, colours, and the derived states.

Pure data and pure functions: no I/O, no clock reads (``now`` is always passed in).
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

STAGES: tuple[str, ...] = ("data", "train", "serving")

UNKNOWN = "unknown"

STATES: dict[str, tuple[str, ...]] = {
    "data": ("pending", "preparing", "ready", "failed", "stale"),
    "train": ("queued", "training", "passing", "failed", "stalled"),
    "serving": ("deploying", "live", "degraded", "down", "drift"),
}

# Badge label per stage, as on a Boltzbit project README.
LABELS: dict[str, str] = {"data": "data", "train": "training", "serving": "serving"}

# The project-page tab each badge links to.
TABS: dict[str, str] = {"data": "Dataset", "train": "Training", "serving": "Deployment"}

COLORS: dict[str, str] = {
    "ready": "brightgreen",
    "passing": "brightgreen",
    "live": "brightgreen",
    "preparing": "blue",
    "training": "blue",
    "deploying": "blue",
    "queued": "blue",
    "pending": "lightgrey",
    "stale": "yellow",
    "stalled": "orange",
    "degraded": "yellow",
    "drift": "orange",
    "failed": "red",
    "down": "red",
    UNKNOWN: "lightgrey",
}

# States in which work is under way and a heartbeat is expected.
ACTIVE_STATES = frozenset({"preparing", "training", "deploying", "queued"})


def check_state(stage: str, state: str) -> None:
    """Raise ``ValueError`` unless ``state`` belongs to ``stage``'s vocabulary."""
    if stage not in STATES:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    if state not in STATES[stage]:
        raise ValueError(f"unknown {stage} state {state!r}; {stage} states are {', '.join(STATES[stage])}")


def color_for(state: str) -> str:
    """The badge colour of a state."""
    return COLORS.get(state, COLORS[UNKNOWN])


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the one clock the status code reads)."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class StatusUpdate:
    """One publish: what a flow says about one stage of one project."""

    project: str
    stage: str
    state: str
    message: str = ""
    links: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_state(self.stage, self.state)

    @property
    def text(self) -> str:
        """The badge message: the message when given, else the bare state."""
        return self.message or self.state


@dataclass(frozen=True)
class ProjectInfo:
    """What the status store knows of a project (from its spec, on each publish)."""

    name: str
    visibility: str = "public"
    stale_after: timedelta = timedelta(days=7)
    heartbeat_ttl: timedelta = timedelta(minutes=2)
    webhooks: tuple[str, ...] | None = None
    """URLs told about each state change; None leaves the stored ones as they are."""


@dataclass(frozen=True)
class StageStatus:
    """The current state of one stage, as stored."""

    project: str
    stage: str
    state: str
    message: str
    links: dict[str, str]
    details: dict[str, Any]
    updated_at: datetime
    heartbeat_at: datetime | None = None
    event_id: int = 0

    @property
    def color(self) -> str:
        """The badge colour."""
        return color_for(self.state)

    @property
    def text(self) -> str:
        """The badge message."""
        return self.message or self.state


@dataclass(frozen=True)
class StatusChange:
    """A publish as recorded: the stage's state before it (None when never published) and after."""

    previous_state: str | None
    status: StageStatus

    @property
    def changed(self) -> bool:
        """True when the state moved (a progress message within one state is no change)."""
        return self.previous_state != self.status.state


def unknown_status(project: str, stage: str, now: datetime) -> StageStatus:
    """The status of a stage that has never been published."""
    return StageStatus(project, stage, UNKNOWN, UNKNOWN, {}, {}, now)


def _age(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def effective_status(status: StageStatus, info: ProjectInfo, now: datetime) -> StageStatus:
    """Apply the derived states that time alone produces.

    A ``ready`` dataset older than ``stale_after`` reads ``stale``; a stage at work whose heartbeat
    (or last update) is older than ``heartbeat_ttl`` reads ``stalled`` (training) — the process
    died without a word.
    """
    if status.stage == "data" and status.state == "ready" and now - status.updated_at > info.stale_after:
        return replace(status, state="stale", message=f"stale · {_age(now, status.updated_at)} old")
    if status.stage == "train" and status.state in ("training", "queued"):
        beat = status.heartbeat_at or status.updated_at
        if now - beat > info.heartbeat_ttl:
            return replace(status, state="stalled", message=f"stalled · no heartbeat for {_age(now, beat)}")
    return status
