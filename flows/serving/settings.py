"""What one model-server process serves and how: written by the deployer, read by the server."""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flows.spec import ProjectSpec


@dataclass(frozen=True)
class ServerSettings:
    """Everything a server process needs besides the environment (which holds the token)."""

    model_name: str
    version: str
    model_uri: str
    run_id: str | None
    data_digest: str | None
    host: str
    port: int
    max_prompt_chars: int
    max_new_tokens: int
    """The ceiling a request may ask for."""
    default_new_tokens: int
    """What a request that does not say gets."""
    request_timeout: float
    token_env: str | None
    """Environment variable holding the bearer token; None serves without auth."""
    state_file: str
    """Where the server writes its pid and private port once it has bound them."""
    steer_index: int = 0
    """Index of this server in the port's SO_REUSEPORT group when it joins (servers already there)."""
    steer_count: int = 1
    """How many servers join together (``serving.workers``)."""

    def write(self, path: Path) -> Path:
        """Save as JSON."""
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: str | os.PathLike) -> "ServerSettings":
        """Load from JSON."""
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


def settings_for(
    spec: ProjectSpec,
    version: Any,
    state_file: Path,
    steer_index: int = 0,
    steer_count: int = 1,
) -> ServerSettings:
    """Settings to serve ``version`` (a :class:`~registry.client.VersionInfo`) under the spec's ``serving`` section."""
    from flows.contracts import TAG_DATA_DIGEST

    serving = spec.serving
    return ServerSettings(
        model_name=version.name,
        version=str(version.version),
        model_uri=version.uri,
        run_id=version.run_id,
        data_digest=version.tags.get(TAG_DATA_DIGEST),
        host=serving.host,
        port=serving.port,
        max_prompt_chars=serving.max_prompt_chars,
        max_new_tokens=serving.max_new_tokens,
        default_new_tokens=min(spec.eval.max_new_tokens, serving.max_new_tokens),
        request_timeout=serving.request_timeout.total_seconds(),
        token_env=serving.auth.token_env if serving.auth else None,
        state_file=str(state_file),
        steer_index=steer_index,
        steer_count=steer_count,
    )
