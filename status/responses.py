"""Rendered badge responses (SVG or shields endpoint JSON), cached with their headers.

A badge is rendered once per face, style, label and format and kept as ready-to-send bytes, so
the hot path of a badge request is a token check and two dictionary lookups. The cache is
bounded (oldest entries go first): labels come from the URL, and a URL is anyone's to write.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import quote

from status.badge import endpoint_json, render_badge
from status.model import TABS

SVG_TYPE = b"image/svg+xml;charset=utf-8"
JSON_TYPE = b"application/json"
# Shields ignores an endpoint's cacheSeconds below its own 300 s floor; ask for exactly that.
ENDPOINT_CACHE_SECONDS = 300
# GitHub's image proxy revalidates a `no-cache` image on each view (ETag makes that a 304).
_COMMON = [
    (b"cache-control", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'"),
]


@dataclass(frozen=True)
class Rendered:
    """A badge ready to send: body and headers for 200, headers for 304."""

    body: bytes
    etag: bytes
    headers: list[tuple[bytes, bytes]]
    not_modified_headers: list[tuple[bytes, bytes]]


def http_date(when: datetime) -> str:
    """An RFC 9110 date (``Last-Modified``)."""
    return format_datetime(when.replace(microsecond=0), usegmt=True)


def page_link(public_url: str, project: str, stage: str) -> str:
    """The project-page tab a badge links to."""
    return f"{public_url.rstrip('/')}/{quote(project, safe='/')}?tab={TABS[stage]}"


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison, as RFC 9110 asks for GET)."""
    if if_none_match.strip() == b"*":
        return True
    for candidate in if_none_match.split(b","):
        candidate = candidate.strip()
        if candidate.startswith(b"W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def _build(body: bytes, content_type: bytes, last_modified: datetime, link: str | None) -> Rendered:
    etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
    validators = [(b"etag", etag), (b"last-modified", http_date(last_modified).encode())]
    extra = [(b"link", f'<{link}>; rel="related"'.encode())] if link else []
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *_COMMON, *validators, *extra]
    return Rendered(body, etag, headers, [*_COMMON, *validators, *extra])


class BadgeCache:
    """Rendered badges by (face, project, style, label, format), at most ``max_entries`` of them."""

    def __init__(self, public_url: str = "", max_entries: int = 4096):
        self.public_url = public_url
        self.max_entries = max_entries
        self._entries: dict[tuple, Rendered] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple) -> Rendered | None:
        """A cached response, or None."""
        return self._entries.get(key)

    def put(self, key: tuple, rendered: Rendered) -> Rendered:
        """Keep a response, dropping the oldest when full."""
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = rendered
        return rendered

    def render(
        self,
        label: str,
        message: str,
        color: str,
        last_modified: datetime,
        style: str,
        fmt: str,
        project: str | None,
        stage: str | None,
        is_error: bool = False,
    ) -> Rendered:
        """Render a badge (uncached) with its headers."""
        link = page_link(self.public_url, project, stage) if project and stage else None
        if fmt == "json":
            doc = endpoint_json(label, message, color, cache_seconds=ENDPOINT_CACHE_SECONDS, is_error=is_error)
            body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
            return _build(body, JSON_TYPE, last_modified, link)
        return _build(render_badge(label, message, color, style=style).encode(), SVG_TYPE, last_modified, link)
