"""Badge (read) and publish (write) tokens: created once, stored only as a hash, revocable.

A token is a prefix naming its scope and 256 random bits: ``cubr_…`` reads one project's
badges and page, ``cubw_…`` publishes its status. Only the SHA-256 of a token is stored (the
token carries enough entropy that a salt or a slow hash would add nothing), and tokens are
compared by hash with :func:`hmac.compare_digest`.

A write token is never accepted in a URL. Because its prefix gives it away, one that shows up
in a badge URL is treated as leaked: it is revoked at once and the reason recorded.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from flows.errors import StatusError
from status.model import utcnow
from status.params import PROJECT_RE
from status.store import StatusStore, _aware, tokens

READ, WRITE = "read", "write"
SCOPES = (READ, WRITE)
PUBLIC = "PUBLIC"
PREFIXES = {READ: "cubr_", WRITE: "cubw_"}
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_TOKEN_RE = re.compile(r"cub[rw]_[A-Za-z0-9_-]{43}")
# Compared against when no record matches, so a miss costs what a hit costs.
_NO_HASH = "0" * 64
LEAK_REASON = "leaked: a write token appeared in a badge URL"


def generate_token(scope: str) -> str:
    """A new random token of ``scope`` (``read`` or ``write``)."""
    return PREFIXES[scope] + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token: the only form in which a token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_write_token(token: str) -> bool:
    """True for anything shaped like a write token (whether or not it exists)."""
    return token.startswith(PREFIXES[WRITE])


def well_formed(token: str) -> bool:
    """True when ``token`` has the shape of a token cubeops issues."""
    return bool(_TOKEN_RE.fullmatch(token))


@dataclass(frozen=True)
class TokenRecord:
    """A stored token (its hash, never the token)."""

    id: int
    project: str
    name: str
    scope: str
    token_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


class TokenIndex:
    """An in-memory snapshot of the tokens table, keyed by hash, for checks without the database."""

    def __init__(self, records: Iterable[TokenRecord] = (), revoked_here: Iterable[str] = ()):
        self._by_hash = {r.token_hash: r for r in records}
        self._revoked_here: set[str] = set(revoked_here)

    def __len__(self) -> int:
        return len(self._by_hash)

    def verify(self, token: str, project: str, scopes: Iterable[str] = (READ,)) -> TokenRecord | None:
        """The record of ``token`` if it is active, belongs to ``project`` and has one of ``scopes``."""
        digest = hash_token(token)
        record = self._by_hash.get(digest)
        same = hmac.compare_digest(record.token_hash if record else _NO_HASH, digest)
        if (
            record is None
            or not same
            or not record.active
            or digest in self._revoked_here
            or record.project != project
            or record.scope not in scopes
        ):
            return None
        return record

    def find(self, token: str) -> TokenRecord | None:
        """The record of ``token`` whatever its state (for error messages)."""
        return self._by_hash.get(hash_token(token))

    def by_hash(self, token_hash: str) -> TokenRecord | None:
        """The record with this hash, whatever its state."""
        return self._by_hash.get(token_hash)

    @property
    def revoked_here(self) -> frozenset[str]:
        """Hashes refused in this process ahead of the store."""
        return frozenset(self._revoked_here)

    def revoke_here(self, token_hash: str) -> None:
        """Refuse a token from now on in this process, before the store records the revocation."""
        self._revoked_here.add(token_hash)


def check_name(name: str) -> str:
    """A token name: letters, digits, '.', '_', '-'; raises :class:`StatusError` otherwise."""
    if not NAME_RE.fullmatch(name):
        raise StatusError(f"token name {name!r} must be letters, digits, '.', '_' or '-' (at most 100)")
    return name


def _record(row) -> TokenRecord:  # noqa: ANN001
    return TokenRecord(
        id=row.id,
        project=row.project,
        name=row.name,
        scope=row.scope,
        token_hash=row.token_hash,
        created_at=_aware(row.created_at),
        last_used_at=_aware(row.last_used_at),
        revoked_at=_aware(row.revoked_at),
        revoked_reason=row.revoked_reason,
    )


def create_token(
    store: StatusStore, project: str, scope: str = READ, name: str | None = None, now: datetime | None = None
) -> tuple[TokenRecord, str]:
    """Create a token; returns its record and the token itself, which is never stored."""
    if not PROJECT_RE.fullmatch(project or ""):
        raise StatusError(f"project {project!r} must be OWNER/NAME (letters, digits, '.', '_', '-')")
    if scope not in SCOPES:
        raise StatusError(f"token scope {scope!r} must be read or write")
    now = now or utcnow()
    secret = generate_token(scope)
    digest = hash_token(secret)
    with store.begin() as conn:
        if name is None:
            count = conn.execute(
                select(func.count()).select_from(tokens).where(tokens.c.project == project, tokens.c.scope == scope)
            ).scalar_one()
            name = f"{scope}-{count + 1}-{secrets.token_hex(2)}"
        check_name(name)
        try:
            with conn.begin_nested():
                new_id = conn.execute(
                    insert(tokens).values(
                        project=project, name=name, scope=scope, token_hash=digest, created_at=now
                    )
                ).inserted_primary_key[0]
        except IntegrityError:
            raise StatusError(f"{project} already has a token named {name!r}; pick another --name") from None
    return TokenRecord(new_id, project, name, scope, digest, now), secret


def list_tokens(store: StatusStore, project: str | None = None) -> list[TokenRecord]:
    """Every token (of one project, or all), oldest first."""
    query = select(tokens).order_by(tokens.c.project, tokens.c.id)
    if project:
        query = query.where(tokens.c.project == project)
    with store.connect() as conn:
        return [_record(r) for r in conn.execute(query)]


def revoke_token(
    store: StatusStore, project: str, name: str, reason: str = "revoked with cubeops token revoke", now: datetime | None = None
) -> TokenRecord:
    """Revoke a project's token by name (a no-op for one already revoked); returns its record."""
    now = now or utcnow()
    with store.begin() as conn:
        row = conn.execute(select(tokens).where(tokens.c.project == project, tokens.c.name == name)).first()
        if row is None:
            raise StatusError(f"{project} has no token named {name!r}; `cubeops token list` shows the names")
        if row.revoked_at is None:
            conn.execute(update(tokens).where(tokens.c.id == row.id).values(revoked_at=now, revoked_reason=reason))
            row = conn.execute(select(tokens).where(tokens.c.id == row.id)).first()
    return _record(row)


def revoke_leaked(store: StatusStore, token_hash: str, now: datetime | None = None) -> TokenRecord | None:
    """Revoke the write token with this hash as leaked; the record if one was revoked now."""
    now = now or utcnow()
    with store.begin() as conn:
        changed = conn.execute(
            update(tokens)
            .where(tokens.c.token_hash == token_hash, tokens.c.scope == WRITE, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=f"{LEAK_REASON} at {now:%Y-%m-%d %H:%M:%S} UTC")
        ).rowcount
        if not changed:
            return None
        row = conn.execute(select(tokens).where(tokens.c.token_hash == token_hash)).first()
    return _record(row)


def record_use(store: StatusStore, last_used: Mapping[int, datetime]) -> None:
    """Write the last-used time of the tokens used since the previous call."""
    if not last_used:
        return
    with store.begin() as conn:
        for token_id, when in last_used.items():
            conn.execute(update(tokens).where(tokens.c.id == token_id).values(last_used_at=when))
