"""Tokenize and pack: fixed blocks, labels equal to inputs, a clear error when a split has no block."""

import numpy as np
import pytest
from datasets import load_from_disk
from transformers import AutoTokenizer

from flows.data.build import collect, prepare_from_corpus
from flows.data.pack import BlockPacker, batch_encoder, tokenizer_identity
from flows.errors import DataError
from tests.flows.data.conftest import make_spec, write_files

EOS = 0


def test_packing_carries_the_remainder_across_batches_and_ends_each_document():
    packer = BlockPacker(block_size=4, eos_id=EOS)
    first = packer.add([[1, 2], [3]])  # 1 2 E 3 E -> one block, "E" carried
    second = packer.add([[4, 5, 6]])  # E 4 5 6 E -> one block, "E" carried
    assert first.tolist() == [[1, 2, EOS, 3]]
    assert second.tolist() == [[EOS, 4, 5, 6]]
    assert (packer.tokens, packer.blocks, packer.dropped) == (9, 2, 1)


def test_packing_without_an_end_token_just_concatenates():
    packer = BlockPacker(block_size=3, eos_id=None)
    assert packer.add([[1, 2], [3, 4, 5, 6, 7]]).tolist() == [[1, 2, 3], [4, 5, 6]]
    assert packer.dropped == 1


def test_the_encoder_ignores_a_saved_truncation_setting(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.backend_tokenizer.enable_truncation(max_length=3)
    long = "The data team reviewed the weekly tickets before the morning stand-up."
    assert len(batch_encoder(tok)([long])[0]) > 3


def test_tokenizer_identity_survives_save_and_load_and_tells_tokenizers_apart(tmp_path, tiny_model_dir, corpus_docs):
    from flows.models.tiny import train_tiny_tokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.save_pretrained(tmp_path / "copy")
    assert tokenizer_identity(AutoTokenizer.from_pretrained(tmp_path / "copy")) == tokenizer_identity(tok)
    assert tokenizer_identity(train_tiny_tokenizer(corpus_docs, vocab_size=400)) != tokenizer_identity(tok)
    # Training is deterministic: the same documents give the same tokenizer.
    assert tokenizer_identity(train_tiny_tokenizer(corpus_docs, vocab_size=400)) == tokenizer_identity(
        train_tiny_tokenizer(corpus_docs, vocab_size=400)
    )


def test_prepared_blocks_are_fixed_size_with_labels_equal_to_inputs(tmp_path, corpus_docs):
    root = tmp_path / "proj"
    write_files(root, {"notes.txt": "\n\n".join(corpus_docs)})
    spec = make_spec(data={"sources": ["notes.txt"], "block_size": 48})
    data_dir = root / ".cubeops" / "data"
    prepared = prepare_from_corpus(spec, root, data_dir, collect(spec.data, root, data_dir))
    tok = AutoTokenizer.from_pretrained(prepared.tokenizer_path)
    total = 0
    for path, blocks in ((prepared.train_path, prepared.train_blocks), (prepared.validation_path, prepared.validation_blocks)):
        ds = load_from_disk(path)
        assert ds.column_names == ["input_ids", "labels"]
        assert len(ds) == blocks > 0
        ids = np.array(ds["input_ids"])
        assert ids.shape == (blocks, 48)
        assert ids.tolist() == ds["labels"]
        total += ids.size
        # Documents end with the end-of-text token, and the text decodes back to the corpus.
        assert (ids == tok.eos_token_id).sum() > 0
    assert prepared.tokens == total
    first = load_from_disk(prepared.train_path)[0]["input_ids"]
    assert tok.decode(first).split("<|endoftext|>")[0].strip() in " ".join(corpus_docs)


def test_a_split_too_short_for_one_block_fails_and_leaves_nothing(tmp_path, corpus_docs):
    root = tmp_path / "proj"
    write_files(root, {"notes.txt": "\n\n".join(corpus_docs[:40])})
    spec = make_spec(data={"sources": ["notes.txt"], "block_size": 512, "validation_fraction": 0.05},
                     model={"base": "tiny-gpt2", "tiny": {"vocab_size": 400, "n_positions": 512}})
    data_dir = root / ".cubeops" / "data"
    with pytest.raises(DataError) as info:
        prepare_from_corpus(spec, root, data_dir, collect(spec.data, root, data_dir))
    assert "shorter than one block of data.block_size=512: no validation block" in str(info.value)
    assert list(data_dir.iterdir()) == [], "a failed build must leave no dataset and no work folder"


def test_a_split_with_no_validation_document_says_so(tmp_path):
    root = tmp_path / "proj"
    write_files(root, {"notes.txt": "only one document, which lands in train"})
    spec = make_spec(data={"sources": ["notes.txt"], "block_size": 8, "validation_fraction": 0.01})
    data_dir = root / ".cubeops" / "data"
    with pytest.raises(DataError) as info:
        prepare_from_corpus(spec, root, data_dir, collect(spec.data, root, data_dir))
    assert str(info.value).startswith("data.validation_fraction=0.01 sent none of the 1 documents to validation")
    assert list(data_dir.iterdir()) == []


@pytest.mark.parametrize("progress", [True, False], ids=["terminal", "log"])
def test_progress_bars_are_drawn_only_when_asked(tmp_path, corpus_docs, capfd, progress):
    root = tmp_path / "proj"
    write_files(root, {"notes.txt": "\n\n".join(corpus_docs)})
    spec = make_spec(data={"sources": ["notes.txt"], "block_size": 32})
    data_dir = root / ".cubeops" / "data"
    capfd.readouterr()
    prepare_from_corpus(spec, root, data_dir, collect(spec.data, root, data_dir, progress=progress), progress=progress)
    err = capfd.readouterr().err
    if progress:
        assert f"cleaning: {len(corpus_docs)} docs" in err.replace("\r", "\n")
        assert "train: 100%" in err
    else:
        assert err == "", "without a terminal, no bar (ours or the datasets library's) may reach the log"
