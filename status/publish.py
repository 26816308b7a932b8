"""One ``publish`` for every flow: to the local status store, or over HTTP to a status server.

A flow never fails because its status could not be published: the publisher logs a warning and
carries on (the badge will then show the last state it knew, and the reconciler marks a silent
stage stalled).
"""

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Protocol

from flows.errors import StatusError
from status.model import ProjectInfo, StatusUpdate

log = logging.getLogger(__name__)

TOKEN_ENV = "CUBEOPS_STATUS_TOKEN"


class Backend(Protocol):
    """Where status updates go."""

    def publish(self, info: ProjectInfo, update: StatusUpdate) -> None:
        """Record one update."""

    def heartbeat(self, project: str, stage: str) -> None:
        """Refresh a stage's heartbeat."""


class LocalBackend:
    """Writes straight into a status store (sqlite by default, any SQLAlchemy URL)."""

    def __init__(self, url: str):
        from status.store import StatusStore

        self.store = StatusStore(url)

    def publish(self, info: ProjectInfo, update: StatusUpdate) -> None:
        """Record one update in the store."""
        self.store.publish(info, update)

    def heartbeat(self, project: str, stage: str) -> None:
        """Refresh the heartbeat in the store."""
        self.store.heartbeat(project, stage)


class RemoteBackend:
    """POSTs to a cubeops status server with a write token (``Authorization: Bearer``)."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0, retries: int = 3, session: Any = None):
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        retry = Retry(total=retries, backoff_factor=0.3, status_forcelist=(502, 503, 504), allowed_methods=None)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _post(self, path: str, body: dict[str, Any]) -> None:
        import requests

        url = f"{self.base_url}{path}"
        try:
            resp = self.session.post(url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise StatusError(f"status server {self.base_url} is unreachable: {type(exc).__name__}") from None
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("error", resp.text[:200])
            except ValueError:
                detail = resp.text[:200]
            raise StatusError(f"status server {self.base_url} refused the publish ({resp.status_code}): {detail}")

    def publish(self, info: ProjectInfo, update: StatusUpdate) -> None:
        """POST the update to ``/api/v1/cubes/status/{stage}``."""
        body = {
            "repositoryOwnerPlusName": update.project,
            "state": update.state,
            "message": update.message,
            "links": update.links,
            "details": update.details,
            "visibility": info.visibility,
            "stale_after_s": info.stale_after.total_seconds(),
            "heartbeat_ttl_s": info.heartbeat_ttl.total_seconds(),
        }
        self._post(f"/api/v1/cubes/status/{update.stage}", body)

    def heartbeat(self, project: str, stage: str) -> None:
        """POST a heartbeat to ``/api/v1/cubes/status/{stage}/heartbeat``."""
        self._post(f"/api/v1/cubes/status/{stage}/heartbeat", {"repositoryOwnerPlusName": project})


class Publisher:
    """Publishes one project's status; never raises (a lost update is logged, not fatal)."""

    def __init__(self, info: ProjectInfo, backend: Backend, strict: bool = False):
        self.info = info
        self.backend = backend
        self.strict = strict
        self.failures: list[str] = []

    def publish(
        self,
        stage: str,
        state: str,
        message: str = "",
        links: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """Publish a state; True when it was recorded."""
        update = StatusUpdate(self.info.name, stage, state, message, dict(links or {}), dict(details or {}))
        try:
            self.backend.publish(self.info, update)
        except StatusError as exc:
            return self._failed(f"{stage} → {state}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a status store hiccup must not stop training
            return self._failed(f"{stage} → {state}: {type(exc).__name__}: {exc}")
        return True

    def heartbeat(self, stage: str) -> bool:
        """Refresh a stage's heartbeat; True when it was recorded."""
        try:
            self.backend.heartbeat(self.info.name, stage)
        except Exception as exc:  # noqa: BLE001
            return self._failed(f"{stage} heartbeat: {type(exc).__name__}: {exc}")
        return True

    def _failed(self, what: str) -> bool:
        self.failures.append(what)
        if self.strict:
            raise StatusError(f"status not published: {what}")
        log.warning("status not published: %s", what)
        return False


def publisher_for(spec: Any, layout: Any, environ: Mapping[str, str] | None = None) -> Publisher:
    """The publisher a flow uses: remote when the spec sets ``status.url``, else the local store.

    The write token comes from ``CUBEOPS_STATUS_TOKEN`` in the environment, never from the spec.
    """
    env = os.environ if environ is None else environ
    info = ProjectInfo(
        name=spec.project,
        visibility=spec.visibility,
        stale_after=spec.status.stale_after,
        heartbeat_ttl=spec.status.heartbeat_ttl,
    )
    if spec.status.url:
        token = env.get(TOKEN_ENV)
        if not token:
            raise StatusError(
                f"status.url is {spec.status.url} but {TOKEN_ENV} is not set; "
                f"create a write token with `cubeops token create --project {spec.project} --write`"
            )
        return Publisher(info, RemoteBackend(spec.status.url, token))
    return Publisher(info, LocalBackend(layout.status_store))


def update_as_dict(update: StatusUpdate) -> dict[str, Any]:
    """A plain dict of an update (for events and webhooks)."""
    return asdict(update)
