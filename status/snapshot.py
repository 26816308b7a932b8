"""Bulk reads of the status store for the status service: everything at once, and a cheap fingerprint.

The service answers badges from memory; it reloads this snapshot when the fingerprint moves (a
publish, a heartbeat, a token created or revoked), whichever process wrote to the store.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from status.model import ProjectInfo, StageStatus
from status.store import StatusStore, _aware, events, projects, stage_status, tokens
from status.tokens import TokenRecord, list_tokens


@dataclass(frozen=True)
class Snapshot:
    """Every project, every stage's stored state, and every token record."""

    projects: list[ProjectInfo]
    stages: list[StageStatus]
    tokens: list[TokenRecord]
    fingerprint: tuple


def store_fingerprint(store: StatusStore) -> tuple:
    """Changes whenever a publish, heartbeat, token creation or revocation reaches the store.

    One round trip: it runs several times a second beside the badge traffic.
    """
    query = select(
        select(func.max(events.c.id)).scalar_subquery(),
        select(func.max(stage_status.c.heartbeat_at)).scalar_subquery(),
        select(func.count()).select_from(projects).scalar_subquery(),
        select(func.count()).select_from(tokens).scalar_subquery(),
        select(func.max(tokens.c.id)).scalar_subquery(),
        select(func.count(tokens.c.revoked_at)).scalar_subquery(),
    )
    with store.connect() as conn:
        row = conn.execute(query).first()
    return tuple(str(v) for v in row)


def load_snapshot(store: StatusStore) -> Snapshot:
    """Read the whole store (projects, current stage states, tokens)."""
    fingerprint = store_fingerprint(store)
    with store.connect() as conn:
        project_rows = conn.execute(select(projects)).all()
        stage_rows = conn.execute(select(stage_status)).all()
    infos = [
        ProjectInfo(
            name=r.name,
            visibility=r.visibility,
            stale_after=timedelta(seconds=r.stale_after_s),
            heartbeat_ttl=timedelta(seconds=r.heartbeat_ttl_s),
        )
        for r in project_rows
    ]
    stages = [
        StageStatus(
            project=r.project,
            stage=r.stage,
            state=r.state,
            message=r.message,
            links=r.links or {},
            details=r.details or {},
            updated_at=_aware(r.updated_at),
            heartbeat_at=_aware(r.heartbeat_at),
            event_id=r.event_id,
        )
        for r in stage_rows
    ]
    return Snapshot(infos, stages, list_tokens(store), fingerprint)
