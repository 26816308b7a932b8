"""Data-prep throughput against the bare ``tokenizers`` batch encoder, on the same text and cores.

Generates a corpus (default 50 MB of varied sample paragraphs in several ``.txt`` files), then
measures, each in its own process so peak memory is its own:

- **baseline**: the tokenizer's ``encode_batch_fast`` over the documents, in batches of the
  size the pipeline uses (reading and splitting the files is not timed);
- **cubeops**: the whole preparation — read, clean, dedupe, split, tokenize, pack, write with
  ``save_to_disk``, reports — as the ``prepare-data`` flow runs it, minus Prefect and MLflow
  (a constant second or two, independent of corpus size) and minus importing the libraries.

Both use the same saved tokenizer (``model.base`` set to its folder) and the same
``TOKENIZERS_PARALLELISM``. The sides alternate (``--repeat`` pairs); the ratio is the median of
the pairs' ratios, each pair measured back to back. Prints MB/s of both, the ratio (goal ≥ 0.7),
CPU time, peak RSS and the peak of anonymous memory, and ``RESULT`` lines for
``bench/run_all.py``. Usage: ``python bench/bench_data_prep.py [--mb 50] [--repeat 3]``.
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.7


def generate(folder: Path, megabytes: float, files: int = 8, seed: int = 0) -> int:
    """Write about ``megabytes`` MB of paragraphs into ``files`` .txt files; returns the bytes written."""
    from flows.sample import sample_documents

    rng = random.Random(seed)
    target = int(megabytes * 1e6)
    per_file = target // files
    written = 0
    folder.mkdir(parents=True, exist_ok=True)
    docs = sample_documents(10**9, seed=seed)
    for i in range(files):
        size = 0
        with open(folder / f"part-{i:02d}.txt", "w", encoding="utf-8") as f:
            while size < per_file:
                # A case number and a varying figure make each paragraph unique, so dedupe keeps it.
                text = f"Case {rng.randrange(10**7)}: {next(docs)} Reference {rng.randrange(10**5)}.\n\n"
                f.write(text)
                size += len(text.encode("utf-8"))
        written += size
    return written


def make_tokenizer(corpus: Path, out: Path) -> None:
    """Train a byte-level BPE tokenizer (2,000 tokens) on the first file and save it to ``out``."""
    from flows.models.tiny import train_tiny_tokenizer

    first = min(corpus.glob("*.txt"))
    texts = first.read_text(encoding="utf-8").split("\n\n")[:20000]
    train_tiny_tokenizer(texts, vocab_size=2000, max_length=1024).save_pretrained(str(out))


def cpu_seconds() -> float:
    """User plus system CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class AnonPeak:
    """Samples this process's anonymous resident memory (heap, not memory-mapped files) every 20 ms.

    Peak RSS counts the pages of memory-mapped Arrow files the kernel may drop at will; the
    anonymous part is what a corpus larger than RAM would actually have to fit in.
    """

    def __init__(self) -> None:
        import threading

        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        except OSError:
            pass

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()

    def __enter__(self) -> Self:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_baseline(corpus: Path, tokenizer: Path) -> dict:
    """Time the bare batch encoder over the corpus's paragraphs."""
    from tokenizers import Tokenizer

    from flows.data.pack import TEXT_BATCH

    tok = Tokenizer.from_file(str(tokenizer / "tokenizer.json"))
    docs = []
    for path in sorted(corpus.glob("*.txt")):
        docs.extend(d for d in path.read_text(encoding="utf-8").split("\n\n") if d.strip())
    size = sum(len(d.encode("utf-8")) for d in docs)
    tokens = 0
    cpu = cpu_seconds()
    started = time.perf_counter()
    for i in range(0, len(docs), TEXT_BATCH):
        tokens += sum(len(e.ids) for e in tok.encode_batch_fast(docs[i : i + TEXT_BATCH], add_special_tokens=False))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu_seconds": cpu_seconds() - cpu, "bytes": size, "tokens": tokens, "peak_rss_mb": peak_rss_mb()}


def run_pipeline(corpus: Path, tokenizer: Path, project: Path) -> dict:
    """Time the preparation steps of the ``prepare-data`` flow on the corpus."""
    from flows.data.build import collect, prepare_from_corpus
    from flows.layout import resolve_layout
    from flows.spec_loader import parse_spec

    spec = parse_spec(
        f"project: bench/data-prep\ndata:\n  sources: [{corpus}]\n  block_size: 512\n"
        f"model:\n  base: {tokenizer}\n"
    )
    layout = resolve_layout(spec, project, environ={})
    # Import what the steps import before the clock starts: a process's start-up is not throughput
    # (and in the flow these modules are loaded long before the data is touched).
    import datasets  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import transformers.models.auto.tokenization_auto  # noqa: F401

    rss_after_imports = peak_rss_mb()
    cpu = cpu_seconds()
    with AnonPeak() as anon:
        anon_after_imports = anon.peak_kb / 1024
        started = time.perf_counter()
        corpus_result = collect(spec.data, layout.root, layout.data_dir)
        prepared = prepare_from_corpus(spec, layout.root, layout.data_dir, corpus_result, force=True)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "bytes": corpus_result.input_bytes,
        "tokens": prepared.tokens,
        "documents": prepared.documents,
        "clean_seconds": corpus_result.seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_imports_mb": rss_after_imports,
        "anon_peak_mb": anon.peak_kb / 1024,
        "anon_after_imports_mb": anon_after_imports,
    }


def _worker(kind: str, corpus: Path, tokenizer: Path, project: Path) -> dict:
    env = dict(os.environ)
    env.setdefault("TOKENIZERS_PARALLELISM", "true")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--corpus", str(corpus), "--tokenizer", str(tokenizer), "--project", str(project)],
        env=env, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"{kind} worker failed with exit code {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_index(values: list[float]) -> int:
    return sorted(range(len(values)), key=values.__getitem__)[(len(values) - 1) // 2]


def _times(runs: list[dict]) -> str:
    return ", ".join(f"{r['seconds']:.1f}" for r in runs)


def main() -> int:
    """Generate, measure both sides, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="corpus size in MB (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs, alternating sides (default 3)")
    parser.add_argument("--worker", choices=("baseline", "pipeline"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.worker == "baseline":
        print(json.dumps(run_baseline(args.corpus, args.tokenizer)))
        return 0
    if args.worker == "pipeline":
        print(json.dumps(run_pipeline(args.corpus, args.tokenizer, args.project)))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-data-prep-") as tmp:
        tmp_path = Path(tmp)
        corpus, tokenizer, project = tmp_path / "corpus", tmp_path / "tokenizer", tmp_path / "project"
        project.mkdir()
        size = generate(corpus, args.mb)
        make_tokenizer(corpus, tokenizer)
        print(f"corpus: {size / 1e6:.1f} MB in {len(list(corpus.glob('*.txt')))} files; "
              f"TOKENIZERS_PARALLELISM={os.environ.get('TOKENIZERS_PARALLELISM', 'true')}; {os.cpu_count()} CPUs")
        # Alternate the sides and compare each pipeline run with the baseline run just before it:
        # on shared cores the load drifts, and a pair close in time sees the same neighbours.
        bases, pipes = [], []
        for _ in range(max(1, args.repeat)):
            bases.append(_worker("baseline", corpus, tokenizer, project))
            pipes.append(_worker("pipeline", corpus, tokenizer, project))
    ratios = [b["seconds"] / p["seconds"] for b, p in zip(bases, pipes)]
    ratio = statistics.median(ratios)
    base = bases[_median_index([r["seconds"] for r in bases])]
    pipe = pipes[_median_index([r["seconds"] for r in pipes])]
    base_mbps = base["bytes"] / 1e6 / base["seconds"]
    pipe_mbps = pipe["bytes"] / 1e6 / pipe["seconds"]
    print(f"baseline  tokenizers encode_batch_fast: {base_mbps:6.2f} MB/s  "
          f"({base['seconds']:.1f} s, {base['tokens']:,} tokens, peak RSS {base['peak_rss_mb']:.0f} MB)")
    print(f"cubeops   prepare-data steps:           {pipe_mbps:6.2f} MB/s  "
          f"({pipe['seconds']:.1f} s of which cleaning {pipe['clean_seconds']:.1f} s, {pipe['documents']:,} docs, "
          f"{pipe['tokens']:,} tokens in blocks, peak RSS {pipe['peak_rss_mb']:.0f} MB, "
          f"of which {pipe['rss_after_imports_mb']:.0f} MB after importing the libraries)")
    print(f"memory    cubeops anonymous (heap) peak {pipe['anon_peak_mb']:.0f} MB, "
          f"{pipe['anon_peak_mb'] - pipe['anon_after_imports_mb']:.0f} MB above the imported libraries; "
          "the rest of the RSS is memory-mapped Arrow files")
    print(f"runs      baseline {_times(bases)} s; cubeops {_times(pipes)} s (wall); "
          f"paired ratios {', '.join(f'{r:.2f}' for r in ratios)}")
    # CPU time is what neighbours on shared cores disturb least; the pipeline's extra work shows here in full.
    cpu_ratio = base["cpu_seconds"] / pipe["cpu_seconds"]
    print(f"cpu       baseline {base['cpu_seconds']:.1f} s, cubeops {pipe['cpu_seconds']:.1f} s of CPU; "
          f"CPU-time ratio {cpu_ratio:.2f}")
    print(f"ratio     {ratio:.2f}  (median of the paired ratios; goal >= {GOAL})  {'ok' if ratio >= GOAL else 'BELOW GOAL'}")
    label = f"data prep throughput ({args.mb:g} MB)"
    print("RESULT " + json.dumps({
        "benchmark": label, "cubeops": round(pipe_mbps, 3), "baseline": round(base_mbps, 3), "unit": "MB/s",
        "ratio": round(ratio, 3), "goal": f">={GOAL}", "ok": ratio >= GOAL,
    }))
    print("RESULT " + json.dumps({
        "benchmark": f"data prep peak RSS ({args.mb:g} MB corpus)", "cubeops": round(pipe["peak_rss_mb"], 1),
        "baseline": round(base["peak_rss_mb"], 1), "unit": "MB",
    }))
    print("RESULT " + json.dumps({
        "benchmark": f"data prep heap above imports ({args.mb:g} MB)",
        "cubeops": round(pipe["anon_peak_mb"] - pipe["anon_after_imports_mb"], 1), "unit": "MB",
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
