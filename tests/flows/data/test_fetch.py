"""URL sources against a real HTTP server on 127.0.0.1: pins, retries, timeouts and size limits."""

import gzip
import hashlib
import json
import time

import pytest

from flows.data.collect import collect_corpus
from flows.errors import DataError
from tests.flows.data.conftest import Route, make_spec
from tests.flows.data.test_sources import kept_texts

BODY = gzip.compress(("\n".join(json.dumps({"text": f"remote note {i}"}) for i in range(20)) + "\n").encode())
SHA = hashlib.sha256(BODY).hexdigest()


def run(tmp_path, source, **data):
    spec = make_spec(data={"block_size": 32, "sources": [source], **data})
    (tmp_path / "proj").mkdir(exist_ok=True)
    return collect_corpus(spec.data, tmp_path / "proj", tmp_path / "work")


def fails(tmp_path, source, **data) -> str:
    with pytest.raises(DataError) as info:
        run(tmp_path, source, **data)
    return str(info.value)


def test_a_pinned_gzipped_jsonl_url_is_fetched_checked_and_read(tmp_path, file_server):
    file_server.routes["/notes.jsonl.gz"] = Route(BODY)
    corpus = run(tmp_path, {"url": file_server.url("/notes.jsonl.gz"), "sha256": SHA})
    assert kept_texts(corpus) == [f"remote note {i}" for i in range(20)]
    assert corpus.fetched == {file_server.url("/notes.jsonl.gz"): SHA}


def test_a_404_fails_at_once_naming_the_url(tmp_path, file_server):
    url = file_server.url("/missing.txt")
    msg = fails(tmp_path, url, url_retries=3)
    assert msg == f"data.sources[0]: {url} answered 404 Not Found"
    assert file_server.requests == ["/missing.txt"]  # a client error is not retried


def test_a_server_error_is_retried_then_succeeds(tmp_path, file_server):
    file_server.routes["/flaky.jsonl.gz"] = Route(BODY, fail_first=2)
    corpus = run(tmp_path, file_server.url("/flaky.jsonl.gz"), url_retries=2)
    assert corpus.documents == 20
    assert len(file_server.requests) == 3


def test_a_slow_server_times_out_after_the_retries(tmp_path, file_server):
    file_server.routes["/slow.txt"] = Route(b"late", delay=3)
    url = file_server.url("/slow.txt")
    started = time.monotonic()
    msg = fails(tmp_path, url, url_timeout="0.3s", url_retries=1)
    assert msg == f"data.sources[0]: {url} did not answer within 0.3s (data.url_timeout), after 2 attempts (data.url_retries=1)"
    assert time.monotonic() - started < 2.5


def test_a_body_larger_than_the_limit_is_refused_declared_or_not(tmp_path, file_server):
    file_server.routes["/big.txt"] = Route(b"x" * 5000)
    file_server.routes["/big-undeclared.txt"] = Route(b"x" * 5000, declare_length=False)
    msg = fails(tmp_path, file_server.url("/big.txt"), url_max_bytes="1KB")
    assert msg.endswith("is larger than data.url_max_bytes (1.0 kB): it declares 5.0 kB")
    msg = fails(tmp_path, file_server.url("/big-undeclared.txt"), url_max_bytes="1KB")
    assert msg.endswith("is larger than data.url_max_bytes (1.0 kB): the body went past it")
    assert not list((tmp_path / "work" / "downloads").glob("*")), "a refused body must leave no file"


def test_a_sha256_mismatch_names_both_hashes(tmp_path, file_server):
    file_server.routes["/notes.jsonl.gz"] = Route(BODY)
    wrong = "0" * 64
    msg = fails(tmp_path, {"url": file_server.url("/notes.jsonl.gz"), "sha256": wrong})
    assert msg == f"data.sources[0].sha256: {file_server.url('/notes.jsonl.gz')} has SHA-256 {SHA}, the spec pins {wrong}"
    assert not list((tmp_path / "work" / "downloads").glob("*"))


def test_an_unreachable_host_is_named(tmp_path):
    from tests.helpers import free_port

    url = f"http://127.0.0.1:{free_port()}/notes.txt"
    msg = fails(tmp_path, url, url_retries=0)
    assert msg.startswith(f"data.sources[0]: {url} cannot be reached (")
    assert msg.endswith("after 1 attempt (data.url_retries=0)")
