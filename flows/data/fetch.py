"""Download one http(s) source to a file: a timeout, retries, a size limit and an optional SHA-256 pin.

Client errors (404, 403, ...) fail at once; connection errors, timeouts and 5xx answers are
retried with a short exponential backoff. Every failure is a :class:`DataError` naming the URL.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.errors import DataError

CHUNK = 1 << 20


@dataclass(frozen=True)
class Fetched:
    """A downloaded body on disk."""

    url: str
    path: Path
    size: int
    sha256: str


def human_bytes(n: int) -> str:
    """``1536`` → ``1.5 kB`` (decimal units, as the spec's sizes)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def fetch_url(
    url: str,
    dest: Path,
    timeout: float,
    retries: int,
    max_bytes: int,
    sha256: str | None = None,
    where: str = "data.sources",
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """Download ``url`` into ``dest``; raise :class:`DataError` on any failure or a SHA-256 mismatch."""
    import requests

    http = session or requests.Session()
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(min(0.5 * 2 ** (attempt - 1), 5.0))
        try:
            with http.get(url, stream=True, timeout=timeout) as resp:
                if 400 <= resp.status_code < 500:
                    raise DataError(f"{where}: {url} answered {resp.status_code} {resp.reason}")
                if resp.status_code >= 500:
                    last = f"answered {resp.status_code} {resp.reason}"
                    continue
                return _save(resp, url, dest, max_bytes, sha256, where)
        except requests.Timeout:
            last = f"did not answer within {timeout:g}s (data.url_timeout)"
        except requests.ConnectionError as exc:
            last = f"cannot be reached ({_reason(exc)})"
    tries = f"{retries + 1} attempt{'s' if retries else ''}"
    raise DataError(f"{where}: {url} {last}, after {tries} (data.url_retries={retries})")


def _save(resp: Any, url: str, dest: Path, max_bytes: int, sha256: str | None, where: str) -> Fetched:
    too_large = f"{where}: {url} is larger than data.url_max_bytes ({human_bytes(max_bytes)})"
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise DataError(f"{too_large}: it declares {human_bytes(int(declared))}")
    digest = hashlib.sha256()
    size = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with open(part, "wb") as out:
            for chunk in resp.iter_content(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DataError(f"{too_large}: the body went past it")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    got = digest.hexdigest()
    if sha256 and got != sha256.lower():
        part.unlink(missing_ok=True)
        raise DataError(f"{where}.sha256: {url} has SHA-256 {got}, the spec pins {sha256.lower()}")
    part.replace(dest)
    return Fetched(url, dest, size, got)


def _reason(exc: Exception) -> str:
    # requests nests the useful part several exceptions deep; the innermost one names it.
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(inner) or type(inner).__name__
    return text if len(text) < 160 else text[:157] + "..."
