"""The status service's own numbers, in the Prometheus text exposition format (version 0.0.4).

Counters live in plain dicts and ints: the badge path pays a few dictionary updates, no locks
(the event loop is the only writer).
"""

from bisect import bisect_left
from collections.abc import Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds; a badge answered from memory lands in the first buckets.
BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Requests by route and status code, a latency histogram per route, cache and token counters."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self._hist: dict[str, list[int]] = {}
        self._sum: dict[str, float] = {}
        self.cache_hits = 0
        self.cache_misses = 0
        self.tokens_used: dict[str, int] = {}
        self.token_leaks = 0

    def observe(self, route: str, code: int, seconds: float) -> None:
        """Count one request and its latency."""
        key = (route, code)
        self.requests[key] = self.requests.get(key, 0) + 1
        counts = self._hist.get(route)
        if counts is None:
            counts = self._hist[route] = [0] * (len(BUCKETS) + 1)
            self._sum[route] = 0.0
        counts[bisect_left(BUCKETS, seconds)] += 1
        self._sum[route] += seconds

    def token_used(self, scope: str) -> None:
        """Count a request a token opened."""
        self.tokens_used[scope] = self.tokens_used.get(scope, 0) + 1

    def render(self, gauges: Mapping[str, float] | None = None) -> str:
        """The exposition text; ``gauges`` adds ``cubeops_status_<name>`` gauges."""
        out = [
            "# HELP cubeops_status_requests_total HTTP requests answered, by route and status code.",
            "# TYPE cubeops_status_requests_total counter",
        ]
        for (route, code), n in sorted(self.requests.items()):
            out.append(f'cubeops_status_requests_total{{route="{route}",code="{code}"}} {n}')
        out += [
            "# HELP cubeops_status_request_duration_seconds Time to answer a request, by route.",
            "# TYPE cubeops_status_request_duration_seconds histogram",
        ]
        for route, counts in sorted(self._hist.items()):
            cumulative = 0
            for bound, n in zip(BUCKETS, counts):
                cumulative += n
                out.append(f'cubeops_status_request_duration_seconds_bucket{{route="{route}",le="{bound}"}} {cumulative}')
            cumulative += counts[-1]
            out.append(f'cubeops_status_request_duration_seconds_bucket{{route="{route}",le="+Inf"}} {cumulative}')
            out.append(f'cubeops_status_request_duration_seconds_sum{{route="{route}"}} {self._sum[route]:.6f}')
            out.append(f'cubeops_status_request_duration_seconds_count{{route="{route}"}} {cumulative}')
        out += [
            "# HELP cubeops_status_badge_cache_hits_total Badges answered from the rendered-badge cache.",
            "# TYPE cubeops_status_badge_cache_hits_total counter",
            f"cubeops_status_badge_cache_hits_total {self.cache_hits}",
            "# HELP cubeops_status_badge_cache_misses_total Badges rendered because the cache lacked them.",
            "# TYPE cubeops_status_badge_cache_misses_total counter",
            f"cubeops_status_badge_cache_misses_total {self.cache_misses}",
            "# HELP cubeops_status_tokens_used_total Requests opened by a token, by scope.",
            "# TYPE cubeops_status_tokens_used_total counter",
        ]
        for scope in ("read", "write"):
            out.append(f'cubeops_status_tokens_used_total{{scope="{scope}"}} {self.tokens_used.get(scope, 0)}')
        out += [
            "# HELP cubeops_status_token_leaks_total Write tokens revoked because they appeared in a URL.",
            "# TYPE cubeops_status_token_leaks_total counter",
            f"cubeops_status_token_leaks_total {self.token_leaks}",
        ]
        for name, value in sorted((gauges or {}).items()):
            out += [f"# TYPE cubeops_status_{name} gauge", f"cubeops_status_{name} {value}"]
        return "\n".join(out) + "\n"
