"""Tokens: random, scoped, shown once, stored only as a hash, revocable; on sqlite and PostgreSQL."""

import sqlite3
from datetime import timedelta

import pytest

from flows.errors import StatusError
from status.model import StatusUpdate, utcnow
from status.snapshot import load_snapshot, store_fingerprint
from status.tokens import (
    READ,
    WRITE,
    TokenIndex,
    create_token,
    hash_token,
    list_tokens,
    record_use,
    revoke_leaked,
    revoke_token,
    well_formed,
)
from tests.status.conftest import PRIVATE_INFO


def test_tokens_are_random_scoped_and_well_formed(any_store):
    rec_r, read = create_token(any_store, "acme/secret", READ, "badges")
    rec_w, write = create_token(any_store, "acme/secret", WRITE)
    assert read.startswith("cubr_") and write.startswith("cubw_")
    assert well_formed(read) and well_formed(write) and read != write
    assert (rec_r.scope, rec_w.scope) == (READ, WRITE)
    assert rec_w.name.startswith("write-")
    assert [t.name for t in list_tokens(any_store, "acme/secret")] == ["badges", rec_w.name]


def test_only_the_hash_is_stored(any_store, tmp_path):
    tokens = [create_token(any_store, "acme/secret", scope)[1] for scope in (READ, WRITE, READ)]
    for record, token in zip(list_tokens(any_store), tokens):
        assert record.token_hash == hash_token(token) and token not in repr(record)
    if any_store.url.startswith("sqlite"):
        any_store.close()
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("status.db*"))
        for token in tokens:
            assert token.encode() not in raw
            assert token.split("_", 1)[1].encode() not in raw
        with sqlite3.connect(tmp_path / "status.db") as conn:
            dump = "\n".join(conn.iterdump())
        assert not any(t in dump for t in tokens)
        assert hash_token(tokens[0]) in dump


def test_verification_checks_project_scope_and_revocation(any_store):
    _, read = create_token(any_store, "acme/secret", READ, "badges")
    _, write = create_token(any_store, "acme/secret", WRITE, "ci")
    index = TokenIndex(list_tokens(any_store))
    assert index.verify(read, "acme/secret").name == "badges"
    assert index.verify(read, "acme/other") is None
    assert index.verify(write, "acme/secret") is None  # a write token never reads badges
    assert index.verify(write, "acme/secret", (WRITE,)).name == "ci"
    assert index.verify(read[:-1] + ("A" if read[-1] != "A" else "B"), "acme/secret") is None
    revoked = revoke_token(any_store, "acme/secret", "badges")
    assert revoked.revoked_at is not None and "cubeops token revoke" in revoked.revoked_reason
    assert TokenIndex(list_tokens(any_store)).verify(read, "acme/secret") is None
    # Revoking twice is harmless; an unknown name is a clear error.
    assert revoke_token(any_store, "acme/secret", "badges").revoked_at == revoked.revoked_at
    with pytest.raises(StatusError, match="no token named 'nope'"):
        revoke_token(any_store, "acme/secret", "nope")


def test_names_are_unique_per_project_and_checked(any_store):
    create_token(any_store, "acme/secret", READ, "badges")
    create_token(any_store, "acme/other", READ, "badges")
    with pytest.raises(StatusError, match="already has a token named 'badges'"):
        create_token(any_store, "acme/secret", WRITE, "badges")
    with pytest.raises(StatusError, match="token name"):
        create_token(any_store, "acme/secret", READ, "has space")
    with pytest.raises(StatusError, match="OWNER/NAME"):
        create_token(any_store, "../etc", READ)
    assert len(list_tokens(any_store)) == 2


def test_leaked_write_tokens_are_revoked_with_the_reason_and_read_tokens_are_not(any_store):
    rec_w, write = create_token(any_store, "acme/secret", WRITE, "ci")
    _, read = create_token(any_store, "acme/secret", READ, "badges")
    assert revoke_leaked(any_store, hash_token(read)) is None  # only write tokens leak this way
    leaked = revoke_leaked(any_store, hash_token(write))
    assert leaked.id == rec_w.id and "leaked" in leaked.revoked_reason
    assert revoke_leaked(any_store, hash_token(write)) is None  # once


def test_last_use_is_recorded(any_store):
    record, _ = create_token(any_store, "acme/secret", READ, "badges")
    when = utcnow().replace(microsecond=0)
    record_use(any_store, {record.id: when})
    assert list_tokens(any_store)[0].last_used_at == when


def test_the_snapshot_fingerprint_moves_on_every_change_that_matters(any_store):
    seen = [store_fingerprint(any_store)]

    def moved() -> bool:
        seen.append(store_fingerprint(any_store))
        return seen[-1] != seen[-2]

    any_store.publish(PRIVATE_INFO, StatusUpdate("acme/secret", "train", "training"))
    assert moved()
    any_store.heartbeat("acme/secret", "train", now=utcnow() + timedelta(seconds=5))
    assert moved()
    create_token(any_store, "acme/secret", READ, "badges")
    assert moved()
    revoke_token(any_store, "acme/secret", "badges")
    assert moved()
    assert not moved()
    snapshot = load_snapshot(any_store)
    assert [p.name for p in snapshot.projects] == ["acme/secret"]
    assert snapshot.projects[0].visibility == "private"
    assert [(s.stage, s.state) for s in snapshot.stages] == [("train", "training")]
    assert len(snapshot.tokens) == 1 and not snapshot.tokens[0].active
