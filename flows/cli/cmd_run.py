"""``cubeops run``: the pipeline (prepare-data → fine-tune → deploy), or one stage of it."""

import argparse

from flows.cli.common import command, load_project

STAGES = ("data", "train", "deploy")


def register(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub,
        "run",
        "run the pipeline now: prepare data, fine-tune, register and deploy",
        "Run prepare-data, fine-tune and deploy as one Prefect flow run, tracked in MLflow. Stages whose "
        "inputs did not change are reused.",
    )
    p.add_argument("--only", choices=STAGES, help="run one stage only")
    p.add_argument("--force", action="store_true", help="redo stages even when their results can be reused")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = load_project(args)
    from flows.pipeline import run_pipeline, summarize
    from flows.tracking import check_services

    check_services(project.layout)

    results = run_pipeline(project.spec_path, only=args.only, force=args.force)
    for stage, result in results.items():
        print(f"{stage:<7} {summarize(result)}")
    return 0
