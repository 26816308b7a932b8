"""``cubeops registry``: the table, a version's details and card, manual promotion and rollback."""

import pytest

from flows.cli import main
from flows.contracts import TAG_GATE_REASON
from registry.aliases import PROMOTED, promote
from registry.client import get_version, registry_client
from tests.helpers import run_cli
from tests.registry.builders import register_version


@pytest.fixture
def registry_project(project, saved_models, monkeypatch):
    """Two versions, v1 the champion; the CLI's process settings kept inside this test."""
    monkeypatch.setenv("PREFECT_HOME", str(project.layout.prefect_home))
    register_version(project, saved_models.tiny, 30.0, digest="a" * 64)
    register_version(project, saved_models.tiny, 25.0, digest="b" * 64)
    promote(registry_client(project.layout), project.name, "1", PROMOTED, "first version")
    return project


def cli(capsys, project, *args: str) -> tuple[int, str]:
    code = main(["registry", "-c", str(project.spec_path), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_list_show_promote_and_rollback(registry_project, capsys):
    p = registry_project
    code, out = cli(capsys, p, "promote", "v2", "--reason", "better answers on support tickets")
    assert (code, out.strip()) == (0, "acme-support-bot v2 is now the champion (previous: v1)")

    code, out = cli(capsys, p, "list")
    header, row2, row1 = out.strip().splitlines()
    assert header.split() == ["version", "created", "data", "digest", "perplexity", "aliases", "gate"]
    assert row2.split()[0] == "v2" and row2.split()[3:] == ["bbbbbbbbbbbb", "25", "champion", "manual"]
    assert row1.split()[0] == "v1" and row1.split()[3:] == ["aaaaaaaaaaaa", "30", "previous", "promoted"]

    code, out = cli(capsys, p, "show", "2")
    assert code == 0
    assert "  reason        better answers on support tickets" in out
    assert "  data digest   " + "b" * 64 in out and "perplexity=25" in out

    code, out = cli(capsys, p, "show", "2", "--card")
    assert (code, out.strip()) == (0, "# acme-support-bot\n\nA tiny GPT-2 fine-tuned on fixture text (perplexity 25.0).")

    code, out = cli(capsys, p, "rollback")
    assert (code, out.strip()) == (0, "acme-support-bot: champion rolled back from v2 to v1")
    reason = get_version(registry_client(p.layout), p.name, "2").tags[TAG_GATE_REASON]
    assert reason.startswith("rolled back by hand with `cubeops registry rollback`")


def test_mistakes_exit_2_with_one_line_and_no_traceback(registry_project, capsys):
    code, out = cli(capsys, registry_project, "promote", "9", "--reason", "x")
    assert code == 2
    assert out.strip() == "cubeops: error: model 'acme-support-bot' has no version 9 (it has versions 1, 2)"
    # As a user meets it: a real process, its exit code, its last line.
    res = run_cli("registry", "-c", str(registry_project.spec_path), "rollback")
    assert res.returncode == 2, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("cubeops: error: no previous version to roll back to (the champion is version 1)")
    assert "Traceback" not in res.stderr
