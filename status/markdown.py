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


BEGIN_MARK = "<!-- cubeops:badges -->"
END_MARK = "<!-- /cubeops:badges -->"


def update_block(text: str, block: str, source: str = "README.md") -> tuple[str, str]:
    """Put ``block`` between the cubeops markers of ``text``; returns (new text, what happened).

    Text outside the markers is never touched. Without markers the block is appended at the end
    ("appended"); with unbalanced or repeated markers nothing is written and a :class:`UserError`
    names the line. The result of a second run with the same block is identical ("unchanged").
    """
    from flows.errors import UserError

    lines = text.splitlines(keepends=True)
    begins = [i for i, ln in enumerate(lines) if ln.strip() == BEGIN_MARK]
    ends = [i for i, ln in enumerate(lines) if ln.strip() == END_MARK]
    body = block.strip("\n") + "\n"
    if not begins and not ends:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return f"{text}{sep}{BEGIN_MARK}\n{body}{END_MARK}\n", "appended"
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        marks = sorted([(i, BEGIN_MARK) for i in begins] + [(i, END_MARK) for i in ends])
        where = ", ".join(f"{m} at line {i + 1}" for i, m in marks)
        raise UserError(f"{source}: unbalanced cubeops markers ({where}); expected one {BEGIN_MARK} before one {END_MARK}")
    new = "".join(lines[: begins[0] + 1]) + body + "".join(lines[ends[0]:])
    return new, "unchanged" if new == text else "updated"
