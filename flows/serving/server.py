"""The model-server process: ``python -m flows.serving.server SETTINGS.json``.

It binds a private loopback port first and writes it, with its pid, to the settings' state
file; loads the model; then serves on the private port only, so the deployer can check its
health and run the smoke test before any client reaches it. On ``SIGUSR1`` it joins the public
port (see :mod:`flows.serving.sockets`); on ``SIGTERM`` it stops accepting, finishes the requests
in flight, and exits.
"""

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("cubeops.serving")


def write_state(path: str, **fields: Any) -> None:
    """Atomically (re)write the state file the deployer polls."""
    target = Path(path)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), **fields}), encoding="utf-8")
    tmp.replace(target)


def load_model(settings: Any) -> tuple[Any, bool]:
    """The pyfunc model, and whether its signature takes ``max_new_tokens`` per request."""
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(settings.model_uri)
    schema = model.metadata.get_params_schema()
    takes_length = schema is not None and "max_new_tokens" in {p.name for p in schema.params}
    if not takes_length:
        log.warning("v%s has no max_new_tokens parameter in its signature: every request generates %d tokens",
                    settings.version, settings.default_new_tokens)
        try:
            pipeline = model.get_raw_model()
        except NotImplementedError:
            return model, takes_length
        generation = getattr(getattr(pipeline, "model", None), "generation_config", None)
        if generation is not None and generation.max_new_tokens is None:
            # Without this a text-generation pipeline defaults to 256 new tokens, whatever the cap
            # (and past a small model's context, into an index error).
            generation.max_new_tokens = settings.default_new_tokens
    return model, takes_length


def warm_up(model: Any, takes_length: bool) -> None:
    """One short generation, so the first client request does not pay for lazy initialisation."""
    try:
        model.predict(["warm up"], params={"max_new_tokens": 1} if takes_length else None)
    except Exception as exc:  # noqa: BLE001 - the smoke test judges the model; this only warms it
        log.warning("warm-up generation failed: %s", str(exc).splitlines()[0][:200])


def _server_class() -> type:
    import uvicorn

    class SwitchableServer(uvicorn.Server):
        """uvicorn's server, able to start listening on the public port while running."""

        def __init__(self, config: Any, settings: Any, app: Any):
            super().__init__(config)
            self.settings = settings
            self.app = app

        async def startup(self, sockets: list | None = None) -> None:
            """uvicorn's startup, then SIGUSR1 means: join the public port."""
            await super().startup(sockets=sockets)
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGUSR1, lambda: loop.create_task(self.join_public()))

        async def join_public(self) -> None:
            """Listen on the public port too, and take every new connection from the servers already there."""
            from flows.serving.sockets import shared_socket, steer

            if self.app.public == "joined" or self.should_exit:
                return
            s = self.settings
            try:
                sock = shared_socket(s.host, s.port, backlog=self.config.backlog)
            except OSError as exc:
                self.app.public = f"error: cannot listen on {s.host}:{s.port}: {exc.strerror or exc}"
                log.error(self.app.public)
                return
            steer(sock, s.steer_index, s.steer_count)
            config = self.config

            def protocol() -> Any:
                # The same protocol uvicorn builds for its own listeners (Server.startup).
                return config.http_protocol_class(
                    config=config, server_state=self.server_state, app_state=self.lifespan.state
                )

            server = await asyncio.get_running_loop().create_server(protocol, sock=sock, backlog=config.backlog)
            # Listed with uvicorn's own listeners, so shutdown closes it like them.
            self.servers.append(server)
            self.app.public = "joined"
            log.info("v%s now answers on %s:%d (pid %d)", s.version, s.host, s.port, os.getpid())

    return SwitchableServer


def main(argv: list[str] | None = None) -> int:
    """Run one server process; the exit code is 0 after a clean stop, 1 when it cannot start."""
    from flows.runtime import configure_quiet_libraries
    from flows.serving.settings import ServerSettings
    from flows.serving.sockets import private_socket

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m flows.serving.server SETTINGS.json", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # MLflow warns on every request that carries params ("will override the inference
    # configuration"): noise that would bury the log lines that matter.
    logging.getLogger("mlflow.transformers").setLevel(logging.ERROR)
    configure_quiet_libraries()
    settings = ServerSettings.read(args[0])
    private = private_socket()
    write_state(settings.state_file, private_port=private.getsockname()[1], phase="loading")
    log.info("loading %s (pid %d)", settings.model_uri, os.getpid())
    try:
        import uvicorn
        from mlflow.pyfunc import scoring_server

        from flows.serving.app import ServingApp

        model, takes_length = load_model(settings)
        warm_up(model, takes_length)
        default = settings.default_new_tokens if takes_length else None
        app = ServingApp(scoring_server.init(model), settings, default_new_tokens=default)
    except Exception as exc:  # noqa: BLE001 - the deployer shows this log's tail to the user
        from mlflow.exceptions import MlflowException

        from flows.errors import CubeopsError

        if not isinstance(exc, (MlflowException, CubeopsError, OSError)):
            log.exception("unexpected error while loading")
        # Last, so the tail the deployer shows ends with the reason.
        text = str(exc).strip()
        log.error("cannot serve %s: %s", settings.model_uri, text.splitlines()[-1][:500] if text else type(exc).__name__)
        return 1
    config = uvicorn.Config(
        app,
        log_level="info",
        access_log=False,
        # In-flight requests may finish after SIGTERM; idle keep-alive connections close at once.
        timeout_graceful_shutdown=int(settings.request_timeout) + 5,
    )
    write_state(settings.state_file, private_port=private.getsockname()[1], phase="serving")
    _server_class()(config, settings, app).run(sockets=[private])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
