"""Change notifications: on each state change, POST a JSON event to every configured URL.

Delivery happens on a background thread with retries and exponential backoff, so a slow or
failing receiver never blocks or fails a flow; each delivery that finally fails is handed to an
``on_failure`` callback (the status store records it, and the project page shows it).
"""

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeEvent:
    """A stage of a project moved from one state to another."""

    project: str
    stage: str
    state: str
    previous_state: str | None
    message: str
    at: datetime
    links: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryFailure:
    """A webhook that could not be delivered after every retry."""

    url: str
    """The receiver, redacted to scheme and host."""
    event: ChangeEvent
    attempts: int
    error: str


def event_payload(event: ChangeEvent) -> dict[str, Any]:
    """The JSON body: the event's fields, plus a Slack-compatible ``text``."""
    was = f" (was {event.previous_state})" if event.previous_state else ""
    return {
        "event": "cubeops.status.changed",
        "project": event.project,
        "stage": event.stage,
        "state": event.state,
        "previous_state": event.previous_state,
        "message": event.message,
        "at": event.at.isoformat(),
        "links": event.links,
        "text": f"{event.project} · {event.stage}: {event.message or event.state}{was}",
    }


def redact_url(url: str) -> str:
    """Scheme and host only: webhook paths often carry a secret (Slack's do)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…" if parts.path not in ("", "/") or parts.query else f"{parts.scheme}://{host}{port}/"


class WebhookSender:
    """Delivers events to URLs from one daemon thread; ``send`` never blocks."""

    def __init__(
        self,
        urls: Sequence[str],
        on_failure: Callable[[DeliveryFailure], None] | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        session: Any = None,
    ):
        self.urls = list(urls)
        self.on_failure = on_failure
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._session = session
        self._queue: queue.Queue[ChangeEvent | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.failed: list[DeliveryFailure] = []

    def send(self, event: ChangeEvent) -> None:
        """Queue an event for every URL."""
        if not self.urls:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cubeops-webhooks", daemon=True)
            self._thread.start()
        self._queue.put(event)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event is delivered or given up on; False if time ran out."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _run(self) -> None:
        import requests

        session = self._session or requests.Session()
        while True:
            event = self._queue.get()
            try:
                if event is not None:
                    for url in self.urls:
                        self._deliver(session, url, event)
            finally:
                self._queue.task_done()

    def _deliver(self, session: Any, url: str, event: ChangeEvent) -> None:
        import requests

        body = event_payload(event)
        error = ""
        for attempt in range(1, self.retries + 2):
            try:
                resp = session.post(url, json=body, timeout=self.timeout)
                if resp.status_code < 300:
                    self.delivered += 1
                    return
                error = f"HTTP {resp.status_code}"
                if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
                    break  # the receiver refuses this event; retrying will not help
            except requests.RequestException as exc:
                error = type(exc).__name__
            if attempt <= self.retries:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        failure = DeliveryFailure(redact_url(url), event, attempt, error)
        self.failed.append(failure)
        log.warning("webhook %s not delivered after %d attempt(s): %s", failure.url, attempt, error)
        if self.on_failure is not None:
            try:
                self.on_failure(failure)
            except Exception:  # noqa: BLE001 - recording a failure must not kill the sender
                log.exception("could not record the webhook failure")
