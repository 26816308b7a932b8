"""``cubeops dashboard``: the MLflow UI on the project's tracking store."""

import argparse
import subprocess
import sys

from flows.cli.common import command, load_project


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "dashboard", "start the MLflow UI on the project's tracking store and print its URL")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = load_project(args)
    uri = project.layout.tracking_uri
    if uri.startswith(("http://", "https://")):
        print(f"MLflow dashboard: {uri}  (experiment {project.layout.experiment})")
        return 0
    project.layout.ensure()
    url = f"http://{args.host}:{args.port}"
    print(f"MLflow dashboard: {url}  (experiment {project.layout.experiment}); Ctrl-C stops it", flush=True)
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
           "--default-artifact-root", project.layout.artifact_root, "--host", args.host, "--port", str(args.port)]
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0
