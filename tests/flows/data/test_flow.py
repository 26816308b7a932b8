"""The ``prepare-data`` flow end to end: Prefect's harness, a real MLflow store, the status store."""

import json
import os
from datetime import timedelta

import pytest
from datasets import load_from_disk
from mlflow import MlflowClient

from flows.contracts import TAG_DATA_DIGEST, TAG_PREFECT_RUN, PreparedData
from flows.data.flow import load_prepared, prepare_data
from flows.data.report import compact
from flows.errors import DataError
from flows.layout import resolve_layout
from status.model import effective_status
from status.store import StatusStore

pytestmark = pytest.mark.usefixtures("prefect_harness")


def corpus_files(docs: list[str]) -> dict[str, str]:
    jsonl = "".join(json.dumps({"text": d, "id": i}) + "\n" for i, d in enumerate(docs[200:]))
    return {"data/notes.txt": "\n\n".join(docs[:200]) + "\n\nduplicate note\n\nduplicate note\n\nhi\n", "data/chat.jsonl": jsonl}


def data_status(spec, root):
    store = StatusStore(resolve_layout(spec, root).status_store)
    try:
        return store.current(spec.project)["data"]
    finally:
        store.close()


def test_a_prepared_dataset_is_on_disk_in_mlflow_in_prefect_and_on_the_badge(project, corpus_docs, mlflow_store):
    from prefect.artifacts import Artifact

    spec, root = project(
        corpus_files(corpus_docs), data={"sources": ["data/"], "block_size": 32, "min_chars": 5}, status={"stale_after": "1h"}
    )
    prepared = prepare_data(spec=spec, root=str(root))

    # On disk: a complete folder named by the digest, whose manifest is the result.
    folder = root / ".cubeops" / "data" / prepared.digest
    assert prepared.path == str(folder) and (folder / "COMPLETE").is_file()
    assert load_prepared(folder) == prepared
    assert PreparedData.model_validate_json((folder / "manifest.json").read_text()) == prepared
    assert len(load_from_disk(prepared.train_path)) == prepared.train_blocks
    assert len(load_from_disk(prepared.validation_path)) == prepared.validation_blocks
    assert prepared.documents == 301 and not prepared.cache_hit
    assert [p.name for p in folder.parent.iterdir()] == [prepared.digest]

    # MLflow: the run, its lineage tags, params, metrics, dataset input and artifacts.
    client = MlflowClient(mlflow_store)
    run = client.get_run(prepared.mlflow_run_id)
    assert run.info.run_name == "prepare-data" and run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["cubeops.stage"] == "data" and tags["cubeops.cache"] == "miss"
    assert tags[TAG_DATA_DIGEST] == prepared.digest
    assert run.data.params["data.block_size"] == "32" and run.data.params["data.min_chars"] == "5"
    m = run.data.metrics
    assert (m["documents_read"], m["removed_duplicates"], m["removed_min_chars"], m["documents_kept"]) == (303, 1, 1, 301)
    assert m["tokens"] == prepared.tokens and m["blocks_train"] == prepared.train_blocks
    assert m["documents_train"] + m["documents_validation"] == 301
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.digest == prepared.digest
    assert json.loads(dataset_input.dataset.source)["uri"] == prepared.path
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"data_stats.json", "length_histogram.png", "sample.jsonl", "manifest.json"} <= names

    # Prefect: a summary artifact in this flow run, linking back to the MLflow run.
    artifact = Artifact.get("acme-notes-dataset")
    assert str(artifact.flow_run_id) == tags[TAG_PREFECT_RUN]
    assert prepared.mlflow_run_id in artifact.data and "| Documents kept | 301 |" in artifact.data

    # The Data badge: ready, with compact counts, links and the stats the project page shows.
    status = data_status(spec, root)
    assert status.state == "ready"
    assert status.message == f"ready · 301 docs · {compact(prepared.tokens)} tok"
    assert status.links == {"mlflow": prepared.mlflow_run_id, "prefect": tags[TAG_PREFECT_RUN]}
    d = status.details
    assert d["digest"] == prepared.digest and d["cache"] == "miss"
    assert d["filters"] == {"read": 303, "empty": 0, "min_chars": 1, "max_chars": 0, "duplicates": 1, "kept": 301, "removed": 2}
    assert d["train"]["blocks"] == prepared.train_blocks and len(d["sample"]) == 3
    assert sum(d["length_histogram"]["counts"]) == 301

    # An hour later, by the spec's status.stale_after (stored with the project), it reads stale.
    store = StatusStore(resolve_layout(spec, root).status_store)
    info = store.project(spec.project)
    store.close()
    assert info.stale_after == timedelta(hours=1)
    assert effective_status(status, info, status.updated_at + timedelta(minutes=59)).state == "ready"
    assert effective_status(status, info, status.updated_at + timedelta(minutes=61)).state == "stale"


def test_a_second_run_is_a_cache_hit_and_a_change_is_a_miss(project, corpus_docs, mlflow_store):
    spec, root = project(corpus_files(corpus_docs), data={"sources": ["data/"], "block_size": 32})
    first = prepare_data(spec=spec, root=str(root))
    folder_mtime = os.stat(first.path).st_mtime_ns

    second = prepare_data(spec=spec, root=str(root))
    assert second.cache_hit and second.digest == first.digest and second.path == first.path
    assert os.stat(first.path).st_mtime_ns == folder_mtime, "a cache hit must not rewrite the dataset"
    run = MlflowClient(mlflow_store).get_run(second.mlflow_run_id)
    assert run.data.tags["cubeops.cache"] == "hit" and run.data.metrics["cache_hit"] == 1.0
    assert data_status(spec, root).details["cache"] == "hit"

    # One changed document: a new digest, prepared anew, the old version left alone.
    notes = root / "data" / "notes.txt"
    notes.write_text(notes.read_text().replace(corpus_docs[0], corpus_docs[0] + " Edited."))
    changed = prepare_data(spec=spec, root=str(root))
    assert not changed.cache_hit and changed.digest != first.digest
    assert load_prepared(first.path).digest == first.digest

    # A changed setting gives a new digest too.
    bigger = spec.model_copy(update={"data": spec.data.model_copy(update={"block_size": 48})})
    assert prepare_data(spec=bigger, root=str(root)).digest not in (first.digest, changed.digest)


def test_bad_input_fails_with_one_message_status_failed_and_nothing_complete(project, mlflow_store):
    spec, root = project({"data/a.txt": "\n\n".join(f"short note {i}" for i in range(1203))},
                         data={"sources": ["data/a.txt"], "min_chars": 50})
    with pytest.raises(DataError) as info:
        prepare_data(spec=spec, root=str(root))
    reason = "0 documents left: min_chars=50 removed 1,203 of 1,203 (sources: data/a.txt)"
    assert str(info.value) == reason

    status = data_status(spec, root)
    assert status.state == "failed" and status.message.startswith("failed · 0 documents left: min_chars=50")
    assert status.details == {"error": reason}
    (run,) = MlflowClient(mlflow_store).search_runs([MlflowClient(mlflow_store).get_experiment_by_name("acme/notes").experiment_id])
    assert run.info.status == "FAILED" and run.data.tags["cubeops.error"] == reason
    assert status.links["mlflow"] == run.info.run_id
    assert list((root / ".cubeops" / "data").iterdir()) == []


def test_the_run_nests_under_the_pipeline_run(project, corpus_docs, mlflow_store):
    from flows.tracking import use_experiment

    spec, root = project(corpus_files(corpus_docs), data={"sources": ["data/"], "block_size": 32})
    client = MlflowClient(mlflow_store)
    parent = client.create_run(use_experiment(resolve_layout(spec, root)), run_name="pipeline").info.run_id
    try:
        prepared = prepare_data(spec=spec, root=str(root), parent_run_id=parent)
    finally:
        client.set_terminated(parent)
    assert client.get_run(prepared.mlflow_run_id).data.tags["mlflow.parentRunId"] == parent
