"""Versions and splits depend on content alone: not on file order, not on what is added later."""

import random

from datasets import load_from_disk
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.data.build import collect, prepare_from_corpus
from flows.data.collect import read_corpus
from flows.data.split import content_order, corpus_digest, document_key, is_validation
from tests.flows.data.conftest import make_spec, write_files

texts = st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=30, unique=True)


@settings(max_examples=60, deadline=None, database=None)
@given(texts, st.randoms(use_true_random=False))
def test_corpus_digest_ignores_order(docs, rng):
    shuffled = list(docs)
    rng.shuffle(shuffled)
    assert corpus_digest(map(document_key, docs)) == corpus_digest(map(document_key, shuffled))


@settings(max_examples=60, deadline=None, database=None)
@given(texts, texts)
def test_a_document_keeps_its_side_when_others_are_added(docs, added):
    before = {d: is_validation(document_key(d), 0.2) for d in docs}
    after = {d: is_validation(document_key(d), 0.2) for d in docs + added}
    assert all(after[d] == side for d, side in before.items())


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1, max_size=30), st.booleans())
def test_content_order_dedupes_keeps_the_first_and_digests_like_corpus_digest(docs, dedupe):
    keys = [document_key(d) for d in docs]
    order = content_order(b"".join(keys), dedupe, 0.3)
    kept = [docs[r] for r in order.rows]
    if dedupe:
        assert sorted(kept) == sorted(set(docs)) and order.duplicates == len(docs) - len(set(docs))
        assert all(docs.index(docs[r]) == r for r in order.rows), "the first occurrence is the one kept"
    else:
        assert sorted(kept) == sorted(docs) and order.duplicates == 0
    assert [keys[r] for r in order.rows] == sorted(keys[r] for r in order.rows)
    assert order.digest == corpus_digest(keys[r] for r in order.rows)
    assert order.validation.tolist() == [is_validation(keys[r], 0.3) for r in order.rows]


def test_the_validation_share_follows_the_fraction():
    keys = [document_key(f"document number {i}") for i in range(20000)]
    share = sum(is_validation(k, 0.1) for k in keys) / len(keys)
    assert 0.09 < share < 0.11


def _sides(corpus) -> dict[str, bool]:
    table, rows, validation = read_corpus(corpus)
    texts = table.column("text").to_pylist()
    return {texts[r]: bool(v) for r, v in zip(rows.tolist(), validation.tolist())}


def test_reordered_files_give_the_same_digest_and_the_same_blocks(tmp_path, corpus_docs, tiny_model_dir):
    root = tmp_path / "proj"
    write_files(root, {"a.txt": "\n\n".join(corpus_docs[:150]), "b.txt": "\n\n".join(corpus_docs[150:])})
    model = {"base": str(tiny_model_dir)}
    results = []
    for order in (["a.txt", "b.txt"], ["b.txt", "a.txt"]):
        spec = make_spec(data={"sources": order, "block_size": 32}, model=model)
        corpus = collect(spec.data, root, root / ".cubeops" / "data")
        results.append(prepare_from_corpus(spec, root, root / ".cubeops" / "data", corpus))
    first, second = results
    assert first.digest == second.digest
    assert second.cache_hit, "the reordered spec must reuse the prepared dataset"
    assert first.train_blocks > 0


def test_reordered_files_pack_identical_blocks_when_built_apart(tmp_path, corpus_docs, tiny_model_dir):
    docs = list(corpus_docs)
    blocks = []
    for n, seed in enumerate((1, 2)):
        random.Random(seed).shuffle(docs)
        root = tmp_path / f"proj{n}"
        write_files(root, {"all.txt": "\n\n".join(docs)})
        spec = make_spec(data={"sources": ["all.txt"], "block_size": 32}, model={"base": str(tiny_model_dir)})
        data_dir = root / ".cubeops" / "data"
        prepared = prepare_from_corpus(spec, root, data_dir, collect(spec.data, root, data_dir))
        blocks.append((prepared.digest, load_from_disk(prepared.train_path)["input_ids"]))
    assert blocks[0] == blocks[1]


def test_adding_documents_keeps_every_earlier_document_on_its_side(tmp_path, corpus_docs):
    root = tmp_path / "proj"
    spec = make_spec(data={"sources": ["data/"], "block_size": 32, "validation_fraction": 0.3})
    write_files(root, {"data/a.txt": "\n\n".join(corpus_docs[:100])})
    before = _sides(collect(spec.data, root, tmp_path / "w"))
    write_files(root, {"data/0-new.txt": "\n\n".join(corpus_docs[100:])})
    after = _sides(collect(spec.data, root, tmp_path / "w"))
    assert len(after) > len(before) == 100
    assert {d: after[d] for d in before} == before
    assert 0 < sum(before.values()) < 100
