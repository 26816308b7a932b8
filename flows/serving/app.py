"""The model server's ASGI app: MLflow's scoring app, wrapped with what it lacks.

``POST /invocations``, ``/ping`` and ``/version`` are MLflow's own (so MLflow's clients work).
Around them: ``GET /health`` saying which version is served, the spec's request caps, a request
timeout, bearer auth when ``serving.auth`` is set, and errors as JSON
``{"error_code": ..., "message": ...}`` with no stack trace (MLflow's stock server returns the
Python traceback to the client; here it goes to the server log only).
"""

import asyncio
import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from flows.errors import ServingError
from flows.serving.limits import (
    Limits,
    Rejected,
    check_csv,
    check_json,
    parse_json_body,
    with_default_length,
)
from flows.serving.settings import ServerSettings

log = logging.getLogger("cubeops.serving")

PASS_THROUGH = ("/ping", "/version")
MAX_MESSAGE = 1000
TRACE_MARK = "Traceback (most recent call last)"


def _code_for(status: int) -> str:
    return {
        400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "ENDPOINT_NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
        413: "REQUEST_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 422: "INVALID_PARAMETER_VALUE",
        504: "REQUEST_TIMEOUT",
    }.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")


def clean_message(text: str) -> str:
    """An error message without any traceback, trimmed to a readable length."""
    text = text.split(TRACE_MARK, 1)[0].strip()
    return text[:MAX_MESSAGE] or "error"


def error_body(status: int, raw: bytes) -> dict[str, str]:
    """MLflow's error shape (``error_code``, ``message``) from whatever the inner app returned, minus the stack trace."""
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        code = str(data.get("error_code") or _code_for(status))
        message = data.get("message") or data.get("detail") or HTTPStatus(status).phrase
    else:
        code = _code_for(status)
        message = raw.decode("utf-8", errors="replace") if raw else HTTPStatus(status).phrase
    return {"error_code": code, "message": clean_message(str(message))}


async def send_json(send: Callable, status: int, body: Any, headers: tuple = ()) -> None:
    """Send a complete JSON response."""
    data = json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": data})


def _header(scope: Mapping, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


class ServingApp:
    """ASGI app: MLflow's scoring app plus health, caps, timeout, auth and clean JSON errors."""

    def __init__(
        self,
        scoring_app: Callable,
        settings: ServerSettings,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        default_new_tokens: int | None = None,
    ):
        """``default_new_tokens``: set on requests that name no length (for models whose signature takes one)."""
        env = os.environ if environ is None else environ
        self.inner = scoring_app
        self.settings = settings
        self.default_new_tokens = default_new_tokens
        self.limits = Limits(settings.max_prompt_chars, settings.max_new_tokens)
        self.clock = clock
        self.started = clock()
        self.public = "pending"
        """Whether this server answers on the public port yet: pending, joined, or error: WHY."""
        self.token: bytes | None = None
        if settings.token_env:
            token = env.get(settings.token_env)
            if not token:
                raise ServingError(f"serving.auth is set but {settings.token_env} is empty or unset; "
                                   "export the bearer token in that variable")
            self.token = token.encode()
        # Large enough for a batch of prompts at the cap; a body beyond it is refused unread.
        self.max_body = max(1_000_000, 16 * settings.max_prompt_chars)

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self.inner(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            await self._http(scope, receive, send)
        except Rejected as exc:
            await send_json(send, exc.status, {"error_code": exc.code, "message": exc.message})
        except Exception:  # noqa: BLE001 - a bug must reach the log, never the client
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await send_json(send, 500, {"error_code": "INTERNAL_ERROR", "message": "internal error; see the server log"})

    async def _http(self, scope: dict, receive: Callable, send: Callable) -> None:
        path, method = scope["path"], scope["method"]
        if self.token is not None and not self._authorized(scope):
            body = {"error_code": "UNAUTHENTICATED", "message": "missing or invalid bearer token"}
            await send_json(send, 401, body, ((b"www-authenticate", b"Bearer"),))
            return
        if path == "/health":
            if method != "GET":
                raise Rejected(405, "METHOD_NOT_ALLOWED", "use GET /health")
            await send_json(send, 200, self.health())
            return
        if path == "/invocations":
            if method != "POST":
                raise Rejected(405, "METHOD_NOT_ALLOWED", "use POST /invocations")
            body = self._checked(scope, await self._read_body(receive))
            await self._forward(scope, body, send, timeout=self.settings.request_timeout)
            return
        if path in PASS_THROUGH:
            await self._forward(scope, b"", send, timeout=self.settings.request_timeout)
            return
        raise Rejected(404, "ENDPOINT_NOT_FOUND", f"no endpoint {path}; try POST /invocations or GET /health")

    # -- pieces -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` returns: which model version this process serves, and since when."""
        s = self.settings
        return {
            "status": "ok",
            "model": s.model_name,
            "version": s.version,
            "run_id": s.run_id,
            "data_digest": s.data_digest,
            "uptime_s": round(self.clock() - self.started, 3),
            "pid": os.getpid(),
            "public": self.public,
            "limits": {
                "max_prompt_chars": s.max_prompt_chars,
                "max_new_tokens": s.max_new_tokens,
                "request_timeout_s": s.request_timeout,
            },
        }

    def _authorized(self, scope: Mapping) -> bool:
        scheme, _, given = _header(scope, b"authorization").partition(" ")
        # Constant-time, so response timing reveals nothing about the token.
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token or b"")

    async def _read_body(self, receive: Callable) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Rejected(400, "BAD_REQUEST", "client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise Rejected(413, "REQUEST_TOO_LARGE", f"request body exceeds {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    def _checked(self, scope: Mapping, body: bytes) -> bytes:
        """The body, once its caps hold (with the default length added where it names none)."""
        content_type = _header(scope, b"content-type")
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime == "application/json":
            payload = parse_json_body(body)
            check_json(payload, self.limits)
            if self.default_new_tokens:
                payload = with_default_length(payload, self.default_new_tokens)
                if payload is not None:
                    return json.dumps(payload).encode()
            return body
        if mime == "text/csv":
            check_csv(body, self.limits)
            return body
        if not mime:
            raise Rejected(415, "UNSUPPORTED_MEDIA_TYPE", "set Content-Type: application/json")
        raise Rejected(415, "UNSUPPORTED_MEDIA_TYPE",
                       f"content type {mime!r} is not accepted; send application/json (or text/csv)")

    async def _forward(self, scope: dict, body: bytes, send: Callable, timeout: float) -> None:
        """Run the request through MLflow's app with a timeout; pass success through, clean errors."""
        status, headers, chunks = 500, [], []
        delivered = False
        finished = asyncio.Event()

        async def replay() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            # Like a live connection: nothing more until the response is done.
            await finished.wait()
            return {"type": "http.disconnect"}

        async def capture(message: dict) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await asyncio.wait_for(self.inner(scope, replay, capture), timeout=timeout)
        except TimeoutError:
            message = f"the request ran longer than serving.request_timeout ({timeout:g}s)"
            raise Rejected(504, "REQUEST_TIMEOUT", message) from None
        finally:
            finished.set()
        raw = b"".join(chunks)
        if status >= 400:
            body_out = error_body(status, raw)
            log.warning("%s %s -> %d %s", scope["method"], scope["path"], status, body_out["message"][:200])
            await send_json(send, status, body_out)
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})
