"""``cubeops init [DIR]``: a commented spec and a small sample corpus to start from."""

import argparse
from pathlib import Path

from flows.errors import UserError
from flows.sample import sample_text

SPEC_TEMPLATE = """\
# cubeops project spec. Reference: https://github.com/cubeops/cubeops#spec-reference
# Validate with `cubeops validate`, run everything with `cubeops run`.

project: {project}            # OWNER/NAME of the repository; names the experiment and the badges
visibility: public             # public badges open with token=PUBLIC; private ones need a read token

data:
  sources:                     # paths, globs, directories, http(s) URLs or hf:NAME; concatenated
    - data/
  txt_documents: paragraph     # .txt: one document per blank-line separated block (or `line`)
  text_field: text             # field holding the text in .jsonl/.json/.csv/.parquet
  block_size: 64               # tokens per training block

model:
  base: tiny-gpt2              # `distilgpt2` for the real model (needs the Hugging Face Hub or a cache)

train:
  max_steps: 60
  batch_size: 8
  learning_rate: 0.001
  eval_every: 20
  save_every: 20

eval:
  prompts: ["The data team", "Our support desk"]

registry:
  model_name: {model_name}

serving:
  port: 5001                   # the model server listens on 127.0.0.1:5001

status:
  stale_after: 7d              # a dataset older than this reads `stale`
  # url: https://status.example.com   # publish to a cubeops status server (token in CUBEOPS_STATUS_TOKEN)

schedule:
  cron: "0 3 * * *"            # `cubeops schedule` runs the pipeline nightly at 03:00 UTC

tracking: {{}}                   # defaults: MLflow in .cubeops/mlflow.db, a temporary Prefect server
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init",
        help="write a commented cubeops.yaml and a small sample corpus",
        description="Create DIR (default: the current folder) with a commented cubeops.yaml and data/sample.txt.",
    )
    p.add_argument("dir", nargs="?", default=".", help="folder of the new project (default: .)")
    p.add_argument("--project", help="OWNER/NAME (default: local/<folder name>)")
    p.add_argument("--force", action="store_true", help="overwrite an existing cubeops.yaml")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if root.exists() and not root.is_dir():
        raise UserError(f"{root} exists and is not a folder")
    spec_path = root / "cubeops.yaml"
    if spec_path.exists() and not args.force:
        raise UserError(f"{spec_path} already exists; pass --force to overwrite it")
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in root.resolve().name) or "project"
    project = args.project or f"local/{name}"
    from flows.spec import PROJECT_RE

    if not PROJECT_RE.match(project):
        raise UserError(f"--project {project!r} must be OWNER/NAME")
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(SPEC_TEMPLATE.format(project=project, model_name=project.replace("/", "-")), encoding="utf-8")
    sample = data / "sample.txt"
    if not sample.exists():
        sample.write_text(sample_text(400), encoding="utf-8")
    print(f"wrote {spec_path} and {sample}")
    print(f"next: cubeops validate -c {spec_path} && cubeops run -c {spec_path}")
    return 0
