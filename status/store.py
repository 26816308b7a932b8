"""The status store: current state per stage plus an append-only history, on SQLAlchemy.

The default is a sqlite file in WAL mode (many readers, writers serialised with ``BEGIN
IMMEDIATE`` and a busy timeout, so concurrent publishers from several processes never see
"database is locked"); any SQLAlchemy URL works, PostgreSQL included.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from flows.errors import StatusError
from status.model import ProjectInfo, StageStatus, StatusChange, StatusUpdate, utcnow

metadata = MetaData()

projects = Table(
    "projects",
    metadata,
    Column("name", String(201), primary_key=True),
    Column("visibility", String(16), nullable=False, default="public"),
    Column("stale_after_s", Float, nullable=False, default=7 * 86400.0),
    Column("heartbeat_ttl_s", Float, nullable=False, default=120.0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

stage_status = Table(
    "stage_status",
    metadata,
    Column("project", String(201), primary_key=True),
    Column("stage", String(16), primary_key=True),
    Column("state", String(32), nullable=False),
    Column("message", String(200), nullable=False),
    Column("links", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("project", String(201), nullable=False, index=True),
    Column("stage", String(16), nullable=False),
    Column("state", String(32), nullable=False),
    Column("message", String(200), nullable=False),
    Column("links", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(201), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_reason", Text),
    UniqueConstraint("project", "name", name="uq_token_project_name"),
)

# Kept apart from ``projects`` so a store created before notifications existed gains them by
# ``create_all`` alone: it adds missing tables, never missing columns.
project_webhooks = Table(
    "project_webhooks",
    metadata,
    Column("project", String(201), primary_key=True),
    Column("urls", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

webhook_failures = Table(
    "webhook_failures",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("project", String(201), nullable=False, index=True),
    Column("stage", String(16), nullable=False),
    Column("state", String(32), nullable=False),
    Column("previous_state", String(32)),
    Column("url", String(300), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

MAX_MESSAGE = 200


@dataclass(frozen=True)
class WebhookFailure:
    """A change event that never reached one receiver, as recorded (the URL redacted)."""

    id: int
    project: str
    stage: str
    state: str
    previous_state: str | None
    url: str
    attempts: int
    error: str
    at: datetime


def _aware(value: datetime | None) -> datetime | None:
    # sqlite hands datetimes back naive; everything cubeops stores is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so non-JSON values fail here, with a clear message, not in the driver.
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError) as exc:
        raise StatusError(f"status details are not JSON-serialisable: {exc}") from None


def _upsert(
    conn: Connection,
    table: Table,
    keys: dict[str, Any],
    values: dict[str, Any],
    insert_only: dict[str, Any] | None = None,
    newer: str | None = None,
) -> None:
    """Insert a row or update it in place, atomically where the database supports ON CONFLICT.

    With ``newer``, an existing row is only replaced by one whose ``newer`` column is larger, so
    concurrent writers always leave the latest event current whatever order they commit in.
    """
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        stmt = dialect_insert(table).values(**keys, **values, **(insert_only or {}))
        guard = table.c[newer] < stmt.excluded[newer] if newer else None
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=values, where=guard))
        return
    where = [table.c[k] == v for k, v in keys.items()]
    if newer:
        where.append(table.c[newer] < values[newer])
    if not conn.execute(update(table).where(*where).values(**values)).rowcount:
        conn.execute(insert(table).values(**keys, **values, **(insert_only or {})))


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # noqa: ANN001
        # Autocommit at the driver level so the "begin" hook below controls transactions.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):  # noqa: ANN001
        # Take the write lock up front: a deferred transaction that later upgrades can fail with
        # SQLITE_BUSY immediately, bypassing the busy timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class StatusStore:
    """Reads and writes project status in one database."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = _sqlite_engine(url) if url.startswith("sqlite") else create_engine(url, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StatusError(f"status store {url!r} cannot be opened: {exc}") from None
        self._created = False

    def create(self) -> "StatusStore":
        """Create the tables when missing."""
        if not self._created:
            try:
                metadata.create_all(self.engine)
            except OperationalError as exc:
                raise StatusError(f"status store {self.url!r} cannot be opened: {exc.orig}") from None
            self._created = True
        return self

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction."""
        self.create()
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read-only connection."""
        self.create()
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    # -- projects --------------------------------------------------------------------------

    def upsert_project(self, conn: Connection, info: ProjectInfo, now: datetime) -> None:
        """Record a project (first publish) or refresh its settings."""
        values = {
            "visibility": info.visibility,
            "stale_after_s": info.stale_after.total_seconds(),
            "heartbeat_ttl_s": info.heartbeat_ttl.total_seconds(),
            "updated_at": now,
        }
        _upsert(conn, projects, {"name": info.name}, values, {"created_at": now})

    def project(self, name: str) -> ProjectInfo | None:
        """The project's settings, or None when it never published."""
        with self.connect() as conn:
            row = conn.execute(select(projects).where(projects.c.name == name)).first()
        if row is None:
            return None
        return ProjectInfo(
            name=row.name,
            visibility=row.visibility,
            stale_after=timedelta(seconds=row.stale_after_s),
            heartbeat_ttl=timedelta(seconds=row.heartbeat_ttl_s),
        )

    def project_names(self) -> list[str]:
        """Every project in the store."""
        with self.connect() as conn:
            return [r.name for r in conn.execute(select(projects.c.name).order_by(projects.c.name))]

    # -- status ----------------------------------------------------------------------------

    def publish(self, info: ProjectInfo, upd: StatusUpdate, now: datetime | None = None) -> StageStatus:
        """Append an event to the history and make it the stage's current state, atomically."""
        return self.publish_change(info, upd, now).status

    def publish_change(self, info: ProjectInfo, upd: StatusUpdate, now: datetime | None = None) -> StatusChange:
        """Publish like :meth:`publish` and say which state it replaced, read in the same transaction.

        The project's webhook URLs are stored too when ``info.webhooks`` is not None.
        """
        now = now or utcnow()
        message = upd.text[:MAX_MESSAGE]
        links, details = _jsonable(upd.links), _jsonable(upd.details)
        row = {"state": upd.state, "message": message, "links": links, "details": details}
        key = {"project": upd.project, "stage": upd.stage}
        with self.begin() as conn:
            previous = conn.execute(
                select(stage_status.c.state).where(stage_status.c.project == upd.project, stage_status.c.stage == upd.stage)
            ).scalar()
            self.upsert_project(conn, info, now)
            if info.webhooks is not None:
                _upsert(conn, project_webhooks, {"project": info.name}, {"urls": list(info.webhooks), "updated_at": now})
            event_id = conn.execute(insert(events).values(**key, at=now, **row)).inserted_primary_key[0]
            current = {**row, "updated_at": now, "heartbeat_at": now, "event_id": event_id}
            _upsert(conn, stage_status, key, current, newer="event_id")
        status = StageStatus(upd.project, upd.stage, upd.state, message, links, details, now, now, event_id)
        return StatusChange(previous, status)

    def heartbeat(self, project: str, stage: str, now: datetime | None = None) -> bool:
        """Refresh a stage's heartbeat without adding history; False when the stage has no state yet."""
        now = now or utcnow()
        with self.begin() as conn:
            changed = conn.execute(
                update(stage_status)
                .where(stage_status.c.project == project, stage_status.c.stage == stage)
                .values(heartbeat_at=now)
            ).rowcount
        return bool(changed)

    def current(self, project: str) -> dict[str, StageStatus]:
        """The stored state of each published stage of a project."""
        with self.connect() as conn:
            rows = conn.execute(select(stage_status).where(stage_status.c.project == project)).all()
        return {r.stage: _to_status(r, r.updated_at) for r in rows}

    def history(self, project: str, stage: str | None = None, limit: int = 100) -> list[StageStatus]:
        """The project's events, newest first."""
        query = select(events).where(events.c.project == project)
        if stage:
            query = query.where(events.c.stage == stage)
        with self.connect() as conn:
            rows = conn.execute(query.order_by(events.c.id.desc()).limit(limit)).all()
        return [
            StageStatus(r.project, r.stage, r.state, r.message, r.links, r.details, _aware(r.at), None, r.id)
            for r in rows
        ]

    def count_events(self, project: str | None = None) -> int:
        """How many events the history holds (for one project, or all)."""
        from sqlalchemy import func

        query = select(func.count()).select_from(events)
        if project:
            query = query.where(events.c.project == project)
        with self.connect() as conn:
            return int(conn.execute(query).scalar_one())


    # -- notifications -----------------------------------------------------------------------

    def webhooks(self, project: str) -> list[str]:
        """The webhook URLs the project's last publish named (empty when none)."""
        with self.connect() as conn:
            urls = conn.execute(select(project_webhooks.c.urls).where(project_webhooks.c.project == project)).scalar()
        return list(urls or [])

    def record_webhook_failure(
        self,
        project: str,
        stage: str,
        state: str,
        previous_state: str | None,
        url: str,
        attempts: int,
        error: str,
        now: datetime | None = None,
    ) -> int:
        """Record a delivery that failed after every retry; ``url`` must already be redacted."""
        with self.begin() as conn:
            return conn.execute(
                insert(webhook_failures).values(
                    project=project,
                    stage=stage,
                    state=state,
                    previous_state=previous_state,
                    url=url[:300],
                    attempts=attempts,
                    error=error[:200],
                    at=now or utcnow(),
                )
            ).inserted_primary_key[0]

    def webhook_failures(self, project: str, limit: int = 20) -> list[WebhookFailure]:
        """The project's failed deliveries, newest first."""
        query = (
            select(webhook_failures)
            .where(webhook_failures.c.project == project)
            .order_by(webhook_failures.c.id.desc())
            .limit(limit)
        )
        with self.connect() as conn:
            rows = conn.execute(query).all()
        return [
            WebhookFailure(r.id, r.project, r.stage, r.state, r.previous_state, r.url, r.attempts, r.error, _aware(r.at))
            for r in rows
        ]


def _to_status(r: Any, updated_at: datetime) -> StageStatus:
    return StageStatus(
        project=r.project,
        stage=r.stage,
        state=r.state,
        message=r.message,
        links=r.links or {},
        details=r.details or {},
        updated_at=_aware(updated_at),
        heartbeat_at=_aware(r.heartbeat_at),
        event_id=r.event_id,
    )
