"""Threshold rules: the seed's format, levels at the boundaries, validation messages."""

from __future__ import annotations

import numpy as np
import pytest

from heritage_otel.analysis.thresholds import DEFAULT_THRESHOLDS, LEVEL_CRITICAL, LEVEL_WARNING, ThresholdRules


def test_seed_rules_levels_at_and_around_the_boundaries() -> None:
    """Strict comparisons: equal to a level is fine; beyond warning WARNING; beyond critical CRITICAL."""
    rules = ThresholdRules(DEFAULT_THRESHOLDS)
    lat, ndcg = rules.index["query_latency_p95"], rules.index["ndcg_at_10"]
    idx = np.array([lat, lat, lat, lat, ndcg, ndcg, ndcg, ndcg])
    vals = np.array([1800, 1800.5, 3000, 3000.5, 0.65, 0.649, 0.5, 0.499])
    levels, crossed = rules.evaluate(idx, vals)
    assert levels.tolist() == [0, LEVEL_WARNING, LEVEL_WARNING, LEVEL_CRITICAL, 0, LEVEL_WARNING, LEVEL_WARNING,
                               LEVEL_CRITICAL]
    assert crossed[1] == 1800 and crossed[3] == 3000 and crossed[5] == 0.65 and crossed[7] == 0.5


def test_max_alone_warns_beyond_the_limit() -> None:
    """Without 'warning', the limit itself starts WARNING; without 'critical' there is no CRITICAL."""
    rules = ThresholdRules({"error_rate": {"max": 0.01}})
    levels, _ = rules.evaluate(np.array([0, 0]), np.array([0.011, 1e9]))
    assert levels.tolist() == [LEVEL_WARNING, LEVEL_WARNING]


def test_nan_values_are_fine() -> None:
    """A missing (NaN) value never fires."""
    rules = ThresholdRules()
    levels, _ = rules.evaluate(np.array([0]), np.array([np.nan]))
    assert levels.tolist() == [0]


@pytest.mark.parametrize(
    ("rules", "needle"),
    [
        ({"ndcg_at_10": {"min": 0.6, "critical": 0.7}}, "key 'critical' = 0.7 is not valid; expected <= the warning"),
        ({"ndcg_at_10": {"min": True}}, "key 'min' = True is not valid; expected a finite number"),
        ({"ndcg_at_10": 0.6}, "threshold rule 'ndcg_at_10' = 0.6 is not valid"),
        ({"ndcg_at_10": {"warning": 0.6}}, "give exactly one of 'max' or 'min'"),
        ({"error_rate": {"max": float("nan")}}, "key 'max' = nan"),
    ],
)
def test_validation_names_rule_key_value_and_what_is_valid(rules, needle) -> None:
    """Every invalid rule raises ValueError with the rule, the key, the bad value and what is valid."""
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        ThresholdRules(rules)
