"""Real servers on loopback for the integration tests: Prefect server and worker, MLflow server.

Each server runs in its own process group on a free port and is stopped when the test ends, even
when it fails. ``backend_urls`` gives each test either sqlite files or fresh PostgreSQL databases.
"""

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port, server_process, wait_http

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Backends:
    """Database URLs of the three stores."""

    kind: str
    mlflow: str
    prefect: str
    status: str


def _fresh_postgres_db(admin_url: str, name: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def backends(request, tmp_path: Path) -> Iterator[Backends]:
    """sqlite files, or three fresh PostgreSQL databases (skipped, saying why, without a server)."""
    if request.param == "sqlite":
        yield Backends(
            "sqlite",
            mlflow=f"sqlite:///{tmp_path / 'mlflow-server.db'}",
            prefect=f"sqlite+aiosqlite:///{tmp_path / 'prefect-server.db'}",
            status=f"sqlite:///{tmp_path / 'status-server.db'}",
        )
        return
    url = request.getfixturevalue("postgres_url")  # skips when PostgreSQL is absent
    admin = url.rsplit("/", 1)[0] + "/test"
    suffix = url.rsplit("_", 1)[1]
    mlflow_db = _fresh_postgres_db(admin, f"mlflow_{suffix}")
    prefect_db = _fresh_postgres_db(admin, f"prefect_{suffix}").replace("postgresql+psycopg2", "postgresql+asyncpg")
    try:
        yield Backends("postgres", mlflow=mlflow_db, prefect=prefect_db, status=url)
    finally:
        import sqlalchemy as sa

        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for db in (f"mlflow_{suffix}", f"prefect_{suffix}"):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        engine.dispose()


def base_env(tmp_path: Path) -> dict[str, str]:
    """The environment of every server and worker: telemetry off, a private Prefect home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_", "CUBEOPS_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="INFO",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def prefect_server(tmp_path: Path, backends: Backends) -> Iterator[str]:
    """``prefect server start`` on a free loopback port; yields the API URL."""
    port = free_port()
    env = base_env(tmp_path) | {"PREFECT_API_DATABASE_CONNECTION_URL": backends.prefect}
    cmd = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with server_process(cmd, tmp_path / "logs" / "prefect-server.log", env=env) as proc:
        wait_http(f"http://127.0.0.1:{port}/api/health", timeout=120, proc=proc)
        yield f"http://127.0.0.1:{port}/api"


@pytest.fixture
def mlflow_server(tmp_path: Path, backends: Backends) -> Iterator[str]:
    """``mlflow server`` with the backend store and a local artifact root; yields its URL."""
    port = free_port()
    cmd = [
        str(BIN / "mlflow"), "server", "--backend-store-uri", backends.mlflow,
        "--artifacts-destination", str(tmp_path / "mlflow-artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
    ]
    with server_process(cmd, tmp_path / "logs" / "mlflow-server.log", env=base_env(tmp_path)) as proc:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=120, proc=proc)
        yield f"http://127.0.0.1:{port}"
