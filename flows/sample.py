"""A deterministic sample corpus: readable English paragraphs about running a small data team.

Used by ``cubeops init``, the quickstart, the tests and the benchmarks (which need corpora of
any size without a download). Pure: same ``seed``, same text.
"""

import random
from collections.abc import Iterator

_SUBJECTS = [
    "The data team", "Our support desk", "The night shift", "A new engineer", "The release manager",
    "The research group", "Every reviewer", "The platform crew", "Our largest customer", "The on-call analyst",
    "The product owner", "A careful tester", "The warehouse team", "The field office", "Our first model",
]
_VERBS = [
    "reviewed", "rewrote", "cleaned", "summarised", "labelled", "compared", "archived", "translated",
    "measured", "questioned", "shipped", "documented", "replayed", "sampled", "checked",
]
_OBJECTS = [
    "the weekly tickets", "every failed order", "the onboarding notes", "the incident reports",
    "the customer emails", "the release checklist", "the training logs", "the evaluation results",
    "the shipping manifests", "the meeting minutes", "the product manuals", "the survey answers",
    "the chat transcripts", "the quarterly forecast", "the backlog of bugs",
]
_CLAUSES = [
    "before the morning stand-up", "while the servers were quiet", "after the holiday rush",
    "with a fresh pot of coffee", "under a tight deadline", "in a single afternoon", "for the third time this month",
    "without losing a single record", "so that nobody had to guess", "because the numbers did not add up",
    "as the rain kept falling", "once the build turned green", "long after everyone had gone home",
]
_ENDINGS = [
    "Nobody expected the results to be so clear.", "The lesson was written down and shared.",
    "It took longer than planned, but it worked.", "Small steps, taken every day, added up.",
    "The dashboard finally told the truth.", "Everyone agreed to do it again next week.",
    "A few surprises remained, and they were noted.", "The model learned what the team already knew.",
    "Questions were answered, and better ones were asked.", "The badge on the README turned green.",
]


def sample_documents(n: int, seed: int = 0) -> Iterator[str]:
    """Yield ``n`` paragraphs of two to five sentences each."""
    rng = random.Random(seed)
    for _ in range(n):
        sentences = []
        for _ in range(rng.randint(1, 4)):
            sentences.append(
                f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_CLAUSES)}."
            )
        sentences.append(rng.choice(_ENDINGS))
        yield " ".join(sentences)


def sample_text(n: int, seed: int = 0) -> str:
    """``n`` paragraphs separated by blank lines, ending in a newline."""
    return "\n\n".join(sample_documents(n, seed)) + "\n"
