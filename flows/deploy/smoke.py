"""The smoke test of a new server: its ``/health`` and the spec's eval prompts, over HTTP."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flows.errors import ServingError


class SmokeFailed(ServingError):
    """The new server answered its health check but failed the smoke test."""


@dataclass(frozen=True)
class SmokeReport:
    """What the smoke test saw."""

    version: str | None
    completions: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.failures


def _error_of(resp: Any) -> str:
    try:
        body = resp.json()
        return str(body.get("message") or body)[:300]
    except ValueError:
        return resp.text[:300]


def smoke_test(
    base_url: str,
    prompts: Sequence[str],
    expected_version: str,
    max_new_tokens: int,
    timeout: float = 60.0,
    token: str | None = None,
    session: Any = None,
) -> SmokeReport:
    """Check ``/health`` reports ``expected_version``, then complete each prompt via ``POST /invocations``."""
    import time

    import requests

    http = session or requests.Session()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    failures: list[str] = []
    completions: dict[str, str] = {}
    start = time.monotonic()
    version = None
    try:
        resp = http.get(f"{base_url}/health", headers=headers, timeout=timeout)
        if resp.status_code != 200:
            failures.append(f"/health answered {resp.status_code}: {_error_of(resp)}")
        else:
            version = str(resp.json().get("version"))
            if version != expected_version:
                failures.append(f"/health reports v{version}, expected v{expected_version}")
        for prompt in prompts:
            body = {"inputs": [prompt], "params": {"max_new_tokens": max_new_tokens}}
            resp = http.post(f"{base_url}/invocations", json=body, headers=headers, timeout=timeout)
            if resp.status_code != 200:
                failures.append(f"prompt {prompt!r}: {resp.status_code} {_error_of(resp)}")
                continue
            predictions = resp.json().get("predictions") if isinstance(resp.json(), dict) else None
            if not (isinstance(predictions, list) and predictions and isinstance(predictions[0], str)):
                failures.append(f"prompt {prompt!r}: no completion in {str(resp.json())[:200]}")
                continue
            completions[prompt] = predictions[0]
    except requests.RequestException as exc:
        failures.append(f"{type(exc).__name__} talking to {base_url}")
    except ValueError:
        failures.append(f"{base_url} answered with something that is not JSON")
    return SmokeReport(version, completions, failures, round(time.monotonic() - start, 3))
