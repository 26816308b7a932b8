"""The champion/challenger gate decision: pure, no MLflow, no Prefect.

A challenger is promoted when it beats the champion on the spec's metric, in the spec's
direction, by at least ``min_improvement`` (relative); the first version is promoted when it
meets ``absolute_bar`` (or when no bar is set). Every verdict carries a reason a person can read.
"""

import math
from dataclasses import dataclass

from flows.contracts import TAG_GATE


@dataclass(frozen=True)
class GateRule:
    """What the gate compares, from the spec's ``registry`` section."""

    metric: str = "perplexity"
    direction: str = "minimize"
    min_improvement: float = 0.0
    absolute_bar: float | None = None

    @classmethod
    def from_spec(cls, registry: object) -> "GateRule":
        """The rule of a :class:`~flows.spec.RegistrySpec`."""
        return cls(
            metric=registry.metric,
            direction=registry.direction,
            min_improvement=registry.min_improvement,
            absolute_bar=registry.absolute_bar,
        )

    @property
    def better(self) -> str:
        """"lower" or "higher"."""
        return "lower" if self.direction == "minimize" else "higher"


@dataclass(frozen=True)
class Verdict:
    """The gate's decision and its reason."""

    promote: bool
    reason: str


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _usable(value: float | None) -> bool:
    return value is not None and not math.isnan(value) and not math.isinf(value)


def relative_improvement(rule: GateRule, challenger: float, champion: float) -> float:
    """How much better the challenger is, as a fraction of the champion's value (negative: worse)."""
    gain = champion - challenger if rule.direction == "minimize" else challenger - champion
    return gain / max(abs(champion), 1e-12)


def decide(
    rule: GateRule,
    challenger: float | None,
    champion: float | None = None,
    champion_version: str | None = None,
    basis: str = "",
) -> Verdict:
    """Promote or reject a challenger whose metric is ``challenger`` against the champion's ``champion``.

    ``champion_version`` None means there is no champion yet (the first version). ``basis`` says
    on what data the two values were measured, for the reason.
    """
    m = rule.metric
    if not _usable(challenger):
        return Verdict(False, f"the challenger has no usable {m} (got {challenger!r}); it was not compared")
    if champion_version is None:
        if rule.absolute_bar is None:
            return Verdict(True, f"first version: {m} {_fmt(challenger)}, no absolute bar set")
        bar = rule.absolute_bar
        meets = challenger <= bar if rule.direction == "minimize" else challenger >= bar
        sign = "≤" if rule.direction == "minimize" else "≥"
        word = "meets" if meets else "misses"
        return Verdict(meets, f"first version: {m} {_fmt(challenger)} {word} the absolute bar {sign} {_fmt(bar)}")
    if not _usable(champion):
        return Verdict(True, f"{m} {_fmt(challenger)}; champion v{champion_version} has no usable {m} to compare with")
    gain = relative_improvement(rule, challenger, champion)
    where = f" {basis}" if basis else ""
    head = f"{m} {_fmt(challenger)} vs champion v{champion_version} {_fmt(champion)}{where}"
    if gain > 0 and gain >= rule.min_improvement:
        need = f", needs {rule.min_improvement:.1%}" if rule.min_improvement else ""
        return Verdict(True, f"{head}: {gain:.1%} better{need}")
    if gain > 0:
        return Verdict(False, f"{head}: {gain:.1%} better, needs at least {rule.min_improvement:.1%}")
    if gain == 0:
        return Verdict(False, f"{head}: no improvement ({rule.better} is better)")
    return Verdict(False, f"{head}: {-gain:.1%} worse ({rule.better} is better)")


def pick_challenger(versions: list, champion: str | None, given: str | None = None, force: bool = False) -> str | None:
    """Which version the gate should judge now, or None when there is nothing to judge.

    ``versions`` are objects with ``version`` and ``tags``. With ``given`` (the version fine-tune
    just produced) that one, unless it is the champion or already judged (``force`` re-judges);
    otherwise the newest version that has no verdict yet.
    """
    judged = {v.version for v in versions if v.tags.get(TAG_GATE)}
    if given is not None:
        if given == champion or (given in judged and not force):
            return None
        return given
    pending = [v.version for v in versions if v.version not in judged and v.version != champion]
    return max(pending, key=int) if pending else None
