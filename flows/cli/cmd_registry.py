"""``cubeops registry``: list, show, promote and roll back model versions (MLflow aliases)."""

import argparse

from flows.cli.common import command, load_project


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "registry", "list, show, promote or roll back registered model versions")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="table of versions with digest, perplexity, aliases and gate verdict")
    show = actions.add_parser("show", help="details of one version")
    show.add_argument("version")
    show.add_argument("--card", action="store_true", help="print the model card")
    promote = actions.add_parser("promote", help="make a version the champion (a recorded manual override)")
    promote.add_argument("version")
    promote.add_argument("--reason", required=True)
    actions.add_parser("rollback", help="move champion back to the previous version")
    p.set_defaults(handler=run)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown user"


def _after_move(project, champion: str) -> str:
    """Publish ``drift`` when a running server now serves another version than the champion; a hint to fix it."""
    from flows.serving.probe import probe_project
    from status.publish import publisher_for

    result = probe_project(project.spec, project.layout)
    if result.state != "drift":
        return ""
    links = {"url": result.details["url"]}
    publisher_for(project.spec, project.layout).publish("serving", "drift", result.message, links=links, details=result.details)
    served = result.details.get("version")
    return f"\nthe model server still serves v{served}; run `cubeops serve start` to serve v{champion}"


def run(args: argparse.Namespace) -> int:
    """List, show, promote or roll back; a missing model or version is a RegistryError (exit 2)."""
    from flows.contracts import CHAMPION
    from flows.errors import RegistryError
    from registry.client import (
        get_version,
        list_versions,
        normalize_version,
        registry_client,
        run_metrics,
    )
    from registry.table import Row, list_table, show_text

    project = load_project(args)
    client = registry_client(project.layout)
    name = project.spec.model_name
    if args.action == "list":
        versions = list_versions(client, name)
        if not versions:
            print(f"{name} has no versions yet")
            return 0
        print(list_table([Row(v, run_metrics(client, v.run_id)) for v in versions]))
        return 0
    if args.action == "show":
        info = get_version(client, name, args.version)
        if args.card:
            from registry.card import find_card

            card = find_card(client, info)
            if card is None:
                raise RegistryError(f"{name} v{info.version} has no model card "
                                    "(no README.md or model_card.md logged with it, no description)")
            print(card.rstrip())
            return 0
        print(show_text(Row(info, run_metrics(client, info.run_id))))
        return 0
    if args.action == "promote":
        from registry.aliases import MANUAL, promote

        reason = args.reason.strip()
        if not reason:
            raise RegistryError("--reason must say why this version is promoted by hand")
        version = normalize_version(args.version)
        plan = promote(client, name, version, MANUAL, reason, by=_user())
        was = f" (previous: v{plan.demoted})" if plan.demoted else ""
        print(f"{name} v{version} is now the champion{was}" + _after_move(project, version))
        return 0
    from registry.aliases import rollback

    plan = rollback(client, name, f"rolled back by hand with `cubeops registry rollback` by {_user()}", by=_user())
    champion = plan.set[CHAMPION]
    demoted = f"v{plan.demoted}" if plan.demoted else "no champion"
    print(f"{name}: champion rolled back from {demoted} to v{champion}" + _after_move(project, champion))
    return 0
