"""Run every ``bench/bench_*.py`` and print one table: benchmark, cubeops, baseline, ratio, goal.

Each script prints, as its last result lines, one or more JSON objects prefixed with ``RESULT ``:
``{"benchmark": ..., "cubeops": ..., "baseline": ..., "unit": ..., "ratio": ..., "goal": ...}``.
Scripts run one after another (they measure throughput; running them together would skew both sides).
"""

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run the scripts, then print the table; exit non-zero when a script fails."""
    rows: list[dict] = []
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            failed.append(script.name)
            continue
        found = [json.loads(ln[len("RESULT "):]) for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        for row in found:
            row.setdefault("script", script.name)
        rows.extend(found)
        print(f"   ({time.monotonic() - t0:.0f}s)")
    header = f"{'benchmark':<44} {'cubeops':>14} {'baseline':>14} {'ratio':>7} {'goal':>8}  ok"
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        unit = r.get("unit", "")
        ok = r.get("ok")
        mark = "" if ok is None else ("yes" if ok else "NO")
        print(
            f"{r['benchmark']:<44} {_fmt(r.get('cubeops'))+' '+unit:>14} {_fmt(r.get('baseline'))+' '+unit:>14} "
            f"{_fmt(r.get('ratio')):>7} {str(r.get('goal', '')):>8}  {mark}"
        )
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return "" if v is None else str(v)


if __name__ == "__main__":
    raise SystemExit(main())
