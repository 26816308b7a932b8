"""What ``cubeops registry list`` and ``show`` print: pure text rendering of version rows."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from flows.contracts import (
    TAG_BASE_MODEL,
    TAG_DATA_DIGEST,
    TAG_GATE,
    TAG_GATE_REASON,
    TAG_GIT_COMMIT,
    TAG_PREFECT_RUN,
    TAG_PROJECT,
    TAG_RUN_ID,
    TAG_TRAIN_KEY,
)
from registry.aliases import TAG_GATE_AT, TAG_GATE_BY
from registry.client import VersionInfo

COLUMNS = ("version", "created", "data digest", "perplexity", "aliases", "gate")


@dataclass(frozen=True)
class Row:
    """A version and its run's metrics."""

    info: VersionInfo
    metrics: dict[str, float] = field(default_factory=dict)


def _metric(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def list_table(rows: Sequence[Row]) -> str:
    """The ``registry list`` table, newest version first."""
    body = [
        (
            f"v{r.info.version}",
            r.info.created.strftime("%Y-%m-%d %H:%M"),
            (r.info.tags.get(TAG_DATA_DIGEST) or "-")[:12],
            _metric(r.metrics.get("perplexity")),
            ",".join(r.info.aliases) or "-",
            r.info.tags.get(TAG_GATE) or "-",
        )
        for r in sorted(rows, key=lambda r: int(r.info.version), reverse=True)
    ]
    widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths, strict=True)).rstrip() for b in body]
    return "\n".join(lines)


_LINEAGE = (
    ("data digest", TAG_DATA_DIGEST),
    ("base model", TAG_BASE_MODEL),
    ("training run", TAG_RUN_ID),
    ("train key", TAG_TRAIN_KEY),
    ("prefect run", TAG_PREFECT_RUN),
    ("git commit", TAG_GIT_COMMIT),
    ("project", TAG_PROJECT),
)


def show_text(row: Row) -> str:
    """The ``registry show V`` details: aliases, lineage, metrics, gate verdict."""
    info = row.info
    pairs = [
        ("created", info.created.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("aliases", ", ".join(info.aliases) or "-"),
        ("run id", info.run_id or "-"),
        ("source", info.source or "-"),
    ]
    pairs += [(label, info.tags[tag]) for label, tag in _LINEAGE if info.tags.get(tag)]
    # System metrics (CPU, memory, disk during training) belong to the run's page, not here.
    metrics = ", ".join(f"{k}={_metric(v)}" for k, v in sorted(row.metrics.items()) if not k.startswith("system/"))
    pairs.append(("metrics", metrics or "-"))
    gate = info.tags.get(TAG_GATE)
    if gate:
        pairs.append(("gate", gate))
        pairs.append(("reason", info.tags.get(TAG_GATE_REASON, "-")))
        for label, tag in (("decided at", TAG_GATE_AT), ("decided by", TAG_GATE_BY)):
            if info.tags.get(tag):
                pairs.append((label, info.tags[tag]))
    else:
        pairs.append(("gate", "not judged yet"))
    width = max(len(k) for k, _ in pairs)
    return "\n".join([f"{info.name} v{info.version}"] + [f"  {k.ljust(width)}  {v}" for k, v in pairs])
