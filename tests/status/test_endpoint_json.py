"""The endpoint JSON passes shields' own (strict) endpoint schema for every state, so
``https://img.shields.io/endpoint?url=…`` renders our badges too."""

import pytest
import requests

from status.badge import NAMED_COLORS
from status.model import STATES, ProjectInfo, StatusUpdate
from status.tokens import WRITE, create_token

# shields' endpointSchema (services/endpoint-common.js): these keys and no others.
ALLOWED = {
    "schemaVersion", "label", "message", "color", "labelColor", "isError", "namedLogo", "logoSvg",
    "logoColor", "logoSize", "logoWidth", "style", "cacheSeconds", "logoPosition",
}


def shields_endpoint_errors(doc: object) -> list[str]:
    """The problems shields' validator would report (it rejects unknown keys)."""
    if not isinstance(doc, dict):
        return ["not an object"]
    errors = [f"unknown key {k!r}" for k in doc if k not in ALLOWED]
    if doc.get("schemaVersion") != 1:
        errors.append("schemaVersion must be 1")
    if not isinstance(doc.get("label"), str):
        errors.append("label is required")
    if not isinstance(doc.get("message"), str) or not doc["message"]:
        errors.append("message is required and non-empty")
    for key in ("color", "labelColor", "style", "namedLogo", "logoSvg"):
        if key in doc and not isinstance(doc[key], str):
            errors.append(f"{key} must be a string")
    if "isError" in doc and not isinstance(doc["isError"], bool):
        errors.append("isError must be a boolean")
    if "cacheSeconds" in doc and (not isinstance(doc["cacheSeconds"], int) or isinstance(doc["cacheSeconds"], bool) or doc["cacheSeconds"] < 0):
        errors.append("cacheSeconds must be a non-negative integer")
    if "namedLogo" in doc and "logoSvg" in doc:
        errors.append("namedLogo and logoSvg are exclusive")
    return errors


def test_the_checker_itself_rejects_what_shields_rejects():
    assert shields_endpoint_errors({"schemaVersion": 1, "label": "", "message": "ok"}) == []
    assert shields_endpoint_errors({"schemaVersion": 1, "label": "a", "message": "ok", "link": "x"}) == ["unknown key 'link'"]
    assert shields_endpoint_errors({"schemaVersion": 2, "label": "a", "message": ""})


@pytest.mark.parametrize("stage", list(STATES))
def test_every_state_of_every_stage_is_valid_endpoint_json(status_store, make_served, stage):
    _, write = create_token(status_store, "acme/bot", WRITE)
    served = make_served()
    for state in STATES[stage]:
        body = {"repositoryOwnerPlusName": "acme/bot", "state": state, "message": f"{state} · détails"}
        r = requests.post(f"{served.url}/api/v1/cubes/status/{stage}", json=body, headers={"Authorization": f"Bearer {write}"}, timeout=5)
        assert r.status_code == 200
        doc = requests.get(served.badge(stage, "acme/bot", format="json"), timeout=5).json()
        assert shields_endpoint_errors(doc) == []
        assert doc["message"] == f"{state} · détails"
        assert doc["color"] in NAMED_COLORS
        assert doc["cacheSeconds"] >= 300  # shields ignores less than its 300 s floor


def test_refusals_and_leaks_are_valid_endpoint_json_too(status_store, make_served):
    status_store.publish(ProjectInfo("acme/secret", "private"), StatusUpdate("acme/secret", "data", "ready"))
    served = make_served()
    for url in (
        served.badge("data", "acme/secret", format="json"),
        served.badge("data", "ghost/none", format="json"),
        served.badge("data", "acme/secret", "cubw_" + "x" * 43, format="json"),
    ):
        doc = requests.get(url, timeout=5).json()
        assert shields_endpoint_errors(doc) == []
        assert doc["message"] in ("unknown", "token revoked")
