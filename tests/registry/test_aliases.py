"""Alias moves on a real sqlite registry: promote, rollback, and the mistakes a user can make."""

import pytest

from flows.contracts import CHALLENGER, CHAMPION, PREVIOUS, TAG_GATE, TAG_GATE_REASON
from flows.errors import RegistryError
from registry.aliases import (
    MANUAL,
    PROMOTED,
    plan_promotion,
    plan_rollback,
    promote,
    rollback,
)
from registry.client import get_version, registered_aliases, registry_client
from tests.registry.builders import register_version


def test_plan_promotion_keeps_the_old_champion_as_previous():
    plan = plan_promotion({CHAMPION: "1", CHALLENGER: "2"}, "2")
    assert plan.set == {CHAMPION: "2", PREVIOUS: "1"}
    assert plan.delete == (CHALLENGER,)
    assert plan.demoted == "1"


def test_plan_rollback_needs_a_previous():
    assert plan_rollback({CHAMPION: "2", PREVIOUS: "1"}).set == {CHAMPION: "1"}
    with pytest.raises(RegistryError, match="no previous version to roll back to \\(the champion is version 2\\)"):
        plan_rollback({CHAMPION: "2"})


def test_promote_then_rollback_on_a_real_registry(project, saved_models):
    for ppl in (30.0, 25.0):
        register_version(project, saved_models.tiny, ppl)
    client = registry_client(project.layout)
    promote(client, project.name, "1", PROMOTED, "first version")
    promote(client, project.name, "2", MANUAL, "hotfix for the support desk", by="alice")
    assert registered_aliases(client, project.name) == {CHAMPION: "2", PREVIOUS: "1"}
    v2 = get_version(client, project.name, "v2")
    assert v2.tags[TAG_GATE] == MANUAL and v2.tags[TAG_GATE_REASON] == "hotfix for the support desk"
    assert v2.tags["cubeops.gate_by"] == "alice"

    rollback(client, project.name, "bad answers in production")
    assert registered_aliases(client, project.name) == {CHAMPION: "1"}
    assert get_version(client, project.name, "2").tags[TAG_GATE] == "rolled-back"
    with pytest.raises(RegistryError, match="no previous version"):
        rollback(client, project.name, "again")


def test_promoting_what_does_not_exist_names_what_does(project, saved_models):
    client = registry_client(project.layout)
    with pytest.raises(RegistryError, match="no registered model named 'acme-support-bot'"):
        promote(client, project.name, "1", MANUAL, "why")
    register_version(project, saved_models.tiny, 30.0)
    with pytest.raises(RegistryError, match="has no version 7 \\(it has versions 1\\)"):
        promote(client, project.name, "7", MANUAL, "why")
    with pytest.raises(RegistryError, match="is not a model version"):
        get_version(client, project.name, "latest")
