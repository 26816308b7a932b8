"""The status service: an ASGI app serving badges, the status API, remote publishing and metrics.

Badge requests (``GET /api/v1/cubes/status/{stage}`` and ``/badge/OWNER/NAME/{stage}.svg``) take
a short path straight from the ASGI scope: parse, check the token against the in-memory index,
look the face up, send cached bytes. They never touch the database, MLflow, Prefect or a model
server, and an image request always gets a 200 with a visible badge. Everything else goes through
Starlette routes. A background :class:`~status.reconciler.Reconciler` keeps the view fresh.

    app = create_app(StatusSettings(store_url="sqlite:///.cubeops/status.db"))
"""

import asyncio
import gc
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from status.badge import STYLES, render_badge
from status.metrics import CONTENT_TYPE as METRICS_TYPE
from status.metrics import Metrics
from status.model import LABELS, STAGES, ProjectInfo, StatusChange, StatusUpdate, utcnow
from status.notify import Notifier, NotifyingReconciler, check_webhooks
from status.openapi import openapi_document
from status.page import refusal_page, render_page
from status.pagedata import read_page_data
from status.params import (
    BadInput,
    bearer_token,
    check_format,
    check_label,
    check_project,
    check_publish,
    check_style,
    parse_query,
    token_of,
)
from status.probe import Probe, http_probe
from status.responses import JSON_TYPE, BadgeCache, Rendered, etag_matches, page_link
from status.settings import StatusSettings
from status.store import StatusStore
from status.tokens import READ, WRITE, TokenRecord, looks_like_write_token
from status.view import StatusView

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

BADGE_PREFIX = "/api/v1/cubes/status/"
ALIAS_PREFIX = "/badge/"
_ROUTE_NAMES = {
    "/api/v1/cubes/status": "status_api",
    "/healthz": "healthz",
    "/metrics": "metrics",
    "/openapi.json": "openapi",
}
NO_ACCESS = "no such project, or no access to it"
PAGE_PARAMS = frozenset({"token", "tab"})
# The page needs no script and nothing from elsewhere; it sends no referrer, so a token in its
# address never travels on to the MLflow or Prefect links it holds.
_PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def _wants_json(accept: bytes | None) -> bool:
    # Shields' endpoint fetcher asks for application/json; image proxies ask for image/*.
    return accept is not None and b"application/json" in accept and b"image/" not in accept


class StatusApp:
    """The ASGI application; :func:`create_app` builds one."""

    def __init__(
        self,
        settings: StatusSettings,
        store: StatusStore | None = None,
        probe: Probe = http_probe,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.settings = settings
        self.store = store or StatusStore(settings.store_url)
        self.clock = clock
        self.view = StatusView(clock())
        self.metrics = Metrics()
        self.view.token_uses = self.metrics.tokens_used
        self.cache = BadgeCache(settings.public_url, settings.cache_size)
        self.notifier = Notifier(self.store)
        self.reconciler = NotifyingReconciler(
            self.notifier, self.store, self.view, settings.reconciler, probe, clock, on_leak=self._on_leak
        )
        self._error_faces: dict[tuple, Rendered] = {}
        self.api = Starlette(
            routes=[
                Route("/api/v1/cubes/status", self.status_api, methods=["GET"]),
                Route("/api/v1/cubes/status/{stage}", self.publish, methods=["POST"]),
                Route("/api/v1/cubes/status/{stage}/heartbeat", self.heartbeat, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.metrics_text, methods=["GET"]),
                Route("/openapi.json", self.openapi, methods=["GET"]),
                Route("/{owner}/{name}", self.page, methods=["GET"]),
            ],
            exception_handlers={404: self._not_found, 405: self._not_allowed},
            lifespan=self._lifespan,
        )

    # -- ASGI entry ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            if path.startswith(BADGE_PREFIX):
                # Every GET here is an image request, even a malformed one: it gets a badge.
                await self._badge(scope, send, path[len(BADGE_PREFIX):], None, None, "badge")
                return
            if path.startswith(ALIAS_PREFIX):
                await self._alias(scope, send, path[len(ALIAS_PREFIX):])
                return
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        await self._routed(scope, receive, send)

    async def _routed(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        code = 500

        async def send_and_note(message: MutableMapping[str, Any]) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.api(scope, receive, send_and_note)
        finally:
            path = scope["path"]
            route = _ROUTE_NAMES.get(path)
            if route is None:
                if path.startswith(BADGE_PREFIX):
                    route = "heartbeat" if path.endswith("/heartbeat") else "publish"
                else:
                    route = "other"
            self.metrics.observe(route, code, time.perf_counter() - started)

    # -- badges ----------------------------------------------------------------------------------

    async def _alias(self, scope: Scope, send: Send, rest: str) -> None:
        # /badge/OWNER/NAME/{stage}.svg (or .json): the project is in the path.
        parts = rest.split("/")
        if len(parts) != 3 or "." not in parts[2]:
            await self._badge(scope, send, None, None, None, "badge_alias", BadInput("path", "use /badge/OWNER/NAME/STAGE.svg", "bad badge path"))
            return
        stage, _, ext = parts[2].rpartition(".")
        if ext not in ("svg", "json"):
            await self._badge(scope, send, stage, None, None, "badge_alias", BadInput("path", "use .svg or .json", "bad badge path"))
            return
        await self._badge(scope, send, stage, f"{parts[0]}/{parts[1]}", ext, "badge_alias")

    async def _badge(
        self,
        scope: Scope,
        send: Send,
        stage: str | None,
        path_project: str | None,
        path_format: str | None,
        route: str,
        early: BadInput | None = None,
    ) -> None:
        started = time.perf_counter()
        accept = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value
            elif name == b"if-none-match":
                if_none_match = value
        try:
            status, headers, body = self._badge_reply(stage, scope["query_string"], accept, if_none_match, path_project, path_format, early)
        except Exception:  # noqa: BLE001 - an image request must still get an image
            log.exception("badge request failed")
            rendered = self._error_badge(LABELS.get(stage or "", "status"), "error", "flat")
            status, headers, body = 200, rendered.headers, rendered.body
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
        self.metrics.observe(route, status, time.perf_counter() - started)

    def _badge_reply(
        self,
        stage: str | None,
        raw_query: bytes,
        accept: bytes | None,
        if_none_match: bytes | None,
        path_project: str | None,
        path_format: str | None,
        early: BadInput | None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        fmt = path_format or ("json" if _wants_json(accept) else "svg")
        style, label = "flat", None
        try:
            if early is not None:
                raise early
            query = parse_query(raw_query)
            fmt = check_format(query.get("format")) or fmt
            style = check_style(query.get("style"))
            label = check_label(query.get("label"))
            if stage not in STAGES:
                raise BadInput("stage", f"unknown stage; stages are {', '.join(STAGES)}", "unknown stage")
            project = path_project if path_project is not None else query.get("repositoryOwnerPlusName")
            project = check_project(project)
            token = token_of(query.get("token"))
        except BadInput as bad:
            if fmt == "json":
                code = 404 if bad.param == "stage" else 400
                return code, [(b"content-type", JSON_TYPE)], json.dumps({"error": str(bad)}).encode()
            shown = label if label is not None else LABELS.get(stage or "", "status")
            rendered = self._error_badge(shown, bad.short, style)
            return 200, rendered.headers, rendered.body

        face, opened = self.view.badge_face(project, stage, token)
        shown_label = LABELS[stage] if label is None else label
        # A refusal is keyed and rendered without the project: every "no" is the same bytes.
        key = (face.serial, opened, style, shown_label, fmt)
        rendered = self.cache.get(key)
        if rendered is None:
            self.metrics.cache_misses += 1
            rendered = self.cache.put(
                key, self.cache.render(shown_label, face.message, face.color, face.last_modified, style, fmt, opened, stage)
            )
        else:
            self.metrics.cache_hits += 1
        if if_none_match is not None and etag_matches(if_none_match, rendered.etag):
            return 304, rendered.not_modified_headers, b""
        return 200, rendered.headers, rendered.body

    def _error_badge(self, label: str, message: str, style: str) -> Rendered:
        key = (label, message, style)
        rendered = self._error_faces.get(key)
        if rendered is None:
            if len(self._error_faces) > 1024:
                self._error_faces.clear()
            rendered = self.cache.render(label, message, "red", self.view.started_at, style, "svg", None, None, is_error=True)
            self._error_faces[key] = rendered
        return rendered

    # -- JSON API --------------------------------------------------------------------------------

    async def status_api(self, request: Request) -> Response:
        """``GET /api/v1/cubes/status``: every stage of one project."""
        try:
            query = parse_query(request.scope["query_string"])
            project = check_project(query.get("repositoryOwnerPlusName"))
        except BadInput as bad:
            return JSONResponse({"error": str(bad)}, 400)
        header_token = bearer_token(request.headers.get("authorization"))
        if not self.view.readable(project, token_of(query.get("token")), header_token):
            return JSONResponse({"error": NO_ACCESS}, 404)
        info = self.view.projects[project]
        stages = {}
        for stage, (stored, face) in self.view.stage_statuses(project).items():
            stages[stage] = {
                "state": face.state,
                "message": face.message,
                "color": face.color,
                "updatedAt": stored.updated_at.isoformat() if stored else None,
                "heartbeatAt": stored.heartbeat_at.isoformat() if stored and stored.heartbeat_at else None,
                "links": dict(stored.links) if stored else {},
                "page": page_link(self.settings.public_url, project, stage),
                "badge": f"{self.settings.public_url}{BADGE_PREFIX}{stage}?repositoryOwnerPlusName={project}",
            }
        return JSONResponse({"repositoryOwnerPlusName": project, "visibility": info.visibility, "stages": stages})

    def _write_access(self, request: Request, project: str) -> tuple[TokenRecord | None, Response | None]:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return None, JSONResponse(
                {"error": "a write token is required: Authorization: Bearer <token> (cubeops token create --write)"},
                401,
                headers={"www-authenticate": "Bearer"},
            )
        record = self.view.tokens.verify(token, project, (WRITE,))
        if record is not None:
            self.metrics.token_used(WRITE)
            return record, None
        found = self.view.tokens.find(token)
        if found is not None and found.active and found.scope == READ:
            return None, JSONResponse({"error": "a read token cannot publish; use a write token"}, 403)
        if found is not None and found.active and found.project != project:
            return None, JSONResponse({"error": f"this write token does not belong to {project}"}, 403)
        return None, JSONResponse({"error": "invalid or revoked token"}, 401, headers={"www-authenticate": "Bearer"})

    def _url_token_leak(self, request: Request) -> Response | None:
        try:
            token = token_of(parse_query(request.scope["query_string"], frozenset()).get("token"))
        except BadInput:
            return None
        if token is not None and looks_like_write_token(token):
            self.view.report_leak(token)
            return JSONResponse({"error": "a write token was sent in a URL and is now revoked; create a new one"}, 401)
        return None

    async def _json_body(self, request: Request) -> Any:
        size, chunks = 0, []
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.settings.max_body_bytes:
                raise BadInput("body", f"larger than {self.settings.max_body_bytes // 1024} kB")
            chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks) or b"null")
        except ValueError:
            raise BadInput("body", "is not JSON") from None
        except RecursionError:
            # A few kB of "[[[[…" is valid JSON that the decoder cannot nest into: refuse it, don't crash.
            raise BadInput("body", "is nested too deeply") from None

    async def _write_request(self, request: Request) -> tuple[str, str, dict] | Response:
        """Stage, project and body of a write (publish or heartbeat), or the response refusing it."""
        stage = request.path_params["stage"]
        if stage not in STAGES:
            return JSONResponse({"error": f"unknown stage {stage[:20]!r}; stages are {', '.join(STAGES)}"}, 404)
        leak = self._url_token_leak(request)
        if leak is not None:
            return leak
        try:
            body = await self._json_body(request)
            project = check_project(body.get("repositoryOwnerPlusName") if isinstance(body, dict) else None)
        except BadInput as bad:
            return JSONResponse({"error": str(bad)}, 413 if "kB" in bad.problem else 422)
        _, refused = self._write_access(request, project)
        if refused is not None:
            return refused
        return stage, project, body

    async def publish(self, request: Request) -> Response:
        """``POST /api/v1/cubes/status/{stage}``: record a state sent by a remote flow."""
        checked = await self._write_request(request)
        if isinstance(checked, Response):
            return checked
        stage, project, body = checked
        try:
            webhooks = check_webhooks(body.pop("webhooks")) if "webhooks" in body else None
            info, update = check_publish(stage, body, self.view.projects.get(project))
        except BadInput as bad:
            return JSONResponse({"error": str(bad)}, 422)
        if webhooks is not None:
            info = replace(info, webhooks=webhooks)
        status = (await run_in_threadpool(self._record, info, update)).status
        self.view.apply(info, status, self.clock())
        return JSONResponse({"ok": True, "eventId": status.event_id, "state": status.state, "message": status.message})

    def _record(self, info: ProjectInfo, update: StatusUpdate) -> StatusChange:
        # A worker thread: store the publish, then announce it if the state changed.
        change = self.store.publish_change(info, update)
        urls = info.webhooks if info.webhooks is not None else self.store.webhooks(info.name)
        self.notifier.notify(change, urls)
        return change

    async def heartbeat(self, request: Request) -> Response:
        """``POST /api/v1/cubes/status/{stage}/heartbeat``: a running stage is still alive."""
        checked = await self._write_request(request)
        if isinstance(checked, Response):
            return checked
        stage, project, _ = checked
        now = self.clock()
        if not await run_in_threadpool(self.store.heartbeat, project, stage, now):
            return JSONResponse({"error": f"{project} has published no {stage} state yet"}, 404)
        self.view.heartbeat(project, stage, now)
        return JSONResponse({"ok": True})

    async def page(self, request: Request) -> Response:
        """``GET /OWNER/NAME?tab=Dataset|Training|Deployment``: the project page, where the badges link.

        Private projects open with a read token (``?token=`` or ``Authorization: Bearer``), by the
        badges' rules; every refusal is the same 404 page. The page never shows a token.
        """
        try:
            query = parse_query(request.scope["query_string"], PAGE_PARAMS)
            project = check_project(f"{request.path_params['owner']}/{request.path_params['name']}")
        except BadInput:
            return self._page_refused(request)
        token = token_of(query.get("token"))
        if not self.view.readable(project, token, bearer_token(request.headers.get("authorization"))):
            return self._page_refused(request)
        try:
            data = await run_in_threadpool(read_page_data, self.store, project, self.clock())
        except Exception as exc:  # noqa: BLE001 - the store is down: say so, the badges still answer
            log.warning("project page of %s unavailable: %s", project, type(exc).__name__)
            return PlainTextResponse("the status store is unavailable; try again shortly", 503)
        private = self.view.projects[project].visibility != "public"
        headers = {**_PAGE_HEADERS, "cache-control": "private, no-store" if private else "no-cache"}
        return HTMLResponse(render_page(data, query.get("tab")), headers=headers)

    def _page_refused(self, request: Request) -> Response:
        # Any two-segment path lands here: a browser gets a page, an API client the API's JSON 404.
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(refusal_page(), 404, headers=_PAGE_HEADERS)
        return JSONResponse({"error": NO_ACCESS}, 404)

    async def healthz(self, request: Request) -> Response:
        """``GET /healthz``: the service is up; says whether the store answers."""
        return JSONResponse(
            {
                "status": "ok" if self.reconciler.store_ok else "degraded",
                "store": "ok" if self.reconciler.store_ok else "unavailable",
                "projects": len(self.view.projects),
                "loadedAt": self.view.loaded_at.isoformat() if self.view.loaded_at else None,
            }
        )

    async def metrics_text(self, request: Request) -> Response:
        """``GET /metrics``: Prometheus text."""
        gauges = {
            "projects": len(self.view.projects),
            "badge_cache_entries": len(self.cache),
            "store_up": 1 if self.reconciler.store_ok else 0,
        }
        return PlainTextResponse(self.metrics.render(gauges), media_type=METRICS_TYPE)

    async def openapi(self, request: Request) -> Response:
        """``GET /openapi.json``."""
        return JSONResponse(openapi_document())

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "not found"}, 404)

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "method not allowed"}, 405)

    # -- lifecycle -------------------------------------------------------------------------------

    def _on_leak(self, record: TokenRecord) -> None:
        self.metrics.token_leaks += 1

    @asynccontextmanager
    async def _lifespan(self, app: Starlette):
        # Width tables load on first use; load them now rather than in the first request.
        await asyncio.to_thread(_warm_up)
        try:
            # The first load happens before the first request, so no badge starts out wrong.
            await asyncio.to_thread(self.reconciler.tick, None, False)
        except Exception as exc:  # noqa: BLE001 - serve grey badges and keep retrying
            self.reconciler._mark_failed(exc)
        task = asyncio.create_task(self.reconciler.run())
        # Everything loaded so far lives as long as the server: keep it out of the collector's
        # full passes, which would otherwise show up as latency spikes under load.
        gc.freeze()
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            # Give queued change notifications a moment to go out (or be recorded as failed).
            await asyncio.to_thread(self.notifier.flush, 5.0)
            self.store.close()


def _warm_up() -> None:
    for style in STYLES:
        render_badge("cubeops", "ready", style=style)


def create_app(
    settings: StatusSettings,
    store: StatusStore | None = None,
    probe: Probe = http_probe,
    clock: Callable[[], datetime] = utcnow,
) -> StatusApp:
    """The status service for ``settings`` (a store, a probe and a clock may be passed in)."""
    return StatusApp(settings, store, probe, clock)
