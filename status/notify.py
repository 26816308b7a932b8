"""Change notifications wired into publishing: who sends an event, when, and where failures go.

Whoever records a change tells the world about it, so each change is announced once: a flow
publishing to its local store announces its own changes (:class:`status.publish.Publisher`); a
status server announces what reaches it through its API and what its probes find
(:class:`NotifyingReconciler`). Only a change of state is announced, never a progress message
within one state. Delivery is :class:`status.webhooks.WebhookSender`'s (a background thread,
retries, backoff); a delivery that fails after every retry is recorded in the status store, and
the project page lists it.
"""

import atexit
import logging
import threading
from collections.abc import Sequence

from status.model import StatusChange
from status.params import BadInput
from status.reconciler import Reconciler
from status.store import StatusStore
from status.webhooks import ChangeEvent, DeliveryFailure, WebhookSender

log = logging.getLogger(__name__)

MAX_WEBHOOKS = 10
MAX_URL_CHARS = 2048
FLUSH_AT_EXIT_S = 10.0


def change_event(change: StatusChange) -> ChangeEvent | None:
    """The event a publish announces, or None when the state did not change."""
    if not change.changed:
        return None
    st = change.status
    return ChangeEvent(st.project, st.stage, st.state, change.previous_state, st.message, st.updated_at, dict(st.links))


def check_webhooks(value: object) -> tuple[str, ...]:
    """The ``webhooks`` of a publish request: at most ten http(s) URLs; :class:`BadInput` otherwise."""
    problem = f"must be a list of at most {MAX_WEBHOOKS} http(s) URLs"
    if not isinstance(value, list) or len(value) > MAX_WEBHOOKS:
        raise BadInput("webhooks", problem)
    for url in value:
        if (
            not isinstance(url, str)
            or len(url) > MAX_URL_CHARS
            or not url.startswith(("http://", "https://"))
            or any(ch.isspace() or ord(ch) < 32 for ch in url)
        ):
            raise BadInput("webhooks", problem)
    return tuple(value)


class Notifier:
    """Sends the change events of one status store's projects; records failed deliveries there.

    One sender (one thread) per distinct set of URLs, made on first use and reused.
    """

    def __init__(self, store: StatusStore, retries: int = 3, backoff: float = 0.5, timeout: float = 5.0):
        self.store = store
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._senders: dict[tuple[str, ...], WebhookSender] = {}
        self._lock = threading.Lock()

    def _sender(self, urls: tuple[str, ...]) -> WebhookSender:
        with self._lock:
            sender = self._senders.get(urls)
            if sender is None:
                sender = WebhookSender(
                    urls, on_failure=self.record, retries=self.retries, backoff=self.backoff, timeout=self.timeout
                )
                self._senders[urls] = sender
            return sender

    def notify(self, change: StatusChange, urls: Sequence[str]) -> bool:
        """Queue the change's event for ``urls``; True when one was queued. Never raises, never blocks."""
        try:
            event = change_event(change)
            if event is None or not urls:
                return False
            self._sender(tuple(urls)).send(event)
            return True
        except Exception:  # noqa: BLE001 - a notification must never fail a publish
            log.exception("could not queue the change notification")
            return False

    def record(self, failure: DeliveryFailure) -> None:
        """Record a failed delivery in the store (the sender's ``on_failure``)."""
        ev = failure.event
        self.store.record_webhook_failure(
            ev.project, ev.stage, ev.state, ev.previous_state, failure.url, failure.attempts, failure.error
        )

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait for every queued event to be delivered or recorded as failed; False if time ran out."""
        with self._lock:
            senders = list(self._senders.values())
        return all(s.flush(timeout) for s in senders)


_local: dict[str, Notifier] = {}
_local_lock = threading.Lock()


def _flush_local() -> None:
    # Senders run on daemon threads: without this, events queued just before a flow process
    # exits would be lost with it.
    for notifier in list(_local.values()):
        notifier.flush(FLUSH_AT_EXIT_S)


def notifier_for(store_url: str) -> Notifier:
    """The process's notifier for a local status store (shared by every publisher of the process)."""
    with _local_lock:
        notifier = _local.get(store_url)
        if notifier is None:
            if not _local:
                atexit.register(_flush_local)
            notifier = _local[store_url] = Notifier(StatusStore(store_url))
        return notifier


class NotifyingReconciler(Reconciler):
    """The status server's reconciler, announcing the serving changes its probes publish."""

    def __init__(self, notifier: Notifier, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.notifier = notifier

    def run_probes(self, due):  # noqa: ANN001, ANN201 - the parent's signature
        """Probe and publish as the parent does; announce each state the probes changed."""
        before = {info.name: status.state for info, status, _ in due}
        published = super().run_probes(due)
        for info, status in published:
            try:
                urls = self.store.webhooks(info.name)
            except Exception:  # noqa: BLE001 - the badge matters more than the message
                log.exception("could not read the webhooks of %s", info.name)
                continue
            self.notifier.notify(StatusChange(before.get(info.name), status), urls)
        return published
