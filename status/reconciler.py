"""Keeps the in-memory view true: reloads the store, derives stale/stalled, probes serving.

Runs beside the status service as one background task. Each tick (a fraction of a second) it
checks the store's fingerprint and reloads on change, so a publish from any process shows in
the badges within a second; re-derives the states that time alone produces; writes token
last-used times and leak revocations back to the store. Every ``probe_every`` seconds it probes
each served model that a serving status names (:mod:`status.probe`) and publishes a transition
(live, degraded, down, drift) when the answer changes what the badge says.

Database reads, writes and probes run in worker threads; only the event loop touches the view.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from status.model import ProjectInfo, StageStatus, StatusUpdate, utcnow
from status.probe import PROBED_STATES, Probe, champion_version, http_probe, needs_publish, serving_url
from status.snapshot import Snapshot, load_snapshot, store_fingerprint
from status.store import StatusStore
from status.tokens import TokenRecord, record_use, revoke_leaked
from status.view import StatusView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcilerSettings:
    """How often the reconciler looks, and what counts as slow."""

    poll_interval: float = 0.25
    probe_every: float = 30.0
    degraded_after: float = 2.0
    probe_timeout: float = 5.0
    flush_every: float = 5.0


class Reconciler:
    """Refreshes a :class:`StatusView` from a :class:`StatusStore` and probes served models."""

    def __init__(
        self,
        store: StatusStore,
        view: StatusView,
        settings: ReconcilerSettings = ReconcilerSettings(),
        probe: Probe = http_probe,
        clock: Callable[[], datetime] = utcnow,
        on_leak: Callable[[TokenRecord], None] | None = None,
    ):
        self.store = store
        self.view = view
        self.settings = settings
        self.probe = probe
        self.clock = clock
        self.on_leak = on_leak
        self.store_ok = True
        self.last_error: str | None = None
        self._last_probe: dict[str, float] = {}
        self._last_flush = 0.0

    # -- blocking steps (worker threads) ---------------------------------------------------------

    def read_changes(self, known: tuple | None) -> Snapshot | None:
        """A fresh snapshot when the store changed since ``known``, else None."""
        if known is not None and store_fingerprint(self.store) == known:
            return None
        return load_snapshot(self.store)

    def write_pending(self, uses: dict[int, datetime], leaks: set[str]) -> list[TokenRecord]:
        """Write token last-used times; revoke leaked write tokens. Returns the tokens revoked now."""
        record_use(self.store, uses)
        revoked = []
        for digest in leaks:
            record = revoke_leaked(self.store, digest, self.clock())
            if record is not None:
                revoked.append(record)
        return revoked

    def due_probes(self, now_mono: float) -> list[tuple[ProjectInfo, StageStatus, str]]:
        """Serving stages whose model should be probed now (event loop)."""
        due = []
        for (project, stage), status in self.view.stored.items():
            if stage != "serving" or status.state not in PROBED_STATES:
                continue
            url = serving_url(status)
            if url is None:
                continue
            if now_mono - self._last_probe.get(project, -1e18) < self.settings.probe_every:
                continue
            info = self.view.projects.get(project) or ProjectInfo(project)
            due.append((info, status, url))
        return due

    def run_probes(self, due: list[tuple[ProjectInfo, StageStatus, str]]) -> list[tuple[ProjectInfo, StageStatus]]:
        """Probe each target; publish the transitions; returns the new statuses."""
        published = []
        for info, status, url in due:
            self._last_probe[info.name] = time.monotonic()
            try:
                verdict = self.probe(url, champion_version(status), self.settings.probe_timeout, self.settings.degraded_after)
                state, message = verdict.state, verdict.message
                details = dict(verdict.details or {})
            except Exception as exc:  # noqa: BLE001 - a broken probe is no reason to change the badge
                log.warning("probe of %s failed: %s", info.name, type(exc).__name__)
                continue
            if state not in PROBED_STATES:
                log.warning("probe of %s answered an unknown serving state %r", info.name, state)
                continue
            if not needs_publish(status, state, message):
                continue
            details["at"] = self.clock().isoformat()
            update = StatusUpdate(
                info.name, "serving", state, message, dict(status.links), {**status.details, "probe": details}
            )
            published.append((info, self.store.publish(info, update)))
            log.info("%s serving: %s → %s", info.name, status.state, state)
        return published

    # -- one synchronous pass (tests, and the first load before serving) -------------------------

    def tick(self, now: datetime | None = None, probe: bool = True) -> None:
        """Reload if the store changed, re-derive, write pending token writes, probe what is due."""
        now = now or self.clock()
        snapshot = self.read_changes(self.view.fingerprint)
        if snapshot is not None:
            self.view.load(snapshot, now)
        else:
            self.view.derive(now)
        uses, leaks = self.view.take_pending()
        self._after_write(self.write_pending(uses, leaks))
        if probe:
            for info, status in self.run_probes(self.due_probes(time.monotonic())):
                self.view.apply(info, status, now)

    def _after_write(self, revoked: list[TokenRecord]) -> None:
        for record in revoked:
            log.warning(
                "write token %r of %s appeared in a badge URL and was revoked; create a new one and keep it out of URLs",
                record.name,
                record.project,
            )
            if self.on_leak:
                self.on_leak(record)

    # -- the background loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Tick forever (until cancelled); store outages are logged and retried, never fatal."""
        probing: asyncio.Task | None = None
        while True:
            try:
                await self._tick_async()
                self._mark_ok()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep serving the last known state
                self._mark_failed(exc)
            if probing is None or probing.done():
                due = self.due_probes(time.monotonic())
                if due:
                    probing = asyncio.ensure_future(self._probe_async(due))
            await asyncio.sleep(self.settings.poll_interval)

    async def _tick_async(self) -> None:
        snapshot = await asyncio.to_thread(self.read_changes, self.view.fingerprint)
        now = self.clock()
        if snapshot is not None:
            self.view.load(snapshot, now)
        else:
            self.view.derive(now)
        if self.view.pending_leaks or time.monotonic() - self._last_flush >= self.settings.flush_every:
            self._last_flush = time.monotonic()
            uses, leaks = self.view.take_pending()
            try:
                revoked = await asyncio.to_thread(self.write_pending, uses, leaks)
            except Exception:
                # Try again next time rather than lose a revocation.
                self.view.pending_leaks |= leaks
                for token_id, when in uses.items():
                    self.view.pending_uses.setdefault(token_id, when)
                raise
            self._after_write(revoked)

    async def _probe_async(self, due: list[tuple[ProjectInfo, StageStatus, str]]) -> None:
        try:
            published = await asyncio.to_thread(self.run_probes, due)
        except Exception as exc:  # noqa: BLE001
            self._mark_failed(exc)
            return
        now = self.clock()
        for info, status in published:
            self.view.apply(info, status, now)

    def _mark_ok(self) -> None:
        if not self.store_ok:
            log.info("status store is answering again")
        self.store_ok, self.last_error = True, None

    def _mark_failed(self, exc: Exception) -> None:
        message = f"{type(exc).__name__}"
        if self.store_ok or message != self.last_error:
            log.warning("status store unavailable (%s); badges show the last known state", message)
        self.store_ok, self.last_error = False, message
