"""Moving the ``champion``, ``challenger`` and ``previous`` aliases, and recording why.

The alias moves are planned by pure functions (:func:`plan_promotion`, :func:`plan_rollback`)
from the current alias map, then applied with the client. Every move leaves a verdict and a
reason on the version as tags, so ``cubeops registry list`` can say what happened and why.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from typing import Any

from flows.contracts import CHALLENGER, CHAMPION, PREVIOUS, TAG_GATE, TAG_GATE_REASON
from flows.errors import RegistryError

TAG_GATE_AT = "cubeops.gate_at"
TAG_GATE_BY = "cubeops.gate_by"

# Verdicts recorded in TAG_GATE.
PROMOTED, REJECTED, MANUAL, ROLLED_BACK = "promoted", "rejected", "manual", "rolled-back"


@dataclass(frozen=True)
class AliasPlan:
    """The alias moves of one promotion or rollback."""

    set: dict[str, str] = field(default_factory=dict)
    delete: tuple[str, ...] = ()
    demoted: str | None = None
    """The version that stops being champion, if any."""


def plan_promotion(aliases: dict[str, str], version: str) -> AliasPlan:
    """``champion`` → ``version``; ``previous`` keeps the old champion; ``challenger`` is cleared if it was this one."""
    old = aliases.get(CHAMPION)
    if old == version:
        raise RegistryError(f"version {version} is already the champion")
    moves = {CHAMPION: version}
    delete = []
    if old is not None:
        moves[PREVIOUS] = old
    elif aliases.get(PREVIOUS) == version:
        delete.append(PREVIOUS)
    if aliases.get(CHALLENGER) == version:
        delete.append(CHALLENGER)
    return AliasPlan(moves, tuple(delete), old)


def plan_rollback(aliases: dict[str, str]) -> AliasPlan:
    """``champion`` ← ``previous``; ``previous`` is cleared (a second rollback needs a new promotion first)."""
    previous = aliases.get(PREVIOUS)
    if previous is None:
        current = aliases.get(CHAMPION)
        now = f"the champion is version {current}" if current else "there is no champion"
        raise RegistryError(f"no previous version to roll back to ({now}); promote a version with "
                            "`cubeops registry promote V --reason TEXT` instead")
    return AliasPlan({CHAMPION: previous}, (PREVIOUS,), aliases.get(CHAMPION))


def apply_plan(client: Any, name: str, plan: AliasPlan) -> None:
    """Apply the moves, champion first, so the model never has a moment without one."""
    for alias in sorted(plan.set, key=lambda a: a != CHAMPION):
        client.set_registered_model_alias(name, alias, plan.set[alias])
    for alias in plan.delete:
        client.delete_registered_model_alias(name, alias)


def record_verdict(client: Any, name: str, version: str, verdict: str, reason: str, by: str | None = None) -> None:
    """Tag the version with the verdict, its reason, when, and (for manual moves) who."""
    client.set_model_version_tag(name, version, TAG_GATE, verdict)
    client.set_model_version_tag(name, version, TAG_GATE_REASON, reason[:5000])
    client.set_model_version_tag(name, version, TAG_GATE_AT, datetime.now(UTC).isoformat(timespec="seconds"))
    if by:
        client.set_model_version_tag(name, version, TAG_GATE_BY, by)


def mark_challenger(client: Any, name: str, version: str, aliases: dict[str, str]) -> None:
    """Point ``challenger`` at a newly registered version (unless it is already the champion)."""
    if aliases.get(CHAMPION) != version and aliases.get(CHALLENGER) != version:
        client.set_registered_model_alias(name, CHALLENGER, version)


def promote(client: Any, name: str, version: str, verdict: str, reason: str, by: str | None = None) -> AliasPlan:
    """Make ``version`` the champion and record the verdict on it."""
    from registry.client import get_version, registered_aliases

    get_version(client, name, version)
    plan = plan_promotion(registered_aliases(client, name), version)
    apply_plan(client, name, plan)
    record_verdict(client, name, version, verdict, reason, by)
    return plan


def rollback(client: Any, name: str, reason: str, by: str | None = None) -> AliasPlan:
    """``champion`` ← ``previous``; the demoted version is tagged rolled-back with ``reason``."""
    from registry.client import registered_aliases

    plan = plan_rollback(registered_aliases(client, name))
    apply_plan(client, name, plan)
    if plan.demoted is not None:
        record_verdict(client, name, plan.demoted, ROLLED_BACK, reason, by)
    return plan


def withdraw(client: Any, name: str, version: str, reason: str, by: str | None = None) -> None:
    """Take ``champion`` off a version that has no previous to fall back to, recording why."""
    from registry.client import registered_aliases

    if registered_aliases(client, name).get(CHAMPION) == version:
        client.delete_registered_model_alias(name, CHAMPION)
    record_verdict(client, name, version, ROLLED_BACK, reason, by)
