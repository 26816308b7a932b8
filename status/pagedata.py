"""What the project page shows, read from the status store in one go.

The page is drawn from this (:mod:`status.page`), by the status server for a visitor and by the
static export for a folder; both read it here, so both show the same thing. Each stage's face is
the one its badge shows (:func:`status.view.face_values`), derived states included.
"""

from dataclasses import dataclass, field
from datetime import datetime

from status.model import STAGES, UNKNOWN, ProjectInfo, StageStatus, color_for
from status.store import StatusStore, WebhookFailure
from status.view import face_values
from status.webhooks import redact_url

HISTORY_READ = 200


@dataclass(frozen=True)
class StageView:
    """One stage as the page shows it: the badge's face, the stored status and its events."""

    stage: str
    state: str
    message: str
    color: str
    since: datetime | None
    current: StageStatus | None
    """The stored status, None when the stage never published."""
    history: list[StageStatus] = field(default_factory=list)
    """The stage's events, newest first."""

    def latest_details_with(self, key: str) -> tuple[dict, StageStatus | None]:
        """The newest details holding ``key`` (the current ones first), and the event they came from."""
        if self.current is not None and key in self.current.details:
            return self.current.details, self.current
        for event in self.history:
            if key in event.details:
                return event.details, event
        return {}, None


@dataclass(frozen=True)
class PageData:
    """Everything the project page shows."""

    project: str
    visibility: str
    known: bool
    """Whether the project ever published."""
    stages: dict[str, StageView]
    webhooks: list[str]
    """The receivers, redacted to scheme and host (their paths often hold a secret)."""
    failures: list[WebhookFailure]
    generated_at: datetime


def stage_view(stage: str, current: StageStatus | None, info: ProjectInfo, history: list[StageStatus], now: datetime) -> StageView:
    """A stage's face as of ``now`` (what its badge says), with its stored status and history."""
    if current is None:
        return StageView(stage, UNKNOWN, UNKNOWN, color_for(UNKNOWN), None, None, history)
    state, message, color, since = face_values(current, info, now)
    return StageView(stage, state, message, color, since, current, history)


def read_page_data(store: StatusStore, project: str, now: datetime, visibility: str = "public") -> PageData:
    """Read a project's page from the store; a project that never published reads as all unknown.

    ``visibility`` is used only for a project the store does not know yet.
    """
    info = store.project(project)
    known = info is not None
    info = info or ProjectInfo(project, visibility)
    current = store.current(project) if known else {}
    stages = {
        s: stage_view(s, current.get(s), info, store.history(project, s, limit=HISTORY_READ) if known else [], now)
        for s in STAGES
    }
    return PageData(
        project=project,
        visibility=info.visibility,
        known=known,
        stages=stages,
        webhooks=[redact_url(u) for u in store.webhooks(project)],
        failures=store.webhook_failures(project, limit=20),
        generated_at=now,
    )
