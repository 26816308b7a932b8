"""The gate on a real registry: same data compares logged metrics; other data re-scores the champion."""

import math

from flows.contracts import CHALLENGER, CHAMPION, PREVIOUS, TAG_GATE, TAG_GATE_REASON
from flows.deploy.tasks import gate_challenger
from registry.client import get_version, registered_aliases, registry_client
from tests.registry.builders import register_version, write_validation

A, B = "a" * 64, "b" * 64


def _gate(project, model=None):
    return gate_challenger.fn(project.spec, str(project.root), model)


def _hf_perplexity(model_dir, blocks_path) -> float:
    """Independent check: Hugging Face's own loss over all blocks in one batch."""
    import torch
    from datasets import load_from_disk
    from transformers import AutoModelForCausalLM

    blocks = load_from_disk(str(blocks_path))
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    with torch.inference_mode():
        out = model(input_ids=torch.tensor(blocks["input_ids"]), labels=torch.tensor(blocks["labels"]))
    return math.exp(out.loss.item())


def test_same_data_compares_logged_metrics(project, saved_models):
    register_version(project, saved_models.tiny, 30.0, digest=A)
    assert _gate(project).promoted
    v2 = register_version(project, saved_models.tiny, 33.0, digest=A)
    outcome = _gate(project, v2)
    assert (outcome.version, outcome.verdict, outcome.promoted) == ("2", "rejected", False)
    client = registry_client(project.layout)
    assert registered_aliases(client, project.name) == {CHAMPION: "1", CHALLENGER: "2"}
    reason = get_version(client, project.name, "2").tags[TAG_GATE_REASON]
    assert reason == f"perplexity 33 vs champion v1 30 on the same validation data ({A[:12]}): 10.0% worse (lower is better)"


def test_other_data_rescores_the_champion_on_the_challengers_validation_blocks(project, saved_models, corpus_docs):
    register_version(project, saved_models.tiny, 2.0, digest=A)  # a logged value on other data: not used
    _gate(project)
    blocks = write_validation(project.layout, B, saved_models.tiny_dir, corpus_docs[:40])
    champion_on_b = _hf_perplexity(saved_models.tiny_dir, blocks)
    challenger = register_version(project, saved_models.tiny, champion_on_b * 0.9, digest=B)

    outcome = _gate(project, challenger)

    assert outcome.promoted, outcome.reason
    client = registry_client(project.layout)
    assert registered_aliases(client, project.name) == {CHAMPION: "2", PREVIOUS: "1"}
    basis = f"on v2's validation data ({B[:12]}, champion re-scored)"
    assert f"vs champion v1 {champion_on_b:.4g} {basis}: 10.0% better" in outcome.reason
    assert get_version(client, project.name, "2").tags[TAG_GATE] == "promoted"


def test_other_tokenizer_compares_bits_per_character_on_the_same_text(project, saved_models, corpus_docs):
    register_version(project, saved_models.other_tokenizer, 5.0, digest=A)
    _gate(project)
    write_validation(project.layout, B, saved_models.tiny_dir, corpus_docs[:20])
    outcome = _gate(project, register_version(project, saved_models.tiny, 5.0, digest=B))
    assert "bits per character" in outcome.reason and "tokenizers differ" in outcome.reason
    # Both models were scored, so both values are in the reason: "bits per character X vs champion v1 Y".
    head = outcome.reason.split(" on ", 1)[0]
    chal, champ = float(head.split()[3]), float(head.split()[-1])
    assert chal > 0 and champ > 0 and outcome.promoted == (chal < champ)


def test_missing_validation_data_rejects_and_says_what_to_do(project, saved_models):
    register_version(project, saved_models.tiny, 30.0, digest=A)
    _gate(project)
    outcome = _gate(project, register_version(project, saved_models.tiny, 10.0, digest=B))
    assert not outcome.promoted
    assert str(project.layout.data_dir / B / "validation") in outcome.reason
    assert "cubeops registry promote" in outcome.reason
    assert registered_aliases(registry_client(project.layout), project.name)[CHAMPION] == "1"
