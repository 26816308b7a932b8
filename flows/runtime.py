"""Process-level configuration, done once by an entry point (the CLI, a worker, a test).

Libraries never call these at import; they receive a :class:`~flows.layout.Layout`.
"""

import logging
import os
from collections.abc import MutableMapping

from flows.layout import Layout


def configure_prefect(layout: Layout, environ: MutableMapping[str, str] | None = None) -> None:
    """Point Prefect at the project: its home under ``.cubeops/``, telemetry off, the API URL if set.

    Must run before ``prefect`` is imported: Prefect reads some settings once.
    """
    env = os.environ if environ is None else environ
    env.setdefault("PREFECT_HOME", str(layout.prefect_home))
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    env.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    if layout.prefect_api_url:
        env["PREFECT_API_URL"] = layout.prefect_api_url


def configure_quiet_libraries(environ: MutableMapping[str, str] | None = None) -> None:
    """Keep third-party chatter (and phone-home attempts) out of a user's terminal."""
    env = os.environ if environ is None else environ
    env.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    env.setdefault("GIT_PYTHON_REFRESH", "quiet")
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


class _HideUserErrorTracebacks(logging.Filter):
    """Prefect logs a failing task or flow with its traceback; for a user's mistake, the message is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        from flows.errors import UserError

        if record.exc_info and isinstance(record.exc_info[1], UserError):
            # Prefect's message already quotes the exception; keep its first line, drop the traceback.
            record.msg = record.getMessage().splitlines()[0]
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def hide_user_error_tracebacks() -> None:
    """Install the filter on the loggers Prefect reports run failures through."""
    f = _HideUserErrorTracebacks()
    for name in ("prefect.task_runs", "prefect.flow_runs", "prefect.engine", "prefect"):
        logger = logging.getLogger(name)
        if not any(isinstance(x, _HideUserErrorTracebacks) for x in logger.filters):
            logger.addFilter(f)


def configure_logging(verbose: bool = False) -> None:
    """Plain, one-line log records on stderr."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("urllib3", "httpx", "alembic", "git", "filelock", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    hide_user_error_tracebacks()
