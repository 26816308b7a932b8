"""The gate decision, pure: promote or reject, and a reason a person can act on."""

import math
from types import SimpleNamespace

from flows.contracts import TAG_GATE
from registry.gate import GateRule, decide, pick_challenger

PPL = GateRule()  # perplexity, lower is better, no minimum improvement, no bar


def test_better_challenger_is_promoted_with_the_numbers_in_the_reason():
    v = decide(PPL, 40.0, 50.0, "2", basis="on the same validation data (abc)")
    assert v.promote
    assert v.reason == "perplexity 40 vs champion v2 50 on the same validation data (abc): 20.0% better"


def test_worse_or_equal_challenger_is_rejected():
    worse = decide(PPL, 55.0, 50.0, "2")
    assert not worse.promote and "10.0% worse (lower is better)" in worse.reason
    same = decide(PPL, 50.0, 50.0, "2")
    assert not same.promote and "no improvement" in same.reason


def test_minimum_improvement_is_required():
    rule = GateRule(min_improvement=0.05)
    assert not decide(rule, 48.0, 50.0, "1").promote  # 4% better
    assert "needs at least 5.0%" in decide(rule, 48.0, 50.0, "1").reason
    assert decide(rule, 47.0, 50.0, "1").promote  # 6% better


def test_maximize_direction_flips_the_comparison():
    rule = GateRule(metric="accuracy", direction="maximize")
    assert decide(rule, 0.9, 0.8, "1").promote
    assert not decide(rule, 0.7, 0.8, "1").promote


def test_first_version_passes_or_misses_the_absolute_bar():
    assert decide(PPL, 80.0).promote  # no bar: promoted
    bar = GateRule(absolute_bar=60.0)
    missed = decide(bar, 80.0)
    assert not missed.promote and missed.reason == "first version: perplexity 80 misses the absolute bar ≤ 60"
    assert decide(bar, 59.0).promote


def test_missing_or_nan_metric_is_rejected_never_promoted():
    assert not decide(PPL, None, 50.0, "1").promote
    assert not decide(PPL, math.nan).promote
    assert "no usable perplexity" in decide(PPL, math.inf, 50.0, "1").reason


def _v(version: str, verdict: str | None = None):
    return SimpleNamespace(version=version, tags={TAG_GATE: verdict} if verdict else {})


def test_pick_challenger_takes_the_newest_unjudged_version():
    versions = [_v("1", "promoted"), _v("2"), _v("3"), _v("10", "rejected")]
    assert pick_challenger(versions, champion="1") == "3"
    assert pick_challenger([_v("1", "promoted")], champion="1") is None


def test_pick_challenger_with_a_given_version_skips_judged_ones_unless_forced():
    versions = [_v("1", "promoted"), _v("2", "rejected")]
    assert pick_challenger(versions, "1", given="2") is None
    assert pick_challenger(versions, "1", given="2", force=True) == "2"
    assert pick_challenger(versions, "1", given="1", force=True) is None  # never judged against itself
