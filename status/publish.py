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
from status.model import ProjectInfo, StatusChange, StatusUpdate

log = logging.getLogger(__name__)

TOKEN_ENV = "CUBEOPS_STATUS_TOKEN"


class Backend(Protocol):
    """Where status updates go."""

    def publish(self, info: ProjectInfo, update: StatusUpdate) -> StatusChange | None:
        """Record one update; a backend that knows the state it replaced returns the change."""

    def heartbeat(self, project: str, stage: str) -> None:
        """Refresh a stage's heartbeat."""


class LocalBackend:
    """Writes straight into a status store (sqlite by default, any SQLAlchemy URL)."""

    def __init__(self, url: str):
        from status.store import StatusStore

        self.store = StatusStore(url)

    def publish(self, info: ProjectInfo, update: StatusUpdate) -> StatusChange:
        """Record one update in the store; returns the state it replaced with the new status."""
        return self.store.publish_change(info, update)

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
        if info.webhooks is not None:
            # The server announces the changes it records, so it needs to know where to.
            body["webhooks"] = list(info.webhooks)
        self._post(f"/api/v1/cubes/status/{update.stage}", body)

    def heartbeat(self, project: str, stage: str) -> None:
        """POST a heartbeat to ``/api/v1/cubes/status/{stage}/heartbeat``."""
        self._post(f"/api/v1/cubes/status/{stage}/heartbeat", {"repositoryOwnerPlusName": project})


class Publisher:
    """Publishes one project's status; never raises (a lost update is logged, not fatal)."""

    def __init__(self, info: ProjectInfo, backend: Backend, strict: bool = False, notifier: Any = None):
        self.info = info
        self.backend = backend
        self.strict = strict
        self.notifier = notifier
        """A :class:`status.notify.Notifier` announcing the changes this publisher records, or None."""
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
            recorded = self.backend.publish(self.info, update)
        except StatusError as exc:
            return self._failed(f"{stage} → {state}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a status store hiccup must not stop training
            return self._failed(f"{stage} → {state}: {type(exc).__name__}: {exc}")
        if self.notifier is not None and isinstance(recorded, StatusChange):
            self.notifier.notify(recorded, self.info.webhooks or ())
        return True

    def close(self, timeout: float = 30.0) -> bool:
        """Wait (at most ``timeout`` seconds) for the change notifications still queued; True when none is left."""
        if self.notifier is None:
            return True
        return self.notifier.flush(timeout)

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
    Locally the publisher announces each state change to ``status.webhooks``; remotely the status
    server does.
    """
    env = os.environ if environ is None else environ
    info = ProjectInfo(
        name=spec.project,
        visibility=spec.visibility,
        stale_after=spec.status.stale_after,
        heartbeat_ttl=spec.status.heartbeat_ttl,
        webhooks=tuple(spec.status.webhooks),
    )
    if spec.status.url:
        token = env.get(TOKEN_ENV)
        if not token:
            raise StatusError(
                f"status.url is {spec.status.url} but {TOKEN_ENV} is not set; "
                f"create a write token with `cubeops token create --project {spec.project} --write`"
            )
        return Publisher(info, RemoteBackend(spec.status.url, token))
    notifier = None
    if spec.status.webhooks:
        from status.notify import notifier_for

        notifier = notifier_for(layout.status_store)
    return Publisher(info, LocalBackend(layout.status_store), notifier=notifier)


def update_as_dict(update: StatusUpdate) -> dict[str, Any]:
    """A plain dict of an update (for events and webhooks)."""
    return asdict(update)
