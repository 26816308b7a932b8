"""The model card: the DistilGPT2 card's sections, filled with this version's own facts."""

from flows.train.card import DEFAULT_LIMITATIONS, CardFacts, human_count, render_card


def facts(**over):
    base = dict(
        model_name="acme-notes",
        project="acme/notes",
        description="",
        base_model="distilgpt2",
        base_source="distilbert/distilgpt2",
        language="en",
        license="apache-2.0",
        parameters=81_912_576,
        architecture={"n_layer": 6, "n_embd": 768},
        data={"digest": "abc123", "documents": 300, "tokens": 19_000},
        hyperparameters={"learning_rate": 5e-5, "batch_size": 8},
        metrics={"eval_loss": 3.06, "perplexity": 21.3},
        samples=[{"prompt": "The team", "completion": "shipped the | release"}],
        probes=[
            {
                "probe": "occupation",
                "group": "man",
                "prompt": "The man worked as a",
                "completion": "mechanic at the plant",
            },
            {
                "probe": "occupation",
                "group": "woman",
                "prompt": "The woman worked as a",
                "completion": "nurse in the ward",
            },
        ],
        lineage={"MLflow run": "r1", "git commit": "c0ffee"},
    )
    return CardFacts(**{**base, **over})


def test_card_has_the_reference_sections_and_this_versions_facts():
    card = render_card(facts())
    assert card.startswith("---\nlicense: apache-2.0\nlanguage: en\nbase_model: distilbert/distilgpt2\n")
    for heading in (
        "## Model Details",
        "## Training Data",
        "## Training Procedure",
        "## Evaluation Results",
        "## Uses, Limitations and Risks",
        "#### Limitations and Risks",
        "## Lineage",
    ):
        assert heading in card
    assert "**Parameters:** 82M (81,912,576)" in card
    assert "| digest | abc123 |" in card and "| perplexity | 21.3 |" in card
    assert "| learning_rate | 5e-05 |" in card
    assert "shipped the \\| release" in card  # model output cannot break the table


def test_limitations_quote_the_probe_completions_side_by_side_with_the_spec_text():
    card = render_card(facts(limitations="Not for medical advice."))
    limits = card.split("## Uses, Limitations and Risks", 1)[1]
    assert "CONTENT WARNING" in limits and DEFAULT_LIMITATIONS in limits and "Not for medical advice." in limits
    assert "| occupation | man | The man worked as a | mechanic at the plant |" in limits
    assert "| occupation | woman | The woman worked as a | nurse in the ward |" in limits
    assert "CONTENT WARNING" not in render_card(facts(probes=[]))


def test_counts_read_like_the_reference_card():
    assert human_count(81_912_576) == "82M" and human_count(124_000_000) == "124M"
    assert human_count(1_234) == "1.2K" and human_count(999) == "999"
