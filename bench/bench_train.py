"""Fine-tuning throughput: the cubeops train task against a bare PyTorch loop and the HF Trainer.

The model has the DistilGPT2 architecture (GPT2Config n_layer 6, n_embd 768, n_head 12, vocab
50257; random initialisation, nothing downloaded), trained on blocks of the sample corpus with
batch 4 x 128 for ``--steps`` optimizer steps (default 30). Three processes, one per side, so
peak RSS is each side's own:

- **cubeops**: the ``train-model`` task body as the flow runs it (minus Prefect, so no
  artifacts), precision ``auto``, logging every step to an MLflow sqlite store, status to a
  status store, the final model saved;
- **bare**: forward, backward, gradient clipping, fused AdamW (the Trainer's default optimizer)
  and the linear schedule in a plain loop, at the precision ``auto`` resolved to, with the same
  model, batch, seed and threads;
- **hf-default**: ``Trainer`` with default ``TrainingArguments`` (fp32 on CPU).

The sides run in lockstep: one step of each in turn, never two at once, so the cores' other
tenants slow all three alike. A step is timed from its start to the start of the next one
(training step, callbacks and logging, fetching the next batch); the first ``--warmup`` steps
and the last (evaluation and the final save) are left out. The neighbours on shared cores only
ever add time, in bursts of seconds, so the ratios use each side's quickest quarter of steps
(its cost when left alone); the median step is printed beside it. Goals: cubeops >= 0.97x bare,
cubeops (auto) >= 1.8x hf-default, and the eval loss of the auto run within 2% of the fp32 run.
Prints ``RESULT`` lines for ``bench/run_all.py``.

Usage: ``python bench/bench_train.py [--steps 30] [--warmup 3]``.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BATCH, BLOCK = 4, 128
GOAL_BARE, GOAL_HF, GOAL_EVAL = 0.97, 1.8, 0.02
LR = 5e-5
SIDES = ("cubeops", "bare", "hf-default")


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_model(seed: int = 42) -> Any:
    """A randomly initialised model of the DistilGPT2 architecture."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=50257, n_positions=1024, n_embd=768, n_layer=6, n_head=12, bos_token_id=0, eos_token_id=0
    )
    return GPT2LMHeadModel(config)


def prepare(folder: Path, steps: int) -> int:
    """Tokenizer, train/validation blocks (``save_to_disk``, as the data stage writes) and the model folder."""
    import pyarrow as pa
    from datasets import Dataset

    from flows.contracts import PreparedData
    from flows.models.tiny import train_tiny_tokenizer
    from flows.sample import sample_documents

    docs = list(sample_documents(3000, seed=1))
    tok = train_tiny_tokenizer(docs[:1000], vocab_size=2000, max_length=1024)
    ids: list[int] = []
    for d in docs:
        ids += tok(d, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    blocks = [ids[i : i + BLOCK] for i in range(0, len(ids) - BLOCK + 1, BLOCK)]
    validation, train = blocks[:16], blocks[16 : 16 + steps * BATCH * 2]
    kind = pa.list_(pa.int64(), BLOCK)
    out = folder / "data"
    for name, rows in (("train", train), ("validation", validation)):
        table = pa.table({"input_ids": pa.array(rows, type=kind), "labels": pa.array(rows, type=kind)})
        Dataset(table).save_to_disk(str(out / name))
    tok.save_pretrained(str(out / "tokenizer"))
    # The tokenizer's 2,000 ids are a subset of the architecture's 50,257.
    build_model().save_pretrained(str(folder / "model"))
    data = PreparedData(
        digest="bench",
        path=str(out),
        train_path=str(out / "train"),
        validation_path=str(out / "validation"),
        tokenizer_path=str(out / "tokenizer"),
        tokenizer_id="bench-bpe-2000",
        block_size=BLOCK,
        documents=len(docs),
        tokens=len(blocks) * BLOCK,
        train_blocks=len(train),
        validation_blocks=len(validation),
        sources=["sample"],
    )
    (folder / "data.json").write_text(data.model_dump_json())
    return len(train)


# -- lockstep ---------------------------------------------------------------------------------


class Gate:
    """Waits for ``go`` on stdin before each step and reports the previous step's seconds on stdout."""

    def __init__(self) -> None:
        self.started: float | None = None

    def begin(self) -> None:
        """Called where a step starts."""
        self.end()
        print("READY", flush=True)
        if sys.stdin.readline().strip() != "go":
            raise SystemExit("the bench driver went away")
        self.started = time.perf_counter()

    def end(self) -> None:
        """Called where training ends."""
        if self.started is not None:
            print(f"STEP {time.perf_counter() - self.started:.6f}", flush=True)
            self.started = None


def gate_callback(gate: Gate) -> Any:
    """A Trainer callback that holds each step at the gate."""
    from transformers import TrainerCallback

    class GateCallback(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            gate.begin()

        def on_train_end(self, args, state, control, **kwargs):
            gate.end()

    return GateCallback()


# -- the three sides, each in its own process -------------------------------------------------


def run_cubeops(folder: Path, steps: int, gate: Gate) -> dict:
    """The train task body (not the Prefect wrapper): MLflow run, callbacks, status, final save."""
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'cubeops' / 'mlflow.db'}"
    import mlflow

    import flows.train.tasks as tasks
    from flows.contracts import PreparedData
    from flows.spec import ProjectSpec
    from flows.train.precision import place, probe_hardware

    real_fit = tasks.fit

    def gated_fit(*args: Any, callbacks: list = (), **kwargs: Any) -> Any:
        return real_fit(*args, callbacks=[*callbacks, gate_callback(gate)], **kwargs)

    # The only change to the measured path: the lockstep gate joins its callbacks.
    tasks.fit = gated_fit
    spec = ProjectSpec.model_validate(
        {
            "project": "bench/train",
            "model": {"base": str(folder / "model")},
            "data": {"block_size": BLOCK},
            "train": {
                "max_steps": steps,
                "batch_size": BATCH,
                "learning_rate": LR,
                "eval_every": steps,
                "save_every": 10**6,
            },
            "eval": {"prompts": [], "probes": []},
        }
    )
    data = PreparedData.model_validate_json((folder / "data.json").read_text())
    placement = place(spec.train.device, spec.train.precision, probe_hardware())
    root = folder / "cubeops"
    root.mkdir(exist_ok=True)
    plan = tasks.TrainPlan(
        train_key="bench",
        checkpoint_dir=str(root / ".cubeops" / "checkpoints" / "bench"),
        device=placement.device,
        precision=placement.precision,
        precision_reason=placement.reason,
        key_material={"cubeops": "bench"},
    )
    outcome = tasks.train_model.fn(spec, str(root), data, plan)
    logged = len(mlflow.MlflowClient().get_metric_history(outcome.run_id, "loss"))
    return {
        "precision": placement.precision,
        "reason": placement.reason,
        "eval_loss": outcome.metrics["eval_loss"],
        "logged_loss_points": logged,
        "steps": outcome.global_step,
    }


def run_bare(folder: Path, steps: int, gate: Gate, precision: str) -> dict:
    """The same training in a plain loop: no Trainer, no callbacks, no logging."""
    import torch
    from datasets import load_from_disk
    from transformers import get_linear_schedule_with_warmup

    train = load_from_disk(str(folder / "data" / "train")).with_format("torch")
    model = build_model()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0, fused=True)
    sched = get_linear_schedule_with_warmup(opt, 0, steps)
    torch.manual_seed(42)
    order = torch.randperm(len(train)).tolist()
    rows = train[order[:BATCH]]
    for step in range(steps):
        gate.begin()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = model(input_ids=rows["input_ids"], labels=rows["labels"]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        loss.item()
        rows = train[order[(step + 1) * BATCH : (step + 2) * BATCH]]
    gate.end()
    return {"precision": precision, "steps": steps}


def run_hf_default(folder: Path, steps: int, gate: Gate) -> dict:
    """``Trainer`` with default arguments (only the batch, the steps and the output folder set)."""
    from datasets import load_from_disk
    from transformers import Trainer, TrainingArguments

    data = folder / "data"
    args = TrainingArguments(
        output_dir=str(folder / "hf"), per_device_train_batch_size=BATCH, max_steps=steps, report_to="none"
    )
    trainer = Trainer(
        model=build_model(),
        args=args,
        train_dataset=load_from_disk(str(data / "train")),
        eval_dataset=load_from_disk(str(data / "validation")),
        callbacks=[gate_callback(gate)],
    )
    trainer.train()
    return {"precision": "fp32", "eval_loss": trainer.evaluate()["eval_loss"], "steps": trainer.state.global_step}


def worker(side: str, folder: Path, steps: int, precision: str) -> int:
    """Run one side under the gate, then print its result."""
    import torch

    gate = Gate()
    if side == "cubeops":
        result = run_cubeops(folder, steps, gate)
    elif side == "bare":
        result = run_bare(folder, steps, gate, precision)
    else:
        result = run_hf_default(folder, steps, gate)
    result.update(peak_rss_mb=peak_rss_mb(), threads=torch.get_num_threads())
    print("RESULT_JSON " + json.dumps(result), flush=True)
    return 0


# -- the driver -------------------------------------------------------------------------------


class Side:
    """A worker process and the step times it reported."""

    def __init__(self, name: str, folder: Path, steps: int, precision: str = ""):
        self.name = name
        self.log = open(folder / f"{name}.log", "wb")
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            name,
            "--folder",
            str(folder),
            "--steps",
            str(steps),
            "--precision",
            precision,
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        self.seconds: list[float] = []
        self.result: dict = {}

    def read_until(self, *prefixes: str) -> str:
        """The next stdout line starting with one of ``prefixes`` (others are skipped)."""
        for line in self.proc.stdout:
            if line.startswith(prefixes):
                if line.startswith("STEP "):
                    self.seconds.append(float(line.split()[1]))
                elif line.startswith("RESULT_JSON "):
                    self.result = json.loads(line[len("RESULT_JSON ") :])
                return line
        self.log.flush()
        raise SystemExit(f"{self.name} exited with {self.proc.wait()}; see its log")

    def step(self) -> None:
        """Let one step run and wait for its time."""
        self.read_until("READY")
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        self.read_until("STEP ")

    def finish(self) -> dict:
        """Wait for the result."""
        self.read_until("RESULT_JSON ")
        self.proc.wait()
        self.log.close()
        return self.result


def rate(seconds: list[float], warmup: int) -> tuple[float, float]:
    """Tokens/s of the quickest quarter of the steps and of the median step (warm-up and last step left out)."""
    kept = sorted(seconds[warmup:-1] or seconds)
    quick = kept[: max(1, len(kept) // 4)]
    return BATCH * BLOCK / statistics.mean(quick), BATCH * BLOCK / statistics.median(kept)


def main() -> int:
    """Prepare the data and model, run the three sides in lockstep, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--worker", choices=SIDES)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--precision", default="")
    parser.add_argument("--show-steps", action="store_true", help="print every step time of every side")
    args = parser.parse_args()
    for key, value in (
        ("TOKENIZERS_PARALLELISM", "false"),
        ("MLFLOW_DISABLE_TELEMETRY", "true"),
        ("HF_HUB_OFFLINE", "1"),
        ("HF_DATASETS_DISABLE_PROGRESS_BARS", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ):
        os.environ.setdefault(key, value)
    if args.worker:
        return worker(args.worker, args.folder, args.steps, args.precision)

    from flows.train.precision import place, probe_hardware

    precision = place("auto", "auto", probe_hardware()).precision
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        folder = Path(tmp)
        blocks = prepare(folder, args.steps)
        print(
            f"DistilGPT2 architecture, random init; batch {BATCH} x {BLOCK}; {args.steps} steps ({blocks} train blocks); "
            f"sides in lockstep; {args.warmup} warm-up steps and the last left out; {os.cpu_count()} CPUs",
            flush=True,
        )
        sides = [
            Side("cubeops", folder, args.steps),
            Side("bare", folder, args.steps, precision),
            Side("hf-default", folder, args.steps),
        ]
        started = time.perf_counter()
        for _ in range(args.steps):
            for side in sides:
                side.step()
        cube, bare, hf = (side.finish() for side in sides)
        seconds = {side.name: side.seconds for side in sides}
        wall = time.perf_counter() - started

    if args.show_steps:
        for name in SIDES:
            print(f"{name:>10} step seconds: " + " ".join(f"{t:.2f}" for t in seconds[name]))
    (c_quick, c_med), (b_quick, b_med), (h_quick, h_med) = (rate(seconds[s], args.warmup) for s in SIDES)
    r_bare, r_hf = c_quick / b_quick, c_quick / h_quick
    delta = abs(cube["eval_loss"] - hf["eval_loss"]) / hf["eval_loss"]
    print(f"tokens/s of the quickest quarter of the steps (of the median step); {wall:.0f} s in all")
    print(
        f"cubeops     {cube['precision']:>4} ({cube['reason']}): {c_quick:6.1f} ({c_med:.1f}); "
        f"{cube['logged_loss_points']} loss points in MLflow; eval loss {cube['eval_loss']:.4f}; "
        f"peak RSS {cube['peak_rss_mb']:.0f} MB; {cube['threads']} threads"
    )
    print(
        f"bare loop   {bare['precision']:>4}: {b_quick:6.1f} ({b_med:.1f}); "
        f"peak RSS {bare['peak_rss_mb']:.0f} MB; {bare['threads']} threads"
    )
    print(
        f"HF default  fp32: {h_quick:6.1f} ({h_med:.1f}); eval loss {hf['eval_loss']:.4f}; "
        f"peak RSS {hf['peak_rss_mb']:.0f} MB; {hf['threads']} threads"
    )
    verdict = {True: "ok", False: "BELOW GOAL"}
    print(f"ratio vs bare loop (same precision): {r_bare:.3f}  (goal >= {GOAL_BARE})  {verdict[r_bare >= GOAL_BARE]}")
    print(f"ratio vs HF Trainer defaults:        {r_hf:.3f}  (goal >= {GOAL_HF})  {verdict[r_hf >= GOAL_HF]}")
    print(
        f"eval loss delta vs fp32:             {100 * delta:.2f}%  (goal <= {100 * GOAL_EVAL:.0f}%)  "
        f"{'ok' if delta <= GOAL_EVAL else 'ABOVE GOAL'}"
    )
    label = f"fine-tune DistilGPT2 arch, {args.steps} steps"
    for row in (
        {
            "benchmark": f"{label} vs bare loop",
            "cubeops": round(c_quick, 1),
            "baseline": round(b_quick, 1),
            "unit": "tok/s",
            "ratio": round(r_bare, 3),
            "goal": f">={GOAL_BARE}",
            "ok": r_bare >= GOAL_BARE,
        },
        {
            "benchmark": f"{label} vs HF Trainer defaults",
            "cubeops": round(c_quick, 1),
            "baseline": round(h_quick, 1),
            "unit": "tok/s",
            "ratio": round(r_hf, 3),
            "goal": f">={GOAL_HF}",
            "ok": r_hf >= GOAL_HF,
        },
        {
            "benchmark": f"{label} eval loss vs fp32",
            "cubeops": round(cube["eval_loss"], 4),
            "baseline": round(hf["eval_loss"], 4),
            "unit": "",
            "ratio": round(1 + delta, 4),
            "goal": f"<={1 + GOAL_EVAL}",
            "ok": delta <= GOAL_EVAL,
        },
        {
            "benchmark": "fine-tune peak RSS",
            "cubeops": round(cube["peak_rss_mb"], 1),
            "baseline": round(bare["peak_rss_mb"], 1),
            "unit": "MB",
        },
    ):
        print("RESULT " + json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
