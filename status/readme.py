"""The README block: which token the badge URLs carry, and the badges with the champion's model card.

Badge URLs sit in a public README, so they only ever carry ``PUBLIC`` (a public project) or a
read token of that very project, checked against the status store: a write token, a revoked
token or another project's token is refused with a message saying what to do instead.
"""

import re
from collections.abc import Callable, Mapping

from flows.errors import StatusError
from status.markdown import BEGIN_MARK, END_MARK
from status.store import StatusStore
from status.tokens import PUBLIC, READ, TokenIndex, list_tokens, looks_like_write_token

READ_TOKEN_ENV = "CUBEOPS_READ_TOKEN"
PUBLIC_URL_ENV = "CUBEOPS_STATUS_PUBLIC_URL"
NO_CHAMPION = "_No champion model yet: `cubeops run` trains a version, and the gate makes it `@champion`._"
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n+", re.DOTALL)


def base_url_for(url: str | None, spec_url: str | None, environ: Mapping[str, str]) -> str:
    """The status server's public base URL: ``--url``, else ``CUBEOPS_STATUS_PUBLIC_URL``, else ``status.url``."""
    chosen = url or environ.get(PUBLIC_URL_ENV) or spec_url
    if not chosen:
        raise StatusError(
            "no status server URL for the badges: pass --url https://status.example.com "
            "or set status.url in cubeops.yaml"
        )
    if not chosen.startswith(("http://", "https://")):
        raise StatusError(f"status server URL {chosen!r} must start with http:// or https://")
    return chosen.rstrip("/")


def _create_hint(project: str) -> str:
    return f"create one with `cubeops token create --project {project}` and pass it with --token or {READ_TOKEN_ENV}"


def badge_token(project: str, visibility: str, token: str | None, open_store: Callable[[], StatusStore]) -> str:
    """The token badge URLs of ``project`` may carry: ``PUBLIC``, or ``token`` once verified as its read token.

    ``open_store`` is called only when a token has to be checked.
    """
    if not token or token == PUBLIC:
        if visibility == "public":
            return PUBLIC
        raise StatusError(f"{project} is private: its badges need a read token; {_create_hint(project)}")
    if looks_like_write_token(token):
        raise StatusError(
            "that is a write token (cubw_…): badge URLs are public and must only carry a read token "
            f"(a write token seen in a badge URL is revoked as leaked); {_create_hint(project)}"
        )
    store = open_store()
    try:
        record = TokenIndex(list_tokens(store)).find(token)
    finally:
        store.close()
    if record is None:
        raise StatusError(f"that token is not in the status store; {_create_hint(project)}")
    if record.project != project:
        raise StatusError(f"that token belongs to {record.project}, not {project}; {_create_hint(project)}")
    if record.scope != READ:
        raise StatusError(f"token {record.name!r} is a {record.scope} token, not a read token; {_create_hint(project)}")
    if not record.active:
        raise StatusError(f"read token {record.name!r} of {project} is revoked ({record.revoked_reason}); {_create_hint(project)}")
    return token


def card_for_readme(card: str) -> str:
    """A model card fit for a README: without its YAML front matter or any cubeops marker line."""
    text = _FRONT_MATTER.sub("", card.replace("\r\n", "\n"), count=1)
    lines = [ln for ln in text.split("\n") if ln.strip() not in (BEGIN_MARK, END_MARK)]
    return "\n".join(lines).strip()


def readme_block(badges: str, card: str | None) -> str:
    """The block between the markers: the badges, then the champion's card (or a note that there is none)."""
    body = card_for_readme(card) if card else ""
    return f"{badges.strip()}\n\n{body or NO_CHAMPION}\n"
