"""What the badges show, precomputed: one face per project stage, and who may see it.

The status service answers every badge from this in-memory view and never from the database,
MLflow, Prefect or the model server. The reconciler refreshes it from the store and re-derives
the states that time alone produces (stale, stalled); a publish through the API updates it at once.

Not thread-safe by design: only the event loop touches it; database reads happen elsewhere and
hand their results over.
"""

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime

from status.model import COLORS, STAGES, UNKNOWN, ProjectInfo, StageStatus, color_for, effective_status
from status.snapshot import Snapshot
from status.tokens import PUBLIC, READ, WRITE, TokenIndex, hash_token, looks_like_write_token

_serials = itertools.count(1)
# Stored states that effective_status may turn into a derived one as time passes.
_TIME_SENSITIVE = frozenset({"ready", "training", "queued"})
_MAX_UNKNOWN_LEAKS = 64


@dataclass(frozen=True, eq=False)
class Face:
    """The content of one badge: what it says, its colour, and since when."""

    stage: str
    state: str
    message: str
    color: str
    last_modified: datetime
    serial: int = field(default_factory=lambda: next(_serials))
    """Unique per face; rendered badges are cached under it."""

    def same_as(self, state: str, message: str, color: str, last_modified: datetime) -> bool:
        """True when a new face would show exactly this one."""
        return (self.state, self.message, self.color, self.last_modified) == (state, message, color, last_modified)


def face_values(status: StageStatus, info: ProjectInfo, now: datetime) -> tuple[str, str, str, datetime]:
    """State, message, colour and last-modified time of a stored stage status, as of ``now``."""
    shown = effective_status(status, info, now)
    since = status.updated_at
    if shown.state != status.state:
        # A derived state began when its threshold passed, not when it was noticed.
        if shown.state == "stale":
            since = status.updated_at + info.stale_after
        elif shown.state == "stalled":
            since = (status.heartbeat_at or status.updated_at) + info.heartbeat_ttl
    return shown.state, shown.text, color_for(shown.state), since


class StatusView:
    """Projects, their badge faces and the token index, held in memory."""

    def __init__(self, started_at: datetime):
        self.started_at = started_at
        self.projects: dict[str, ProjectInfo] = {}
        self.stored: dict[tuple[str, str], StageStatus] = {}
        self.faces: dict[tuple[str, str], Face] = {}
        self.tokens = TokenIndex()
        self.fingerprint: tuple | None = None
        self.loaded_at: datetime | None = None
        self.now = started_at
        """The time of the last refresh: a coarse clock for the hot path."""
        # The same faces for every "no" (unknown project, no access, bad or revoked token) and
        # for a stage never published: nothing in them tells one case from another.
        self.unknown = {s: Face(s, UNKNOWN, UNKNOWN, COLORS[UNKNOWN], started_at) for s in STAGES}
        self.leaked = {s: Face(s, "revoked", "token revoked", "red", started_at) for s in STAGES}
        self.pending_uses: dict[int, datetime] = {}
        self.pending_leaks: set[str] = set()
        self.token_uses: dict[str, int] = {}
        """Requests opened by a token, by scope (the metrics share this dict)."""

    # -- updates (event loop only) ---------------------------------------------------------------

    def load(self, snapshot: Snapshot, now: datetime) -> None:
        """Replace everything with a fresh snapshot of the store."""
        self.projects = {p.name: p for p in snapshot.projects}
        self.stored = {(s.project, s.stage): s for s in snapshot.stages}
        # A leak refused in memory stays refused until the store's copy says so too.
        self.tokens = TokenIndex(snapshot.tokens, revoked_here=self.tokens.revoked_here)
        self.fingerprint = snapshot.fingerprint
        self.loaded_at = now
        self.derive(now, everything=True)

    def apply(self, info: ProjectInfo, status: StageStatus, now: datetime) -> None:
        """Take one publish into account immediately (the next snapshot will agree)."""
        self.projects[info.name] = info
        key = (status.project, status.stage)
        current = self.stored.get(key)
        if current is None or current.event_id <= status.event_id:
            self.stored[key] = status
        self._derive_one(key, now)

    def heartbeat(self, project: str, stage: str, at: datetime) -> None:
        """Record a heartbeat received through the API."""
        key = (project, stage)
        if key in self.stored:
            self.stored[key] = replace(self.stored[key], heartbeat_at=at)

    def derive(self, now: datetime, everything: bool = False) -> int:
        """Recompute the faces as of ``now``; returns how many changed.

        Between snapshots only states that time alone can change need a look; after a new
        snapshot, ``everything`` does.
        """
        self.now = now
        changed = sum(
            self._derive_one(key, now)
            for key, status in list(self.stored.items())
            if everything or status.state in _TIME_SENSITIVE or key not in self.faces
        )
        for key in [k for k in self.faces if k not in self.stored]:
            del self.faces[key]
        return changed

    def _derive_one(self, key: tuple[str, str], now: datetime) -> bool:
        status = self.stored[key]
        info = self.projects.get(status.project) or ProjectInfo(status.project)
        values = face_values(status, info, now)
        old = self.faces.get(key)
        if old is not None and old.same_as(*values):
            return False
        self.faces[key] = Face(status.stage, *values)
        return True

    # -- reads (the hot path) --------------------------------------------------------------------

    def badge_face(self, project: str, stage: str, token: str | None) -> tuple[Face, str | None]:
        """The face a badge request may see, and the project it opened (None when refused).

        A public project is open to everyone; a private one to its own active read tokens. A
        write token is never accepted here: it is reported as leaked and the badge says so.
        Every refusal returns the same face after the same work, so a badge tells nobody
        whether a private project exists.
        """
        if token is not None and looks_like_write_token(token):
            self.report_leak(token)
            return self.leaked[stage], None
        return self._face_if(self._may_read(project, token, None), project, stage)

    def _face_if(self, allowed: bool, project: str, stage: str) -> tuple[Face, str | None]:
        if not allowed:
            return self.unknown[stage], None
        return self.faces.get((project, stage)) or self.unknown[stage], project

    def _may_read(self, project: str, token: str | None, header_token: str | None) -> bool:
        info = self.projects.get(project)
        # The token is checked whatever the project, so refusals all cost the same.
        record = None
        if header_token is not None:
            record = self.tokens.verify(header_token, project, (READ, WRITE))
        if record is None and token is not None and token != PUBLIC:
            record = self.tokens.verify(token, project, (READ,))
        if record is not None and info is not None:
            self.pending_uses[record.id] = self.now
            self.token_uses[record.scope] = self.token_uses.get(record.scope, 0) + 1
            return True
        return info is not None and info.visibility == "public"

    def readable(self, project: str, token: str | None, header_token: str | None = None) -> bool:
        """Whether the status API may show ``project`` to this caller (same rules as the badges)."""
        if token is not None and looks_like_write_token(token):
            self.report_leak(token)
            return False
        return self._may_read(project, token, header_token)

    def take_pending(self) -> tuple[dict[int, datetime], set[str]]:
        """Hand over the token uses and leaks noticed since the last call, for writing to the store."""
        uses, leaks = self.pending_uses, self.pending_leaks
        self.pending_uses, self.pending_leaks = {}, set()
        return uses, leaks

    def report_leak(self, token: str) -> None:
        """A write token appeared in a URL: refuse it now; the reconciler revokes it in the store.

        Made-up write-shaped strings cost one no-op update each; at most a few per tick are
        queued, so a flood of them cannot turn into a flood of database writes.
        """
        digest = hash_token(token)
        record = self.tokens.by_hash(digest)
        if record is not None and record.active:
            self.tokens.revoke_here(digest)
            self.pending_leaks.add(digest)
        elif len(self.pending_leaks) < _MAX_UNKNOWN_LEAKS:
            # Perhaps a token created since the last snapshot: let the store decide.
            self.tokens.revoke_here(digest)
            self.pending_leaks.add(digest)

    def stage_statuses(self, project: str) -> dict[str, tuple[StageStatus | None, Face]]:
        """Each stage's stored status (None if never published) and its face."""
        return {
            s: (self.stored.get((project, s)), self.faces.get((project, s)) or self.unknown[s]) for s in STAGES
        }
