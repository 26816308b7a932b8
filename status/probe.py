"""Probing a served model: is it up, fast enough, and serving the champion?

A probe is any callable ``probe(url, champion_version, timeout, degraded_after)`` returning an
object with ``state``, ``message`` and ``details`` (:class:`Verdict`) — the shape of
``flows.serving.probe.probe``, which ``cubeops status serve`` plugs in when it is installed.
:func:`http_probe` is the built-in default: a plain ``GET {url}/health`` with the standard
library (no torch, no MLflow); :func:`serving_verdict` turns what it saw into a state and is pure.

The serving stage's publish tells the probe where to look and what to expect:
``details["url"]`` (or ``links["url"]``/``links["endpoint"]``) is the served base URL, and
``details["champion_version"]`` (or ``details["version"]``) the version ``@champion`` pointed to
when it was deployed. ``/health`` answers JSON with the served ``version``; ``"status":
"degraded"`` or ``"drift": true`` there are taken at their word.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from status.model import StageStatus

# Serving states the probe owns; others (deploying) belong to the deploy flow.
PROBED_STATES = frozenset({"live", "degraded", "down", "drift"})


@dataclass(frozen=True)
class Verdict:
    """What a probe concluded: the serving state, its badge message, and what it saw."""

    state: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class Probe(Protocol):
    """Look at one served model."""

    def __call__(self, url: str, champion: str | None, timeout: float, degraded_after: float) -> Any:
        """A :class:`Verdict` (or any object with ``state``, ``message`` and ``details``)."""


@dataclass(frozen=True)
class HealthAnswer:
    """What one ``GET /health`` returned."""

    ok: bool
    seconds: float
    status: int | None = None
    version: str | None = None
    error: str | None = None
    health: dict[str, Any] = field(default_factory=dict)


def serving_url(status: StageStatus) -> str | None:
    """The served base URL a serving status names, if any."""
    for value in (status.details.get("url"), status.links.get("url"), status.links.get("endpoint")):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value.rstrip("/")
    return None


def champion_version(status: StageStatus) -> str | None:
    """The champion version recorded when the model was deployed."""
    for key in ("champion_version", "version"):
        value = status.details.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def get_health(url: str, timeout: float, clock: Callable[[], float] = time.perf_counter) -> HealthAnswer:
    """``GET {url}/health``: ok on a 2xx answer, with the ``version`` its JSON names."""
    started = clock()
    request = urllib.request.Request(f"{url.rstrip('/')}/health", headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - http(s) only, see serving_url
            body = resp.read(65536)
            status = resp.status
    except urllib.error.HTTPError as exc:
        return HealthAnswer(False, clock() - started, exc.code, error=f"HTTP {exc.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        kind = "timeout" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else "unreachable"
        return HealthAnswer(False, clock() - started, error=kind)
    seconds = clock() - started
    try:
        health = json.loads(body or b"{}")
    except ValueError:
        health = {}
    if not isinstance(health, dict):
        health = {}
    version = health.get("version")
    return HealthAnswer(True, seconds, status, None if version is None else str(version), health=health)


def serving_verdict(answer: HealthAnswer, champion: str | None, degraded_after: float) -> tuple[str, str]:
    """The serving state and badge message a ``/health`` answer means."""
    if not answer.ok:
        return "down", f"down · {answer.error or 'no answer'}"
    if answer.health.get("drift") is True:
        return "drift", "drift"
    if champion is not None and answer.version is not None and answer.version != champion:
        return "drift", f"drift · v{answer.version} ≠ champion v{champion}"
    if answer.seconds > degraded_after or answer.health.get("status") == "degraded":
        return "degraded", f"degraded · {answer.seconds:.1f}s"
    return "live", f"live · v{answer.version}" if answer.version else "live"


def http_probe(url: str, champion: str | None, timeout: float, degraded_after: float) -> Verdict:
    """The default probe: one ``GET /health``, judged by :func:`serving_verdict`."""
    answer = get_health(url, timeout)
    state, message = serving_verdict(answer, champion, degraded_after)
    seen = {
        "url": f"{url}/health",
        "champion": champion,
        "latency_s": round(answer.seconds, 3),
        "status": answer.status,
        "version": answer.version,
        "error": answer.error,
    }
    return Verdict(state, message, seen)


def needs_publish(current: StageStatus, state: str, message: str) -> bool:
    """Whether a verdict changes what the badge says (latency jitter alone does not)."""
    if state != current.state:
        return True
    return state in ("live", "drift") and message != current.message
