"""``cubeops serve start|stop|status``: the local model server outside a pipeline run."""

import argparse

from flows.cli.common import command, load_project


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "serve", "start, stop or inspect the local model server of the champion")
    p.add_argument("action", choices=("start", "stop", "status"), help="what to do")
    p.set_defaults(handler=run)


def _start(project) -> int:
    from flows.deploy.tasks import GateOutcome, serve_champion
    from flows.errors import RegistryError
    from flows.serving.process import live_servers

    # The deploy flow's serving step without Prefect: smoke test, switch, rollback on failure.
    deployment = serve_champion.fn(project.spec, str(project.layout.root), GateOutcome(None))
    if deployment.version is None:
        raise RegistryError(f"{project.spec.model_name} has no champion to serve; run `cubeops run` or "
                            "`cubeops registry promote V --reason TEXT` first")
    servers = live_servers(project.layout.serving_dir)
    pids = ", ".join(str(r.pid) for r in servers)
    if deployment.rolled_back:
        print(f"cubeops: warning: {deployment.verdict}")
    print(f"serving {deployment.model_name} v{deployment.version} at {deployment.url} (pid {pids})")
    for r in servers:
        print(f"  log: {r.log}")
    return 0


def _stop(project) -> int:
    from flows.serving.process import live_servers, serving_lock, stop_servers
    from status.publish import publisher_for

    serving_dir = project.layout.serving_dir
    with serving_lock(serving_dir):
        servers = live_servers(serving_dir)
        if not servers:
            print("no model server is running")
            return 0
        grace = project.spec.serving.request_timeout.total_seconds()
        stop_servers(serving_dir, servers, grace)
    publisher_for(project.spec, project.layout).publish("serving", "down", "down · stopped")
    print(f"stopped v{servers[0].version} (pid {', '.join(str(r.pid) for r in servers)})")
    return 0


def _status(project) -> int:
    from flows.serving.probe import probe_project
    from flows.serving.process import live_servers

    result = probe_project(project.spec, project.layout)
    print(result.message)
    for r in live_servers(project.layout.serving_dir):
        print(f"  pid {r.pid}  v{r.version}  {r.url}  log {r.log}")
    return 0 if result.state == "live" else 1


def run(args: argparse.Namespace) -> int:
    """Exit code of ``status``: 0 when live, 1 otherwise (degraded, drift, down)."""
    project = load_project(args)
    return {"start": _start, "stop": _stop, "status": _status}[args.action](project)
