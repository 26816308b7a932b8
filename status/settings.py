"""Settings of the status service, from the project spec and an environment mapping.

Entry points build these (the CLI from ``cubeops.yaml`` and ``os.environ``; tests from a dict);
the service only receives them.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.errors import StatusError
from status.reconciler import ReconcilerSettings

PUBLIC_URL_ENV = "CUBEOPS_STATUS_PUBLIC_URL"
POLL_ENV = "CUBEOPS_STATUS_POLL_S"


@dataclass(frozen=True)
class StatusSettings:
    """Everything the status service needs to know."""

    store_url: str
    """SQLAlchemy URL of the status store."""
    public_url: str = ""
    """Base URL the service is reached at, for the project-page links; empty gives relative links."""
    reconciler: ReconcilerSettings = field(default_factory=ReconcilerSettings)
    cache_size: int = 4096
    """Rendered badges kept in memory."""
    max_body_bytes: int = 256 * 1024
    """Largest publish request accepted."""


def _positive(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise StatusError(f"{name}={raw!r} is not a number of seconds") from None
    if not value > 0:
        raise StatusError(f"{name}={raw!r} must be greater than 0")
    return value


def settings_from_spec(spec: Any, store_url: str, environ: Mapping[str, str] | None = None) -> StatusSettings:
    """Settings for serving ``store_url`` with the serve-side spec's probe cadence and public URL.

    ``CUBEOPS_STATUS_PUBLIC_URL`` overrides ``status.url`` as the base of project-page links;
    ``CUBEOPS_STATUS_POLL_S`` sets how often the store is checked for changes (default 0.25 s).
    """
    env = os.environ if environ is None else environ
    public_url = (env.get(PUBLIC_URL_ENV) or spec.status.url or "").rstrip("/")
    if public_url and not public_url.startswith(("http://", "https://")):
        raise StatusError(f"{PUBLIC_URL_ENV}={public_url!r} must start with http:// or https://")
    reconciler = ReconcilerSettings(
        poll_interval=_positive(env, POLL_ENV, 0.25),
        probe_every=spec.serving.probe_every.total_seconds(),
        degraded_after=spec.serving.degraded_after.total_seconds(),
        probe_timeout=max(1.0, min(10.0, spec.serving.degraded_after.total_seconds() * 2.5)),
    )
    return StatusSettings(store_url=store_url, public_url=public_url, reconciler=reconciler)
