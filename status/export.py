"""The static export: a project's badges, shields endpoint JSON and page as plain files.

``DIR/OWNER/NAME/{data,train,serving}.svg`` are byte for byte what the status server answers for
``/badge/OWNER/NAME/{stage}.svg``, the ``.json`` files what it answers as shields endpoint JSON,
and ``index.html`` is the project page with relative links: GitHub Pages (or any static host)
serves the badges with no cubeops server. Each file is written aside and renamed into place, so
a reader never sees half a file.
"""

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flows.errors import StatusError
from status.model import LABELS, STAGES, utcnow
from status.page import render_page
from status.pagedata import PageData, read_page_data
from status.responses import BadgeCache
from status.store import StatusStore


@dataclass(frozen=True)
class Export:
    """What an export wrote."""

    project: str
    folder: Path
    files: list[Path]
    known: bool
    """False when the project never published (its badges read unknown)."""


def badge_files(data: PageData) -> dict[str, bytes]:
    """``{stage}.svg`` and ``{stage}.json`` of each stage, as the status server renders them."""
    cache = BadgeCache("")
    files = {}
    for stage in STAGES:
        view = data.stages[stage]
        since = view.since or data.generated_at
        for fmt in ("svg", "json"):
            rendered = cache.render(LABELS[stage], view.message, view.color, since, "flat", fmt, None, None)
            files[f"{stage}.{fmt}"] = rendered.body
    return files


def page_file(data: PageData) -> bytes:
    """``index.html``: the project page, its badges the exported SVG files beside it."""
    return render_page(data, badge_src={s: f"{s}.svg" for s in STAGES}, static=True).encode()


def _write(path: Path, body: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_folder(out: Path, project: str) -> Path:
    """``out/OWNER/NAME``, created; a :class:`StatusError` naming ``out`` when that cannot be."""
    if out.exists() and not out.is_dir():
        raise StatusError(f"--out {out} is a file, not a folder; name a folder to export into")
    folder = out / project
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StatusError(f"cannot create the export folder {folder}: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise StatusError(f"cannot export into {folder}: it is not a folder")
    return folder


def export_project(
    store: StatusStore,
    project: str,
    out: Path,
    *,
    visibility: str = "public",
    include_private: bool = False,
    now: datetime | None = None,
) -> Export:
    """Export one project's badges and page under ``out``; refuses a private project unless asked.

    ``visibility`` is the spec's, used only when the store has never heard of the project.
    """
    data = read_page_data(store, project, now or utcnow(), visibility)
    if data.visibility != "public" and not include_private:
        raise StatusError(
            f"{project} is private: a static export can be read by anyone who reaches the folder, "
            "without a token; pass --include-private to export it anyway"
        )
    folder = prepare_folder(Path(out), project)
    files = {**badge_files(data), "index.html": page_file(data)}
    written = []
    try:
        for name, body in files.items():
            _write(folder / name, body)
            written.append(folder / name)
    except OSError as exc:
        raise StatusError(f"cannot write the export to {folder}: {exc.strerror or exc}") from None
    return Export(project, folder, written, data.known)
