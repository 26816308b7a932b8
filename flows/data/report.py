"""What a prepared dataset looks like to people: compact numbers, statistics, a length histogram,
a markdown summary and a sample of documents."""

from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_CHARS = 300


def compact(n: float) -> str:
    """``12400`` → ``12.4k``, ``3_100_000`` → ``3.1M``, ``950`` → ``950`` (badge-sized numbers)."""
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size * 0.9995:
            value = n / size
            text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
            return text.removesuffix(".0") + unit
    return f"{int(n)}"


def ready_message(documents: int, tokens: int) -> str:
    """The Data badge text of a ready dataset: ``ready · 12.4k docs · 3.1M tok``."""
    return f"ready · {compact(documents)} docs · {compact(tokens)} tok"


def length_histogram(lengths: np.ndarray) -> dict[str, list]:
    """Document lengths (characters) counted in power-of-two buckets: ``{"edges": [...], "counts": [...]}``.

    Bucket *i* holds lengths in ``[edges[i], edges[i+1])``; the last edge is past the longest document.
    """
    if len(lengths) == 0:
        return {"edges": [], "counts": []}
    top = int(lengths.max())
    edges = [1]
    while edges[-1] <= top:
        edges.append(edges[-1] * 2)
    counts, _ = np.histogram(lengths, bins=edges)
    # Leading empty buckets say nothing; keep the range that has documents.
    first = int(np.argmax(counts > 0))
    return {"edges": edges[first:], "counts": [int(c) for c in counts[first:]]}


def build_stats(
    *,
    digest: str,
    corpus: Any,
    tokenizer_id: str,
    block_size: int,
    train: Any,
    validation: Any,
    histogram: dict[str, list],
    sample: list[str],
    seconds: float,
) -> dict[str, Any]:
    """The statistics of one prepared dataset (``data_stats.json``, the status details, the run's metrics)."""
    counts = corpus.counts
    packed = (train.blocks + validation.blocks) * block_size
    encoded = train.tokens + validation.tokens
    return {
        "digest": digest,
        "corpus_digest": corpus.digest,
        "sources": list(corpus.sources),
        "files": len(corpus.files),
        "documents_per_source": dict(corpus.per_source),
        "filters": dict(counts),
        "documents": {"kept": counts["kept"], "removed": counts["removed"]},
        "characters": {"kept": corpus.kept_chars},
        "tokens": {"kept": packed, "removed": encoded - packed, "encoded": encoded},
        "replaced_chars": corpus.replaced_chars,
        "input_bytes": corpus.input_bytes,
        "block_size": block_size,
        "tokenizer": tokenizer_id,
        "train": {"documents": train.documents, "blocks": train.blocks, "tokens": train.blocks * block_size},
        "validation": {
            "documents": validation.documents,
            "blocks": validation.blocks,
            "tokens": validation.blocks * block_size,
        },
        "length_histogram": histogram,
        "sample": [s[:SAMPLE_CHARS] for s in sample],
        "seconds": round(seconds, 3),
        "mb_per_s": round(corpus.input_bytes / 1e6 / seconds, 3) if seconds > 0 else None,
    }


def status_details(stats: dict[str, Any], cache_hit: bool) -> dict[str, Any]:
    """The subset of the stats the project page shows (small: it is stored with every status event)."""
    keys = (
        "digest", "sources", "filters", "documents", "tokens", "train", "validation",
        "length_histogram", "block_size", "tokenizer", "replaced_chars",
    )
    details = {k: stats[k] for k in keys if k in stats}
    details["sample"] = [s[:200] for s in stats.get("sample", [])[:3]]
    details["cache"] = "hit" if cache_hit else "miss"
    return details


def summary_markdown(stats: dict[str, Any], cache_hit: bool, mlflow_link: str, path: str) -> str:
    """The Prefect artifact: a table of the dataset, with the MLflow run it is tracked in."""
    f = stats.get("filters", {})
    rows = [
        ("Digest", f"`{stats.get('digest', '')}`"),
        ("Cache", "hit — reused the prepared dataset" if cache_hit else "miss — prepared now"),
        ("Sources", ", ".join(f"`{s}`" for s in stats.get("sources", []))),
        ("Documents read", f"{f.get('read', 0):,}"),
        ("Removed: empty", f"{f.get('empty', 0):,}"),
        ("Removed: min_chars", f"{f.get('min_chars', 0):,}"),
        ("Removed: max_chars", f"{f.get('max_chars', 0):,}"),
        ("Removed: duplicates", f"{f.get('duplicates', 0):,}"),
        ("Documents kept", f"{f.get('kept', 0):,}"),
        ("Tokens (in blocks)", f"{stats.get('tokens', {}).get('kept', 0):,}"),
        ("Block size", str(stats.get("block_size", ""))),
        ("Train", f"{stats['train']['documents']:,} docs · {stats['train']['blocks']:,} blocks" if "train" in stats else ""),
        (
            "Validation",
            f"{stats['validation']['documents']:,} docs · {stats['validation']['blocks']:,} blocks" if "validation" in stats else "",
        ),
        ("Tokenizer", f"`{stats.get('tokenizer', '')}`"),
        ("Folder", f"`{path}`"),
        ("MLflow run", mlflow_link),
    ]
    lines = ["## Prepared dataset", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"


def save_histogram_png(histogram: dict[str, list], path: Path) -> None:
    """Draw the length histogram to a PNG (matplotlib's object API: no global backend state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    edges, counts = histogram.get("edges", []), histogram.get("counts", [])
    labels = [f"{compact(e)}–{compact(edges[i + 1] - 1)}" for i, e in enumerate(edges[:-1])]
    ax.bar(range(len(counts)), counts, color="#4c72b0")
    ax.set_xticks(range(len(counts)), labels, rotation=45, ha="right", fontsize=7)
    ax.set_xlabel("document length (characters)")
    ax.set_ylabel("documents")
    ax.set_title("Document lengths after cleaning")
    fig.tight_layout()
    fig.savefig(path)
