"""Finding a version's model card: a Markdown file logged with the model or its run, or the description."""

import tempfile
from pathlib import Path
from typing import Any

from registry.client import VersionInfo

# Preferred names first: the card the fine-tune stage writes, then the one MLflow writes.
CARD_NAMES = ("README.md", "model_card.md")


def _card_path(entries: list) -> str | None:
    files = {e.path.rsplit("/", 1)[-1]: e.path for e in entries if not e.is_dir}
    for name in CARD_NAMES:
        if name in files:
            return files[name]
    return None


def logged_model_id(info: VersionInfo) -> str | None:
    """The MLflow 3 logged-model id behind a version whose source is ``models:/m-...``."""
    if info.source.startswith("models:/m-"):
        return info.source.split(":/", 1)[1].strip("/").split("/", 1)[0]
    return None


def find_card(client: Any, info: VersionInfo) -> str | None:
    """The model card's Markdown, or None when the version has none."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            model_id = logged_model_id(info)
            if model_id:
                path = _card_path(client.list_logged_model_artifacts(model_id))
                if path:
                    base = client.get_logged_model(model_id).artifact_location.rstrip("/")
                    local = mlflow.artifacts.download_artifacts(
                        artifact_uri=f"{base}/{path}", dst_path=tmp, tracking_uri=client.tracking_uri
                    )
                    return Path(local).read_text(encoding="utf-8")
            if info.run_id:
                path = _card_path(client.list_artifacts(info.run_id, "model")) or _card_path(client.list_artifacts(info.run_id))
                if path:
                    return Path(client.download_artifacts(info.run_id, path, tmp)).read_text(encoding="utf-8")
        except MlflowException:
            pass
    return info.description or None
