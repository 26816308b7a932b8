"""The reliability and abuse suite: scenario bookkeeping, the table it prints, and shared servers.

Every scenario takes the ``scenario`` fixture, counts its trials (``row.trial()`` … ``row.ok()``)
and sets a figure; ``pytest -m faults`` ends with one table: scenario, trials, passed, figure.
"""

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.helpers import REPO, free_port, server_process, wait_http

PYTHON = sys.executable


@dataclass
class ScenarioRow:
    """One line of the table: how many trials ran, how many held, and the scenario's figure."""

    name: str
    trials: int = 0
    passed: int = 0
    figure: str = ""
    outcome: str = "running"

    def trial(self) -> "ScenarioRow":
        """Count a trial as started."""
        self.trials += 1
        return self

    def ok(self, count: int = 1) -> None:
        """Count ``count`` trials as held."""
        self.passed += count


_ROWS: dict[str, ScenarioRow] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Mark a scenario's row failed or skipped when one of its tests is."""
    report = yield
    row = getattr(item, "_scenario_row", None)
    if row is not None and (report.when == "call" or report.failed or report.skipped):
        if report.failed:
            row.outcome = "FAILED"
        elif report.skipped:
            row.outcome = "skipped"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            row.figure = row.figure or reason.removeprefix("Skipped: ")
        elif row.outcome == "running":
            row.outcome = "passed"
    return report


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Callable[[str], ScenarioRow]:
    """``row = scenario("4 concurrent publishers (sqlite)")``: a row of the table for this test."""

    def make(name: str) -> ScenarioRow:
        row = _ROWS.setdefault(name, ScenarioRow(name))
        request.node._scenario_row = row
        return row

    return make


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Print the scenario table after the run."""
    if not _ROWS:
        return
    rows = [("scenario", "trials", "passed", "result", "figure")]
    for row in sorted(_ROWS.values(), key=lambda r: r.name):
        rows.append((row.name, str(row.trials), str(row.passed), row.outcome, row.figure))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    terminalreporter.write_sep("=", "faults: scenario table")
    for i, r in enumerate(rows):
        cells = [r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].rjust(widths[2]), r[3].ljust(widths[3]), r[4]]
        terminalreporter.write_line("  ".join(cells).rstrip())
        if i == 0:
            terminalreporter.write_line("  ".join("-" * w for w in widths) + "  " + "-" * 6)


# -- environments and projects ----------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a cubeops subprocess: this test's stores, unbuffered output, the repo on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUBEOPS_")}
    env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    env.update(extra)
    return env


@pytest.fixture
def prefect_env(prefect_harness) -> dict[str, str]:
    """Variables pointing a subprocess at the session's Prefect test server."""
    from prefect.settings import PREFECT_API_URL

    return {"PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_HOME": os.environ["PREFECT_HOME"]}


def cli(*args: str) -> list[str]:
    """The command line of ``cubeops ARGS`` run from this checkout."""
    return [PYTHON, "-m", "flows.cli", *args]


def write_corpus(root: Path, paragraphs: int, seed: int = 7) -> Path:
    """``data/notes.txt`` under ``root``: ``paragraphs`` paragraphs of the sample corpus."""
    from flows.sample import sample_text

    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "notes.txt").write_text(sample_text(paragraphs, seed=seed), encoding="utf-8")
    return data


def write_spec(root: Path, text: str) -> Path:
    """``root/cubeops.yaml`` with ``text``."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "cubeops.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the status service as users run it ----------------------------------------------------------


@dataclass(frozen=True)
class StatusServer:
    """A ``cubeops status serve`` process on a free loopback port."""

    url: str
    pid: int
    log: Path

    def badge_json(self, project: str, stage: str, token: str | None = None) -> dict:
        """The shields endpoint JSON of a badge."""
        query = f"?token={token}" if token else ""
        r = requests.get(f"{self.url}/badge/{project}/{stage}.json{query}", timeout=10)
        r.raise_for_status()
        return r.json()


@pytest.fixture
def status_server(tmp_path: Path) -> Iterator[Callable[..., StatusServer]]:
    """Start ``cubeops status serve -c SPEC`` (stopped after the test, even when it fails)."""
    stack = []

    def start(spec_path: Path, env: dict[str, str] | None = None, port: int | None = None, extra: tuple = ()) -> StatusServer:
        port = port or free_port()
        log = tmp_path / "logs" / f"status-{port}.log"
        cmd = cli("status", "serve", "-c", str(spec_path), "--port", str(port), *extra)
        cm = server_process(cmd, log, env=env or child_env(CUBEOPS_STATUS_POLL_S="0.1"), cwd=spec_path.parent)
        proc = cm.__enter__()
        stack.append(cm)
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
        return StatusServer(f"http://127.0.0.1:{port}", proc.pid, log)

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def wait_until(predicate: Callable[[], object], timeout: float, every: float = 0.1, what: str = "condition") -> object:
    """Poll ``predicate`` until it returns something true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} not met within {timeout:.0f}s")


# -- one full pipeline run with known secrets, shared by the secrets and model-server scenarios -----


@dataclass(frozen=True)
class FullRun:
    """A project after ``cubeops run`` end to end: remote status publishing, an authenticated model server."""

    root: Path
    spec_path: Path
    tracking_uri: str
    status_url: str
    status_log: Path
    serving_url: str
    secrets: dict[str, str]
    """Name → value of every secret the run was given."""
    outputs: dict[str, str]
    """What each command printed (stdout and stderr), by command."""


FULL_RUN_SPEC = """\
project: acme/secret-keeper
visibility: private
model:
  base: tiny-gpt2
  tiny: {{n_layer: 2, n_embd: 32, n_head: 2, vocab_size: 500, n_positions: 128}}
data:
  block_size: 64
train:
  max_steps: 12
  batch_size: 8
  learning_rate: 0.003
  eval_every: 6
  save_every: 6
  threads: 1
  precision: fp32
eval:
  prompts: ["The data team"]
  max_new_tokens: 4
  probes: []
serving:
  port: {serving_port}
  auth: {{token_env: CUBEOPS_SERVING_TOKEN}}
  max_prompt_chars: 200
  max_new_tokens: 16
  request_timeout: 30s
status:
  url: http://127.0.0.1:{status_port}
tracking:
  system_metrics: false
"""


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory, prefect_harness) -> Iterator[FullRun]:
    """Create tokens with the CLI, run the whole pipeline with them, leave its model server up."""
    import secrets as random_secrets
    import subprocess

    from prefect.settings import PREFECT_API_URL

    from flows.layout import resolve_layout
    from flows.serving.process import live_servers, stop_servers
    from flows.spec_loader import load_spec

    base = tmp_path_factory.mktemp("full-run")
    root = base / "project"
    write_corpus(root, 240)
    status_port, serving_port = free_port(), free_port()
    spec_path = write_spec(root, FULL_RUN_SPEC.format(status_port=status_port, serving_port=serving_port))
    tracking_uri = f"sqlite:///{base / 'mlflow.db'}"
    env = child_env(
        MLFLOW_TRACKING_URI=tracking_uri,
        PREFECT_API_URL=PREFECT_API_URL.value(),
        PREFECT_HOME=os.environ["PREFECT_HOME"],
        # The product's level, so Prefect's API receives the run's logs as it would for a user.
        PREFECT_LOGGING_LEVEL="INFO",
        CUBEOPS_STATUS_POLL_S="0.1",
    )
    outputs: dict[str, str] = {}

    def run(name: str, *args: str, extra_env: dict | None = None, timeout: float = 600) -> str:
        proc = subprocess.run(cli(*args), cwd=root, env=env | (extra_env or {}), capture_output=True, text=True,
                              timeout=timeout)
        outputs[name] = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{name} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
        return proc.stdout

    # Token creation prints the token once: that output is the one place it may appear.
    write_token = run("token create --write", "token", "create", "-c", str(spec_path), "--write", "--name", "ci").strip()
    read_token = run("token create", "token", "create", "-c", str(spec_path), "--name", "readme").strip()
    secrets = {
        "CUBEOPS_STATUS_TOKEN": write_token,
        "read token": read_token,
        "CUBEOPS_SERVING_TOKEN": "srv_" + random_secrets.token_urlsafe(32),
        "HF_TOKEN": "hf_" + random_secrets.token_urlsafe(24),
    }
    status_log = base / "logs" / "status-server.log"
    status_cmd = cli("status", "serve", "-c", str(spec_path), "--port", str(status_port))
    layout = resolve_layout(load_spec(spec_path), root)
    with server_process(status_cmd, status_log, env=env, cwd=root) as status_proc:
        wait_http(f"http://127.0.0.1:{status_port}/healthz", timeout=60, proc=status_proc)
        try:
            run_env = {"CUBEOPS_STATUS_TOKEN": write_token, "CUBEOPS_SERVING_TOKEN": secrets["CUBEOPS_SERVING_TOKEN"],
                       "HF_TOKEN": secrets["HF_TOKEN"]}
            run("run", "run", "-c", str(spec_path), extra_env=run_env, timeout=900)
            # A reader opening the private badges: the read token travels in the URL, as documented.
            for stage in ("data", "train", "serving"):
                r = requests.get(f"http://127.0.0.1:{status_port}/badge/acme/secret-keeper/{stage}.json",
                                 params={"token": read_token}, timeout=10)
                assert r.status_code == 200 and r.json()["message"] != "unknown", r.text
            yield FullRun(
                root=root,
                spec_path=spec_path,
                tracking_uri=tracking_uri,
                status_url=f"http://127.0.0.1:{status_port}",
                status_log=status_log,
                serving_url=f"http://127.0.0.1:{serving_port}",
                secrets=secrets,
                outputs=outputs,
            )
        finally:
            stop_servers(layout.serving_dir, live_servers(layout.serving_dir))
