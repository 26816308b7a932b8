"""The CLI as a user meets it: real subprocesses, exit codes, messages without tracebacks."""

import textwrap

from flows.cli import COMMANDS
from tests.helpers import run_cli


def test_help_lists_every_command_with_a_description():
    res = run_cli("--help")
    assert res.returncode == 0
    for name in COMMANDS:
        line = next((ln for ln in res.stdout.splitlines() if ln.strip().startswith(name + " ")), None)
        assert line is not None, f"{name} missing from --help"
        assert len(line.split(None, 1)[1]) > 10, f"{name} has no description"


def test_init_then_validate_succeeds(tmp_path):
    res = run_cli("init", str(tmp_path / "demo"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "demo" / "data" / "sample.txt").stat().st_size > 10_000
    res = run_cli("validate", "-c", str(tmp_path / "demo" / "cubeops.yaml"))
    assert res.returncode == 0, res.stderr
    assert "ok" in res.stdout


def test_init_refuses_to_overwrite(tmp_path):
    assert run_cli("init", str(tmp_path)).returncode == 0
    res = run_cli("init", str(tmp_path))
    assert res.returncode == 2
    assert "already exists" in res.stderr


def test_validate_reports_every_problem_with_lines_and_no_traceback(tmp_path):
    spec = tmp_path / "cubeops.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            project: acme/bot
            data:
              block_size: lots
            train:
              learning_rte: 0.1
              learning_rate: -1
            """
        )
    )
    res = run_cli("validate", "-c", str(spec))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert f"cubeops: error: {spec}: train.learning_rate (line 6): must be greater than 0" in lines
    assert any("train.learning_rte (line 5): is not a known key; did you mean 'learning_rate'?" in ln for ln in lines)
    assert any("data.block_size (line 3)" in ln for ln in lines)


def test_validate_broken_yaml_and_missing_project(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("project: acme/bot\ntrain: {max_steps: 3\n")
    res = run_cli("validate", "-c", str(broken))
    assert res.returncode == 2 and "malformed YAML at line" in res.stderr and "Traceback" not in res.stderr
    empty = tmp_path / "noproject.yaml"
    empty.write_text("visibility: private\n")
    res = run_cli("validate", "-c", str(empty))
    assert res.returncode == 2 and "project: is required" in res.stderr


def test_missing_spec_file_is_exit_2(tmp_path):
    res = run_cli("validate", cwd=tmp_path)
    assert res.returncode == 2
    assert "cubeops.yaml: no such file" in res.stderr


def test_status_show_on_a_fresh_project_reads_unknown(tmp_path):
    (tmp_path / "cubeops.yaml").write_text("project: acme/bot\n")
    res = run_cli("status", "-c", str(tmp_path / "cubeops.yaml"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("unknown") == 3


def test_run_names_the_unreachable_server_and_the_variable_that_set_it(tmp_path):
    import os

    from tests.helpers import free_port

    (tmp_path / "cubeops.yaml").write_text("project: acme/bot\nmodel: {base: tiny-gpt2}\n")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    dead = f"http://127.0.0.1:{free_port()}/api"
    res = run_cli("run", "-c", str(tmp_path / "cubeops.yaml"), env=env | {"PREFECT_API_URL": dead})
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"cubeops: error: {dead} does not answer" in res.stderr and "set by PREFECT_API_URL" in res.stderr
    res = run_cli("run", "-c", str(tmp_path / "cubeops.yaml"), env=env | {"MLFLOW_TRACKING_URI": dead})
    assert res.returncode == 2 and "set by MLFLOW_TRACKING_URI" in res.stderr


def test_second_run_of_the_same_project_is_refused_while_one_holds_the_lock(tmp_path):
    import subprocess
    import sys

    from tests.helpers import REPO

    (tmp_path / "cubeops.yaml").write_text("project: acme/bot\nmodel: {base: tiny-gpt2}\n")
    hold = (
        "import sys, time\nfrom pathlib import Path\nfrom flows.lock import project_lock\n"
        "with project_lock(Path(sys.argv[1]), 'acme/bot'):\n    print('locked', flush=True)\n    time.sleep(120)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path / ".cubeops" / "locks")],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        res = run_cli("run", "-c", str(tmp_path / "cubeops.yaml"), timeout=300)
        assert res.returncode == 2, res.stderr[-2000:]
        assert f"a run of acme/bot is already in progress (pid {holder.pid})" in res.stderr
        assert "Traceback" not in res.stderr
    finally:
        holder.kill()
        holder.wait()
