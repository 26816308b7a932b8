"""Shared fixtures: isolated stores per test, Prefect's harness, a tiny offline GPT-2."""

import os
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    # The test process is an entry point: it configures, as the CLI would.
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.pop("CUBEOPS_STATUS_TOKEN", None)


@pytest.fixture(autouse=True)
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh sqlite MLflow store per test, set through the environment; no run may be left open."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    yield uri
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        active = mlflow.active_run()
        if active is not None:
            while mlflow.active_run() is not None:
                mlflow.end_run()
            pytest.fail(f"test left MLflow run {active.info.run_id} open")
        mlflow.set_tracking_uri(None) if hasattr(mlflow, "set_tracking_uri") else None


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory):
    """Prefect's test harness (a temporary server and database), once per session."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def corpus_docs() -> list[str]:
    """Fixture text: deterministic English paragraphs."""
    from flows.sample import sample_documents

    return list(sample_documents(300, seed=7))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, corpus_docs: list[str]) -> Path:
    """A tiny GPT-2 and its byte-level BPE tokenizer, built offline and saved to a folder."""
    from flows.models.tiny import build_tiny_model, train_tiny_tokenizer

    out = tmp_path_factory.mktemp("tiny-gpt2")
    tok = train_tiny_tokenizer(corpus_docs, vocab_size=600, max_length=256)
    model = build_tiny_model(tok, n_layer=2, n_embd=32, n_head=2, n_positions=256)
    tok.save_pretrained(out)
    model.save_pretrained(out)
    return out


def _postgres_admin_url() -> str:
    return os.environ.get("CUBEOPS_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test (dropped after); skips, saying why, without a server."""
    import uuid

    try:
        import sqlalchemy as sa

        admin = sa.create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: no server here
        pytest.skip(f"PostgreSQL not reachable at {_postgres_admin_url()}: {type(exc).__name__}")
    name = f"cubeops_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = _postgres_admin_url().rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
