"""Thin helpers over ``MlflowClient`` for one registered model: versions, aliases, metrics.

Every "does not exist" becomes a :class:`~flows.errors.RegistryError` naming the model and what
it does have, so a CLI user sees one line instead of an MLflow traceback.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from typing import Any

from flows.errors import RegistryError
from flows.layout import Layout


@dataclass(frozen=True)
class VersionInfo:
    """One registered model version, with the aliases that point at it."""

    name: str
    version: str
    created: datetime
    run_id: str | None
    source: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    description: str = ""

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``: pinned, unlike an alias URI."""
        return f"models:/{self.name}/{self.version}"


def registry_client(layout: Layout) -> Any:
    """An ``MlflowClient`` on the project's tracking store, which also holds its registry."""
    import mlflow

    from flows.tracking import check_reachable, tracking_source

    if layout.tracking_uri.startswith(("http://", "https://")):
        check_reachable(layout.tracking_uri, tracking_source(layout))
    return mlflow.MlflowClient(tracking_uri=layout.tracking_uri, registry_uri=layout.tracking_uri)


def normalize_version(text: str) -> str:
    """Accept ``3`` or ``v3``; raise :class:`RegistryError` for anything else."""
    raw = str(text).strip()
    digits = raw[1:] if raw[:1] in ("v", "V") else raw
    if not digits.isdigit() or int(digits) < 1:
        raise RegistryError(f"{text!r} is not a model version; give a number such as 3 (or v3)")
    return str(int(digits))


def _is_missing(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(exc).lower()


def registered_aliases(client: Any, name: str) -> dict[str, str]:
    """Alias → version of the registered model; raises when the model does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        if _is_missing(exc):
            raise RegistryError(
                f"no registered model named {name!r} in this project's registry; "
                "run `cubeops run` to train and register a version first"
            ) from None
        raise
    return {alias: str(v) for alias, v in (model.aliases or {}).items()}


def _info(mv: Any, aliases: dict[str, str]) -> VersionInfo:
    version = str(mv.version)
    return VersionInfo(
        name=mv.name,
        version=version,
        created=datetime.fromtimestamp((mv.creation_timestamp or 0) / 1000, tz=UTC),
        run_id=mv.run_id or None,
        source=mv.source or "",
        tags=dict(mv.tags or {}),
        aliases=tuple(sorted(a for a, v in aliases.items() if v == version)),
        description=mv.description or "",
    )


def list_versions(client: Any, name: str) -> list[VersionInfo]:
    """Every version of ``name``, oldest first; raises when the model does not exist."""
    aliases = registered_aliases(client, name)
    quoted = name.replace("'", "\\'")
    found, token = [], None
    while True:
        page = client.search_model_versions(f"name = '{quoted}'", max_results=1000, page_token=token)
        found += page
        token = page.token
        if not token:
            break
    # search_model_versions leaves aliases empty in the sqlite store; they come from the model.
    return sorted((_info(mv, aliases) for mv in found), key=lambda v: int(v.version))


def get_version(client: Any, name: str, version: str) -> VersionInfo:
    """One version; raises :class:`RegistryError` naming the versions that do exist."""
    from mlflow.exceptions import MlflowException

    version = normalize_version(version)
    aliases = registered_aliases(client, name)
    try:
        mv = client.get_model_version(name, version)
    except MlflowException as exc:
        if not _is_missing(exc):
            raise
        existing = [v.version for v in list_versions(client, name)]
        have = f"versions {', '.join(existing)}" if existing else "no versions yet"
        raise RegistryError(f"model {name!r} has no version {version} (it has {have})") from None
    return _info(mv, aliases)


def alias_version(client: Any, name: str, alias: str) -> VersionInfo | None:
    """The version an alias points at, or None when the alias (or the model) is unset."""
    try:
        aliases = registered_aliases(client, name)
    except RegistryError:
        return None
    if alias not in aliases:
        return None
    return get_version(client, name, aliases[alias])


def run_metrics(client: Any, run_id: str | None) -> dict[str, float]:
    """The latest value of each metric of a run; empty when the run is gone."""
    from mlflow.exceptions import MlflowException

    if not run_id:
        return {}
    try:
        return dict(client.get_run(run_id).data.metrics)
    except MlflowException:
        return {}
