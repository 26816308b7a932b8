"""What ``make run`` prints after the quickstart: the dashboard, the badges and the served model."""

import argparse
import shlex

from flows.cli.common import add_config, load_project

DEFAULT_STATUS_URL = "http://127.0.0.1:8000"


def main(argv: list[str] | None = None) -> int:
    """Print how to look at what the pipeline produced."""
    parser = argparse.ArgumentParser(prog="python -m flows.quickstart_info")
    add_config(parser)
    args = parser.parse_args(argv)
    project = load_project(args, configure=False)
    spec, layout = project.spec, project.layout
    from status.markdown import badge_markdown

    cfg = shlex.quote(str(project.spec_path))
    status_url = spec.status.url or DEFAULT_STATUS_URL
    serving = f"http://{spec.serving.host}:{spec.serving.port}"
    body = '{"inputs": ["The data team"], "params": {"max_new_tokens": 16}}'
    print(
        f"""
MLflow dashboard   cubeops dashboard -c {cfg}    (then open http://127.0.0.1:5000)
                   tracking store: {layout.tracking_uri}, experiment {layout.experiment!r}
Status badges      cubeops status serve -c {cfg}  (serves {status_url})
{badge_markdown(status_url, spec.project)}
Served model       {serving}/health
                   curl -s {serving}/invocations -H 'Content-Type: application/json' -d '{body}'
"""
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
