"""Checkpoints: only complete ones resume; a half-written one (cut by kill -9) is ignored and removed."""

import json

from flows.train import checkpoints


def write_checkpoint(folder, step, state=True, weights=True):
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if weights:
        (path / "model.safetensors").write_bytes(b"w")
    (path / "optimizer.pt").write_bytes(b"o")
    (path / "scheduler.pt").write_bytes(b"s")
    if state is True:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    elif state:
        (path / "trainer_state.json").write_text(state)
    return path


def test_latest_complete_checkpoint_wins_and_cut_ones_are_removed(tmp_path):
    write_checkpoint(tmp_path, 10)
    good = write_checkpoint(tmp_path, 20)
    write_checkpoint(tmp_path, 30, state='{"global_st')  # killed while writing the state
    write_checkpoint(tmp_path, 40, state=False)  # killed before the state
    write_checkpoint(tmp_path, 50, weights=False)
    (tmp_path / "checkpoint-x").mkdir()

    assert checkpoints.latest_checkpoint(tmp_path) == good
    removed = checkpoints.remove_incomplete(tmp_path)
    assert sorted(p.name for p in removed) == ["checkpoint-30", "checkpoint-40", "checkpoint-50"]
    assert [p.name for p in checkpoints.list_checkpoints(tmp_path)] == ["checkpoint-10", "checkpoint-20"]


def test_state_of_another_step_is_not_trusted(tmp_path):
    path = write_checkpoint(tmp_path, 10, state=json.dumps({"global_step": 9}))
    assert not checkpoints.is_complete(path)
    assert checkpoints.latest_checkpoint(tmp_path / "missing") is None


def test_run_id_file_round_trips_and_reset_forgets_everything(tmp_path):
    folder = tmp_path / "key"
    assert checkpoints.read_run_id(folder) is None
    checkpoints.write_run_id(folder, "abc123")
    assert checkpoints.read_run_id(folder) == "abc123"
    assert not list(folder.glob(".*tmp"))
    write_checkpoint(folder, 5)
    checkpoints.reset(folder)
    assert not folder.exists() and checkpoints.read_run_id(folder) is None
