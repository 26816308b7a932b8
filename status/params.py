"""Reading and checking what a badge or status request asks for: the query string and its values.

Pure functions. A bad value raises :class:`BadInput` whose message is safe to show: it names the
parameter and the rule, and never echoes the value (which may be 10 kB, a path, or a token).
"""

import json
import re
import unicodedata
from datetime import timedelta
from urllib.parse import unquote_to_bytes

from status.badge import STYLES
from status.model import STATES, ProjectInfo, StatusUpdate

# Same rule as the spec's `project` (flows/spec.py), matched whole: a trailing newline is no name.
PROJECT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")

MAX_QUERY_BYTES = 4096
MAX_LABEL_CHARS = 64
MAX_TOKEN_CHARS = 128
FORMATS = ("svg", "json")
# Parameters a badge request reads; any of them given twice is refused (which one would win?).
BADGE_PARAMS = frozenset({"repositoryOwnerPlusName", "token", "style", "label", "format"})

# Characters that have no place in a label: bidirectional overrides can make a badge lie.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


class BadInput(ValueError):
    """A request parameter is missing, malformed, duplicated or out of bounds."""

    def __init__(self, param: str, problem: str, short: str | None = None):
        self.param = param
        self.problem = problem
        self.short = short or f"bad {param}"
        """A few words for an error badge."""
        super().__init__(f"{param}: {problem}")


def _decode(raw: str, name: str) -> str:
    # Values arrive percent-encoded (or, from careless clients, as raw UTF-8 bytes).
    try:
        if "%" in raw or "+" in raw:
            return unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
        if raw.isascii():
            return raw
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise BadInput(name, "is not valid UTF-8") from None


def parse_query(raw: bytes, watched: frozenset[str] = BADGE_PARAMS) -> dict[str, str]:
    """The query string as a dict; a ``watched`` parameter given twice raises :class:`BadInput`."""
    if len(raw) > MAX_QUERY_BYTES:
        raise BadInput("query", f"longer than {MAX_QUERY_BYTES} bytes", "query too long")
    params: dict[str, str] = {}
    if not raw:
        return params
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        key = _decode(key, "query")
        if key in params and key in watched:
            raise BadInput(key, "given more than once", f"duplicate {key}")
        params[key] = _decode(value, key if key in watched else "query")
    return params


def check_project(value: str | None) -> str:
    """``OWNER/NAME`` as the spec defines it; anything else raises :class:`BadInput`."""
    if value is None or value == "":
        raise BadInput("repositoryOwnerPlusName", "is required (OWNER/NAME)", "missing repositoryOwnerPlusName")
    if len(value) > 201 or not PROJECT_RE.fullmatch(value):
        raise BadInput("repositoryOwnerPlusName", "must be OWNER/NAME (letters, digits, '.', '_', '-')")
    return value


def check_style(value: str | None) -> str:
    """A badge style; flat when not given."""
    if value is None:
        return "flat"
    if value not in STYLES:
        raise BadInput("style", f"must be one of {', '.join(STYLES)}", "unknown style")
    return value


def check_format(value: str | None) -> str | None:
    """``svg``, ``json`` or None (decided by the Accept header)."""
    if value is None or value == "":
        return None
    if value not in FORMATS:
        raise BadInput("format", "must be svg or json")
    return value


def check_label(value: str | None) -> str | None:
    """A label shown on the badge: short, printable text (or None for the stage's own label)."""
    if value is None:
        return None
    if len(value) > MAX_LABEL_CHARS:
        raise BadInput("label", f"longer than {MAX_LABEL_CHARS} characters")
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co", "Cn") or ch in _BIDI_CONTROLS or ch in "\ufffe\uffff":
            raise BadInput("label", "contains control or unassigned characters")
    return value


def token_of(value: str | None) -> str | None:
    """The token parameter, or None when absent, empty or too long to be one of ours."""
    if not value or len(value) > MAX_TOKEN_CHARS:
        return None
    return value


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, if that is what it holds."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token_of(token.strip())


MAX_DETAILS_BYTES = 64 * 1024
MAX_LINKS = 20
_TEN_YEARS_S = 10 * 365 * 86400.0


def _seconds(body: dict, key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= _TEN_YEARS_S:
        raise BadInput(key, "must be a number of seconds greater than 0")
    return float(value)


def _printable(value: str, name: str) -> str:
    if any(unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI_CONTROLS for ch in value):
        raise BadInput(name, "contains control characters")
    return value


def check_publish(stage: str, body: object, known: ProjectInfo | None = None) -> tuple[ProjectInfo, StatusUpdate]:
    """The project settings and status update a publish request body describes.

    The body is what :class:`status.publish.RemoteBackend` sends. Settings left out keep the
    project's current ones (or the defaults, for a first publish).
    """
    if not isinstance(body, dict):
        raise BadInput("body", "must be a JSON object")
    unknown = set(body) - {
        "repositoryOwnerPlusName", "state", "message", "links", "details", "visibility", "stale_after_s", "heartbeat_ttl_s",
    }
    if unknown:
        raise BadInput(sorted(unknown)[0], "is not a known field")
    project = check_project(body.get("repositoryOwnerPlusName") if isinstance(body.get("repositoryOwnerPlusName"), str) else None)
    state = body.get("state")
    if not isinstance(state, str) or state not in STATES[stage]:
        raise BadInput("state", f"must be one of {', '.join(STATES[stage])}")
    message = body.get("message", "")
    if not isinstance(message, str) or len(message) > 1000:
        raise BadInput("message", "must be text of at most 1000 characters")
    links = body.get("links") or {}
    if (
        not isinstance(links, dict)
        or len(links) > MAX_LINKS
        or not all(isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 2048 for k, v in links.items())
    ):
        raise BadInput("links", f"must map at most {MAX_LINKS} names to URLs")
    details = body.get("details") or {}
    if not isinstance(details, dict):
        raise BadInput("details", "must be a JSON object")
    if len(json.dumps(details, default=str)) > MAX_DETAILS_BYTES:
        raise BadInput("details", f"larger than {MAX_DETAILS_BYTES // 1024} kB")
    defaults = known or ProjectInfo(project)
    visibility = body.get("visibility", defaults.visibility)
    if visibility not in ("public", "private"):
        raise BadInput("visibility", "must be public or private")
    info = ProjectInfo(
        name=project,
        visibility=visibility,
        stale_after=timedelta(seconds=_seconds(body, "stale_after_s", defaults.stale_after.total_seconds())),
        heartbeat_ttl=timedelta(seconds=_seconds(body, "heartbeat_ttl_s", defaults.heartbeat_ttl.total_seconds())),
    )
    update = StatusUpdate(project, stage, state, _printable(message, "message"), dict(links), dict(details))
    return info, update
