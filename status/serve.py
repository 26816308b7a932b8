"""Running the status service under uvicorn, with tokens redacted from its logs."""

import logging
import socket
import sys

from flows.errors import StatusError
from status.settings import StatusSettings


def check_store(url: str) -> None:
    """Open the store (creating its tables) so a bad URL fails before the server starts."""
    from status.store import StatusStore

    store = StatusStore(url)
    try:
        store.create()
    finally:
        store.close()


def shown_url(url: str) -> str:
    """A database URL fit for a terminal: any password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an odd URL is shown by its scheme only
        return url.split(":", 1)[0] + ":…"


def default_probe():  # noqa: ANN201 - a status.probe.Probe
    """The model server's own probe (``flows.serving.probe``) when installed, else the built-in one."""
    try:
        from flows.serving.probe import probe
    except ImportError:
        from status.probe import http_probe

        return http_probe
    return probe


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a clear error when the address is taken or invalid."""
    if not 0 < port < 65536:
        raise StatusError(f"--port {port} must be between 1 and 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StatusError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(settings: StatusSettings, host: str = "127.0.0.1", port: int = 8000, access_log: bool = True) -> None:
    """Serve the badges and status API until interrupted."""
    import uvicorn

    from status.app import create_app
    from status.redact import RedactTokens, uvicorn_log_config

    check_store(settings.store_url)
    # Our own records go through the root handlers: redact there too, in case a URL slips in.
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactTokens())
    sock = bind(host, port)
    config = uvicorn.Config(
        create_app(settings, probe=default_probe()),
        log_config=uvicorn_log_config(),
        access_log=access_log,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
    )
    where = f"[{host}]" if ":" in host else host
    print(
        f"cubeops status server on http://{where}:{port} (store {shown_url(settings.store_url)}); Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
