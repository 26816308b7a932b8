"""Orchestration and tracking overhead of the quickstart (goal: at most 15% of the wall time).

Two processes, measured one after the other in this run on fresh copies of examples/quickstart:

* ``cubeops run`` — the whole product: Prefect (its temporary server included), MLflow tracking,
  status publishing, registry, the gate and the model server;
* the bare compute of the same work with none of that: clean and tokenize with the data-prep
  functions, train the same model with the same Trainer settings, save it, and answer the eval
  prompts from a fresh process that loads it (what a deployment must do at least).

overhead = wall(cubeops run) − wall(bare compute); the figure is overhead / wall(cubeops run).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.15

BARE = r"""
import subprocess, sys, time
from pathlib import Path

root = Path(sys.argv[1])
from flows.data.build import collect, prepare_from_corpus
from flows.layout import resolve_layout
from flows.models.hub import load_model
from flows.spec_loader import load_spec
from flows.train.blocks import load_blocks
from flows.train.config import trainer_settings, training_arguments
from flows.train.fit import fit
from flows.train.precision import place, probe_hardware

spec = load_spec(root / "cubeops.yaml")
layout = resolve_layout(spec, root, environ={})
layout.data_dir.mkdir(parents=True, exist_ok=True)
data = prepare_from_corpus(spec, root, layout.data_dir, collect(spec.data, root, layout.data_dir))
blocks = load_blocks(data)
model = load_model(spec.model, blocks.tokenizer, root, seed=spec.train.seed)
placement = place(spec.train.device, spec.train.precision, probe_hardware())
out = root / "bare-model"
args = training_arguments(trainer_settings(spec.train, placement, root / "bare-checkpoints"))
fit(model, blocks.tokenizer, blocks.train, blocks.validation, args, device=placement.device,
    block_size=blocks.block_size, precision=placement.precision)
model.save_pretrained(out)
blocks.tokenizer.save_pretrained(out)
serve = (
    "import sys\n"
    "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
    "tok = AutoTokenizer.from_pretrained(sys.argv[1]); m = AutoModelForCausalLM.from_pretrained(sys.argv[1])\n"
    "for p in sys.argv[2:]:\n"
    "    ids = tok(p, return_tensors='pt')\n"
    f"    m.generate(**ids, max_new_tokens={spec.eval.max_new_tokens}, pad_token_id=tok.eos_token_id)\n"
)
subprocess.run([sys.executable, "-c", serve, str(out), *spec.eval.prompts], check=True)
"""


def _copy(dst: Path, port: int) -> Path:
    shutil.copytree(REPO / "examples" / "quickstart", dst, ignore=shutil.ignore_patterns(".cubeops"))
    spec = dst / "cubeops.yaml"
    spec.write_text(spec.read_text().replace("port: 5077", f"port: {port}"))
    return spec


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    """Time both, print them and the ratio."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_", "CUBEOPS_"))}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    with tempfile.TemporaryDirectory() as tmp:
        spec = _copy(Path(tmp) / "product", _free_port())
        t0 = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "flows.cli", "run", "-c", str(spec)], env=env, cwd=REPO,
                             capture_output=True, text=True)
        wall = time.monotonic() - t0
        subprocess.run([sys.executable, "-m", "flows.cli", "serve", "stop", "-c", str(spec)], env=env, cwd=REPO,
                       capture_output=True, text=True)
        if run.returncode != 0:
            sys.stderr.write(run.stderr[-3000:])
            return 1
        bare_root = _copy(Path(tmp) / "bare", _free_port()).parent
        t0 = time.monotonic()
        bare = subprocess.run([sys.executable, "-c", BARE, str(bare_root)], env=env, cwd=REPO,
                              capture_output=True, text=True)
        compute = time.monotonic() - t0
        if bare.returncode != 0:
            sys.stderr.write(bare.stderr[-3000:])
            return 1
    overhead = wall - compute
    share = overhead / wall
    print(f"cubeops run (quickstart)     {wall:7.1f} s wall")
    print(f"bare compute of the same work {compute:7.1f} s wall")
    print(f"orchestration + tracking      {overhead:7.1f} s = {share:.1%} of the wall time (goal <= {GOAL:.0%})")
    result = {"benchmark": "quickstart orchestration overhead share", "cubeops": round(wall, 1),
              "baseline": round(compute, 1), "unit": "s", "ratio": round(share, 3), "goal": f"<= {GOAL}",
              "ok": share <= GOAL}
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
