"""The README badge block: Markdown for the Data, Training and Serving badges, each linking to its tab."""

from urllib.parse import quote, urlencode

from status.model import STAGES, TABS

ALT_TEXT = {"data": "Data Status", "train": "Training Status", "serving": "Serving Status"}
PUBLIC = "PUBLIC"


def badge_url(base_url: str, project: str, stage: str, token: str = PUBLIC) -> str:
    """Image URL of one badge, in the Boltzbit shape (``/api/v1/cubes/status/{stage}?...``)."""
    query = urlencode({"repositoryOwnerPlusName": project, "token": token}, safe="/")
    return f"{base_url.rstrip('/')}/api/v1/cubes/status/{stage}?{query}"


def page_url(base_url: str, project: str, stage: str) -> str:
    """The project-page tab a badge links to."""
    return f"{base_url.rstrip('/')}/{quote(project, safe='/')}?tab={TABS[stage]}"


def badge_markdown(base_url: str, project: str, token: str = PUBLIC) -> str:
    """Three Markdown badges, one line each, with alt text, each linking to its project-page tab."""
    return "\n".join(
        f"[![{ALT_TEXT[s]}]({badge_url(base_url, project, s, token)})]({page_url(base_url, project, s)})"
        for s in STAGES
    )
