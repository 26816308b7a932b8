"""The Serving badge's probe: what ``/health`` says, against the registry's ``@champion``.

``probe`` is the status service's timer job: unreachable → ``down``; an error or an answer
slower than ``degraded_after`` → ``degraded``; a healthy server on a version other than the
champion → ``drift``; else ``live``. It imports nothing heavy (the status service never loads
torch); :func:`probe_project` adds the registry lookup, which needs MLflow.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProbeResult:
    """A serving state, its badge message, and what the probe saw."""

    state: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def probe(
    base_url: str,
    expected_version: str | None,
    timeout: float = 5.0,
    degraded_after: float = 2.0,
    token: str | None = None,
    session: Any = None,
    clock: Callable[[], float] = time.monotonic,
) -> ProbeResult:
    """Probe ``GET {base_url}/health`` once; ``expected_version`` is the champion's (None: there is none)."""
    import requests

    http = session or requests
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = base_url.rstrip("/") + "/health"
    seen: dict[str, Any] = {"url": base_url.rstrip("/"), "champion_version": expected_version}
    start = clock()
    try:
        resp = http.get(url, headers=headers, timeout=timeout)
    except requests.ConnectionError as exc:
        if isinstance(exc, requests.ConnectTimeout):
            return ProbeResult("down", "down · no answer", {**seen, "error": "connect timeout"})
        return ProbeResult("down", "down · unreachable", {**seen, "error": type(exc).__name__})
    except requests.Timeout:
        return ProbeResult("degraded", f"degraded · no answer in {timeout:g}s", {**seen, "error": "read timeout"})
    except requests.RequestException as exc:
        return ProbeResult("down", "down · unreachable", {**seen, "error": type(exc).__name__})
    elapsed = clock() - start
    seen["latency_s"] = round(elapsed, 3)
    if resp.status_code != 200:
        return ProbeResult("degraded", f"degraded · /health {resp.status_code}", {**seen, "status": resp.status_code})
    try:
        health = resp.json()
        served = str(health["version"])
    except (ValueError, KeyError, TypeError):
        return ProbeResult("degraded", "degraded · /health unreadable", seen)
    seen.update(version=served, pid=health.get("pid"), run_id=health.get("run_id"))
    if served != expected_version:
        want = f"champion v{expected_version}" if expected_version else "no champion"
        return ProbeResult("drift", f"drift · v{served} served, {want}", seen)
    if elapsed > degraded_after:
        return ProbeResult("degraded", f"degraded · v{served}, /health took {elapsed:.1f}s", seen)
    return ProbeResult("live", f"live · v{served}", seen)


def probe_project(spec: Any, layout: Any, environ: Mapping[str, str] | None = None, session: Any = None) -> ProbeResult:
    """Probe the project's server at ``serving.host:port`` against its registry's current champion."""
    import os

    from flows.contracts import CHAMPION
    from flows.serving.process import base_url
    from registry.client import alias_version, registry_client

    env = os.environ if environ is None else environ
    champion = alias_version(registry_client(layout), spec.model_name, CHAMPION)
    token = env.get(spec.serving.auth.token_env) if spec.serving.auth else None
    degraded_after = spec.serving.degraded_after.total_seconds()
    return probe(
        base_url(spec.serving.host, spec.serving.port),
        champion.version if champion else None,
        timeout=max(5.0, 2 * degraded_after),
        degraded_after=degraded_after,
        token=token,
        session=session,
    )
