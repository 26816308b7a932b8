"""`cubeops badges` and `cubeops readme`: badge Markdown with safe tokens, the block with the champion's card."""

import os
from pathlib import Path

import pytest

from flows.cli import main
from status.markdown import BEGIN_MARK, END_MARK, badge_markdown
from status.model import StatusUpdate
from status.readme import NO_CHAMPION
from status.store import StatusStore
from status.tokens import READ, WRITE, create_token, revoke_token
from tests.helpers import REPO, run_cli
from tests.status.conftest import PRIVATE_INFO
from tests.status.real_run import PROJECT, real_run  # noqa: F401 - fixture

URL = "https://status.example.com"


@pytest.fixture(autouse=True)
def _no_status_env(monkeypatch):
    for name in ("CUBEOPS_READ_TOKEN", "CUBEOPS_STATUS_PUBLIC_URL", "CUBEOPS_STATUS_STORE"):
        monkeypatch.delenv(name, raising=False)


def _spec(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cubeops.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_badges_prints_the_three_badges_of_a_public_project(tmp_path, capsys):
    spec = _spec(tmp_path, f"project: acme/bot\nstatus:\n  url: {URL}/\n")
    code, out, _ = _cli(capsys, "badges", "-c", str(spec))
    assert code == 0 and out == badge_markdown(URL, "acme/bot") + "\n"
    assert out.count("token=PUBLIC") == 3 and "(https://status.example.com/acme/bot?tab=Training)" in out
    code, out, _ = _cli(capsys, "badges", "-c", str(spec), "--url", "http://127.0.0.1:8000")
    assert code == 0 and out.startswith("[![Data Status](http://127.0.0.1:8000/api/v1/cubes/status/data?")
    bare = _spec(tmp_path / "bare", "project: acme/bot\n")
    code, _, err = _cli(capsys, "badges", "-c", str(bare))
    assert code == 2 and err.count("\n") == 1 and "pass --url" in err and "status.url" in err
    assert not (tmp_path / "bare" / ".cubeops").exists(), "a public project's badges need no store"


def test_private_badges_carry_only_a_verified_read_token(tmp_path, capsys, monkeypatch):
    spec = _spec(tmp_path, f"project: acme/secret\nvisibility: private\nstatus:\n  url: {URL}\n")
    store = StatusStore(f"sqlite:///{tmp_path / '.cubeops' / 'status.db'}")
    store.publish(PRIVATE_INFO, StatusUpdate("acme/secret", "data", "ready"))
    _, read = create_token(store, "acme/secret", READ, "readme")
    _, old = create_token(store, "acme/secret", READ, "old")
    revoke_token(store, "acme/secret", "old")
    _, other = create_token(store, "acme/bot", READ, "bot")
    _, write = create_token(store, "acme/secret", WRITE, "ci")
    store.close()
    refusals = {
        None: "acme/secret is private: its badges need a read token; create one with `cubeops token create --project acme/secret`",
        "PUBLIC": "acme/secret is private",
        write: "that is a write token (cubw_…): badge URLs are public and must only carry a read token",
        old: "read token 'old' of acme/secret is revoked",
        other: "that token belongs to acme/bot, not acme/secret",
        "cubr_" + "x" * 43: "that token is not in the status store",
    }
    for token, says in refusals.items():
        code, out, err = _cli(capsys, "badges", "-c", str(spec), *(["--token", token] if token else []))
        assert code == 2 and out == "" and err.startswith(f"cubeops: error: {says}"), (token, err)
        assert err.count("\n") == 1 and (token is None or token == "PUBLIC" or token not in err)
    code, out, _ = _cli(capsys, "badges", "-c", str(spec), "--token", read)
    assert code == 0 and out == badge_markdown(URL, "acme/secret", read) + "\n"
    monkeypatch.setenv("CUBEOPS_READ_TOKEN", read)
    code, out, _ = _cli(capsys, "badges", "-c", str(spec))
    assert code == 0 and out.count(f"token={read}") == 3
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUBEOPS_")}
    env["PYTHONPATH"] = str(REPO)
    leaked = run_cli("badges", "-c", str(spec), "--token", write, env=env, cwd=tmp_path, timeout=60)
    assert leaked.returncode == 2 and "Traceback" not in leaked.stderr and write not in leaked.stdout + leaked.stderr


def test_readme_puts_badges_and_the_champions_card_between_the_markers(real_run, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # the run's own store, under its .cubeops/
    readme = tmp_path / "README.md"
    before, after = "# acme/notes\n\nWhat the team writes.\n\n", "\n## Licence\n\nApache-2.0\n"
    readme.write_text(f"{before}{BEGIN_MARK}\nold badges\n{END_MARK}\n{after}", encoding="utf-8")
    args = ("readme", "-c", str(real_run.spec_path), "--write", str(readme), "--url", URL)
    code, _, err = _cli(capsys, *args)
    assert code == 0 and err == f"updated the block between the cubeops markers in {readme}\n"
    text = readme.read_text(encoding="utf-8")
    assert text.startswith(before + BEGIN_MARK + "\n" + badge_markdown(URL, PROJECT) + "\n\n# acme-notes\n")
    assert text.endswith(f"{END_MARK}\n{after}")
    block = text[text.index(BEGIN_MARK):text.index(END_MARK)]
    assert "## Model Details" in block and "pipeline_tag:" not in block, "the card, without its front matter"
    assert real_run.results["data"].digest in block, "the card is the champion's own"
    code, _, err = _cli(capsys, *args)
    assert code == 0 and err == f"{readme} is up to date\n" and readme.read_text(encoding="utf-8") == text

    bare = tmp_path / "BARE.md"
    bare.write_text("# notes\n", encoding="utf-8")
    code, _, err = _cli(capsys, "readme", "-c", str(real_run.spec_path), "--write", str(bare), "--url", URL)
    assert code == 0 and err == f"{bare} had no cubeops markers: appended the block at its end\n"
    assert bare.read_text(encoding="utf-8").startswith(f"# notes\n\n{BEGIN_MARK}\n[![Data Status]")


def test_readme_refuses_unbalanced_markers_naming_the_line(tmp_path):
    spec = _spec(tmp_path, f"project: acme/bot\nstatus:\n  url: {URL}\n")
    readme = tmp_path / "README.md"
    original = f"# bot\n{BEGIN_MARK}\nbadges\n{BEGIN_MARK}\n"
    readme.write_text(original, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUBEOPS_", "MLFLOW_TRACKING_URI"))}
    env["PYTHONPATH"] = str(REPO)
    done = run_cli("readme", "-c", str(spec), "--write", str(readme), env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == (
        f"cubeops: error: {readme}: unbalanced cubeops markers ({BEGIN_MARK} at line 2, {BEGIN_MARK} at line 4); "
        f"expected one {BEGIN_MARK} before one {END_MARK}\n"
    )
    assert readme.read_text(encoding="utf-8") == original


def test_readme_without_a_champion_prints_the_badges_and_a_note(tmp_path, capsys):
    spec = _spec(tmp_path, f"project: acme/bot\nstatus:\n  url: {URL}\n")
    code, out, _ = _cli(capsys, "readme", "-c", str(spec))
    assert code == 0
    assert out == f"{BEGIN_MARK}\n{badge_markdown(URL, 'acme/bot')}\n\n{NO_CHAMPION}\n{END_MARK}\n"
    assert not (tmp_path / "mlflow.db").exists(), "looking for a champion creates no tracking store"
