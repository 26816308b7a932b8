"""The OpenAPI 3.1 description of the status service's endpoints, served at ``/openapi.json``."""

from typing import Any

from status.badge import STYLES
from status.model import STAGES, STATES

_PROJECT = {
    "name": "repositoryOwnerPlusName",
    "in": "query",
    "required": True,
    "description": "The project as OWNER/NAME.",
    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"},
}
_TOKEN = {
    "name": "token",
    "in": "query",
    "required": False,
    "description": "`PUBLIC` (the default) for a public project, or a read token. Never a write token: "
    "one given here is revoked at once.",
    "schema": {"type": "string"},
}
_STAGE = {"name": "stage", "in": "path", "required": True, "schema": {"type": "string", "enum": list(STAGES)}}
_ERROR = {
    "description": "The request was refused.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (a plain dict, ready for JSON)."""
    all_states = sorted({s for states in STATES.values() for s in states} | {"unknown"})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cubeops status",
            "version": "1",
            "description": "Data, Training and Serving status of cubeops projects, as badges and JSON.",
        },
        "paths": {
            "/api/v1/cubes/status/{stage}": {
                "get": {
                    "summary": "A stage's badge: SVG, or shields endpoint JSON with format=json or Accept: application/json.",
                    "parameters": [
                        _STAGE,
                        _PROJECT,
                        _TOKEN,
                        {"name": "style", "in": "query", "schema": {"type": "string", "enum": list(STYLES)}},
                        {"name": "label", "in": "query", "schema": {"type": "string", "maxLength": 64}},
                        {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["svg", "json"]}},
                    ],
                    "responses": {
                        "200": {
                            "description": "Always 200 for an image: unknown projects and refusals show a grey badge.",
                            "content": {
                                "image/svg+xml": {"schema": {"type": "string"}},
                                "application/json": {"schema": {"$ref": "#/components/schemas/Endpoint"}},
                            },
                        },
                        "304": {"description": "Not modified (If-None-Match matched the ETag)."},
                        "400": _ERROR,
                    },
                },
                "post": {
                    "summary": "Publish a stage's state (remote publishing from a flow).",
                    "security": [{"writeToken": []}],
                    "parameters": [_STAGE],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Publish"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "Recorded; visible in the badge at once.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Published"}}},
                        },
                        "401": _ERROR,
                        "403": _ERROR,
                        "404": _ERROR,
                        "413": _ERROR,
                        "422": _ERROR,
                    },
                },
            },
            "/api/v1/cubes/status/{stage}/heartbeat": {
                "post": {
                    "summary": "Refresh a stage's heartbeat (a training run that is still alive).",
                    "security": [{"writeToken": []}],
                    "parameters": [_STAGE],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["repositoryOwnerPlusName"],
                                    "properties": {"repositoryOwnerPlusName": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": {"200": {"description": "Recorded."}, "401": _ERROR, "403": _ERROR, "404": _ERROR},
                }
            },
            "/api/v1/cubes/status": {
                "get": {
                    "summary": "All three stages of a project, with messages, times and links.",
                    "parameters": [_PROJECT, _TOKEN],
                    "security": [{}, {"readToken": []}],
                    "responses": {
                        "200": {
                            "description": "The project's status.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Project"}}},
                        },
                        "400": _ERROR,
                        "404": {"description": "No such project, or no access to it (the same answer for both).", **_ERROR},
                    },
                }
            },
            "/badge/{owner}/{name}/{file}": {
                "get": {
                    "summary": "Short badge URL: `{stage}.svg` or `{stage}.json` (shields endpoint JSON).",
                    "parameters": [
                        {"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "file", "in": "path", "required": True, "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "The badge."}},
                }
            },
            "/healthz": {"get": {"summary": "Liveness, and whether the store answers.", "responses": {"200": {"description": "Up."}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics.", "responses": {"200": {"description": "Text format 0.0.4."}}}},
        },
        "components": {
            "securitySchemes": {
                "writeToken": {"type": "http", "scheme": "bearer", "description": "A write token (cubw_…)."},
                "readToken": {"type": "http", "scheme": "bearer", "description": "A read token (cubr_…)."},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "Endpoint": {
                    "type": "object",
                    "description": "shields.io endpoint badge (https://shields.io/badges/endpoint-badge).",
                    "required": ["schemaVersion", "label", "message"],
                    "additionalProperties": False,
                    "properties": {
                        "schemaVersion": {"const": 1},
                        "label": {"type": "string"},
                        "message": {"type": "string", "minLength": 1},
                        "color": {"type": "string"},
                        "isError": {"type": "boolean"},
                        "cacheSeconds": {"type": "integer", "minimum": 300},
                    },
                },
                "Publish": {
                    "type": "object",
                    "required": ["repositoryOwnerPlusName", "state"],
                    "additionalProperties": False,
                    "properties": {
                        "repositoryOwnerPlusName": {"type": "string"},
                        "state": {"type": "string", "enum": all_states},
                        "message": {"type": "string", "maxLength": 200},
                        "links": {"type": "object", "additionalProperties": {"type": "string"}},
                        "details": {"type": "object"},
                        "visibility": {"type": "string", "enum": ["public", "private"]},
                        "stale_after_s": {"type": "number", "exclusiveMinimum": 0},
                        "heartbeat_ttl_s": {"type": "number", "exclusiveMinimum": 0},
                        "webhooks": {
                            "type": "array",
                            "maxItems": 10,
                            "items": {"type": "string", "pattern": "^https?://"},
                            "description": "URLs the status server notifies on each state change of this project.",
                        },
                    },
                },
                "Published": {
                    "type": "object",
                    "properties": {
                        "ok": {"type": "boolean"},
                        "eventId": {"type": "integer"},
                        "state": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
                "Project": {
                    "type": "object",
                    "properties": {
                        "repositoryOwnerPlusName": {"type": "string"},
                        "visibility": {"type": "string"},
                        "stages": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "object",
                                "properties": {
                                    "state": {"type": "string", "enum": all_states},
                                    "message": {"type": "string"},
                                    "color": {"type": "string"},
                                    "updatedAt": {"type": ["string", "null"], "format": "date-time"},
                                    "heartbeatAt": {"type": ["string", "null"], "format": "date-time"},
                                    "links": {"type": "object", "additionalProperties": {"type": "string"}},
                                    "page": {"type": "string"},
                                    "badge": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
