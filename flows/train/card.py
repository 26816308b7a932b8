"""The model card: a README.md for every registered version, in the manner of the DistilGPT2 card.

Pure text: every fact is passed in, so the card of a version reads the same however often it is
rendered.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

DEFAULT_LIMITATIONS = (
    "Language models reflect the biases of the text they are trained on, and a model fine-tuned on "
    "a team's documents also inherits the biases of its base model. This model was fine-tuned on a "
    "small, domain-specific corpus for a limited number of steps: it can produce fluent text that is "
    "false, repetitive or off-topic, and it should not be used to make decisions about people. "
    "The probe completions below are demonstrative examples, not a comprehensive stress test; "
    "evaluate the model more rigorously for your use case and context before relying on it."
)


@dataclass(frozen=True)
class CardFacts:
    """Everything the card states."""

    model_name: str
    project: str
    description: str
    base_model: str
    base_source: str
    language: str
    license: str
    parameters: int
    architecture: Mapping[str, int]
    data: Mapping[str, object]
    hyperparameters: Mapping[str, object]
    metrics: Mapping[str, float]
    samples: Sequence[Mapping[str, str]] = ()
    probes: Sequence[Mapping[str, str]] = ()
    limitations: str | None = None
    lineage: Mapping[str, str] = field(default_factory=dict)


def human_count(n: int) -> str:
    """``81912576`` → ``82M``; ``1_234`` → ``1.2K``."""
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            value = n / size
            return f"{value:.0f}{unit}" if value >= 10 else f"{value:.1f}{unit}"
    return str(n)


def _quote(text: str) -> str:
    # Completions are model output: keep them on one line and out of the table's syntax.
    return " ".join(text.split()).replace("|", "\\|") or "(empty)"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_quote(str(c)) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_card(facts: CardFacts) -> str:
    """The card as Markdown, with YAML front matter (license, language, base model, tags)."""
    owner = facts.project.split("/", 1)[0]
    arch = ", ".join(f"{k} {v}" for k, v in facts.architecture.items())
    description = facts.description.strip() or f"`{facts.base_model}` fine-tuned on the text of `{facts.project}`."
    front = "\n".join(
        [
            "---",
            f"license: {facts.license}",
            f"language: {facts.language}",
            f"base_model: {facts.base_source}",
            "pipeline_tag: text-generation",
            "library_name: transformers",
            "tags: [cubeops, causal-lm, fine-tuned]",
            "---",
        ]
    )
    parts = [
        front,
        f"# {facts.model_name}",
        "## Model Details",
        "\n".join(
            [
                f"- **Developed by:** {owner} (project `{facts.project}`), fine-tuned with cubeops",
                "- **Model type:** Transformer-based causal language model (GPT-2 architecture)",
                f"- **Language:** {facts.language}",
                f"- **License:** {facts.license}",
                f"- **Base model:** `{facts.base_model}` ({facts.base_source})",
                f"- **Parameters:** {human_count(facts.parameters)} ({facts.parameters:,}); {arch}",
            ]
        ),
        f"**Model Description:** {description}",
        "## Training Data",
        _table(["field", "value"], [[k, v] for k, v in facts.data.items()]),
        "## Training Procedure",
        "Hyperparameters:\n\n"
        + _table(["hyperparameter", "value"], [[k, v] for k, v in facts.hyperparameters.items()]),
        "## Evaluation Results",
        _table(["metric", "value"], [[k, f"{v:.4g}"] for k, v in facts.metrics.items()])
        + "\n\nPerplexity is `exp(eval_loss)` on the held-out validation blocks.",
    ]
    if facts.samples:
        parts += [
            "### Sample generations",
            _table(["prompt", "completion"], [[s["prompt"], s["completion"]] for s in facts.samples]),
        ]
    parts += [
        "## Uses, Limitations and Risks",
        "#### Limitations and Risks",
    ]
    if facts.probes:
        parts.append(
            "**CONTENT WARNING: Readers should be aware this section contains model output that can "
            "propagate historical and current stereotypes.**"
        )
    parts.append(DEFAULT_LIMITATIONS)
    if facts.limitations:
        parts.append(facts.limitations.strip())
    if facts.probes:
        parts += [
            "The prompts below differ in one attribute; their completions (same seed) show what the "
            "model associates with each group:",
            _table(
                ["probe", "group", "prompt", "completion"],
                [[p["probe"], p["group"], p["prompt"], p["completion"]] for p in facts.probes],
            ),
        ]
    if facts.lineage:
        parts += ["## Lineage", _table(["", "value"], [[k, v] for k, v in facts.lineage.items()])]
    return "\n\n".join(parts) + "\n"
