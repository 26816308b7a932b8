"""Keeping tokens out of logs: the ``token`` query parameter is redacted from every log line.

Uvicorn's access log prints each request's path with its query string; the filter here rewrites
the record before any handler formats it.
"""

import copy
import logging
import re
from typing import Any
from urllib.parse import unquote

REDACTED = "[redacted]"
# A query string (or a fragment of one) inside a log line.
_QUERY = re.compile(r"\?[^\s\"']*")


def _redact_query(query: str) -> str:
    parts = []
    for part in query[1:].split("&"):
        key, eq, _ = part.partition("=")
        try:
            name = unquote(key.replace("+", " ")).strip().lower()
        except Exception:  # noqa: BLE001 - an undecodable key is logged as it came
            name = key.lower()
        parts.append(f"{key}={REDACTED}" if eq and name == "token" else part)
    return "?" + "&".join(parts)


def redact(text: str) -> str:
    """``text`` with the value of every ``token`` query parameter replaced by ``[redacted]``."""
    if "?" not in text:
        return text
    return _QUERY.sub(lambda m: _redact_query(m.group(0)), text)


class RedactTokens(logging.Filter):
    """A logging filter that redacts ``token`` parameters from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """Uvicorn's default logging configuration with :class:`RedactTokens` on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": "status.redact.RedactTokens"}
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config
