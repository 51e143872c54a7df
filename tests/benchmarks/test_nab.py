"""The NAB scorer on two hand-made files, scores worked out by hand; the corpus reader; the runner.

Fixture (tests/benchmarks/nab_fixtures, NAB's layout): file A has 20 points,
probation floor(0.15 * 20) = 3, one window on points 10..13 (width 4); file B
has 40 points, probation 6, a window on points 2..4 (inside the probation:
not scorable, yet counted in NAB's perfect score) and one on points 20..24
(width 5). The scaled sigmoid is ``S(y) = 2 / (1 + exp(5 y)) - 1 = tanh(-2.5 y)``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks.nab.corpus import DEV_SPLIT, load
from benchmarks.nab.run import main, summary
from benchmarks.nab.scoring import PROFILES, STANDARD, ScoredFile, normalised, optimise, raw_score

FIXTURES = Path(__file__).parent / "nab_fixtures"
FP, LOW_FP, LOW_FN = PROFILES[0], PROFILES[1], PROFILES[2]
T25 = math.tanh(2.5)  # S(-1): the first point of a window, before dividing by it


def _files(a: dict[int, float], b: dict[int, float]) -> list[ScoredFile]:
    sa, sb = np.zeros(20), np.zeros(40)
    for i, v in a.items():
        sa[i] = v
    for i, v in b.items():
        sb[i] = v
    return [ScoredFile.build(sa, [(10, 13)], "a"), ScoredFile.build(sb, [(2, 4), (20, 24)], "b")]


# A: 1 in probation (ignored), 5 before any window, 11 and 12 in the window (only 11 counts), 16 after it.
# B: the scorable window missed, detections 30, 36 and 39 after it (12/4 = 3 is not beyond 3; 15/4 is).
A_HITS = {1: 1.0, 5: 0.7, 11: 0.9, 12: 0.8, 16: 0.6}
B_HITS = {30: 0.65, 36: 0.5, 39: 0.4}
TP_11 = math.tanh(2.5 * 3 / 4) / T25  # position -(13 - 11 + 1) / 4


def _raw_a(fp: float) -> float:
    return TP_11 - fp * T25 - fp  # 16: |13 - 16| / (4 - 1) = 1 -> S(1) = -tanh(2.5); 5: no window before -> -1


def _raw_b(fp: float, fn: float) -> float:
    return -fn - fp * (math.tanh(2.5 * 6 / 4) + math.tanh(2.5 * 3) + 1.0)


def test_corpus_reader_finds_windows_by_timestamp_and_ignores_labels_of_files_not_in_the_split() -> None:
    files = load(FIXTURES)
    assert [f.name for f in files] == ["artificialWithAnomaly/fixture_a.csv", "realTweets/fixture_b.csv"]
    assert [f.windows for f in files] == [((10, 13),), ((2, 4), (20, 24))]
    assert files[0].times[1] - files[0].times[0] == 300.0
    assert "realTraffic" not in DEV_SPLIT and "realKnownCause" not in DEV_SPLIT


def test_probationary_period_is_fifteen_percent() -> None:
    a, b = _files({}, {})
    assert (a.probation, b.probation) == (3, 6)
    assert ScoredFile.build(np.zeros(100_000), []).probation == 750  # capped at 0.15 * 5000


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_raw_scores_match_the_hand_computation(profile) -> None:
    a, b = _files(A_HITS, B_HITS)
    assert raw_score([a], profile, 0.3) == pytest.approx(_raw_a(profile.fp))
    assert raw_score([b], profile, 0.3) == pytest.approx(_raw_b(profile.fp, profile.fn))


def test_first_point_of_a_window_earns_the_full_true_positive_weight() -> None:
    a, b = _files({10: 1.0}, {20: 1.0})
    assert raw_score([a, b], STANDARD, 0.5) == pytest.approx(2.0)
    # null: -fn per scorable window (2); perfect: tp per window, the probationary one too (3)
    assert normalised([a, b], STANDARD, 0.5) == pytest.approx(100 * (2 + 2) / (3 + 2))  # 80: not 100
    assert normalised([a, b], STANDARD, 2.0) == 0.0  # nothing detected: the null detector


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_normalised_score_uses_null_and_perfect(profile) -> None:
    files = _files(A_HITS, B_HITS)
    null, perfect = -2 * profile.fn, 3 * profile.tp
    raw = _raw_a(profile.fp) + _raw_b(profile.fp, profile.fn)
    assert normalised(files, profile, 0.3) == pytest.approx(100 * (raw - null) / (perfect - null))


def test_threshold_optimisation_takes_the_best_and_highest_threshold() -> None:
    files = _files(A_HITS, B_HITS)
    # 0.9 and 0.8 both give TP_11 - 1 (12 adds nothing to the caught window); lower ones add false positives
    threshold, best = optimise(files, FP)
    assert threshold == 0.9
    assert best == pytest.approx(TP_11 - 1.0)
    for t in (math.inf, 0.8, 0.7, 0.65, 0.5, 0.4, 0.0):
        assert raw_score(files, FP, t) <= best + 1e-12


def test_summary_reports_default_flags_and_optimised_scores() -> None:
    nab = load(FIXTURES)
    cont = [f.scores for f in _files(A_HITS, B_HITS)]
    flags = [np.isin(np.arange(20), [10]), np.zeros(40, dtype=bool)]
    out = summary(nab, cont, flags)
    assert out["standard"][0] == pytest.approx(100 * (1 - 1 + 2) / 5)  # A's window at its first point, B missed
    assert out["standard"][1] == pytest.approx(100 * (TP_11 - 1 + 2) / 5)


def test_runner_prints_the_table_for_a_detector(capsys) -> None:
    main(["--nab-dir", str(FIXTURES), "--detectors", "zscore", "--gaussian"])
    out = capsys.readouterr().out
    assert "development split: 2 files, 60 points, 3 windows" in out
    assert "| zscore (sensitivity 3)" in out and "| windowed Gaussian (threshold 1.0)" in out


def test_cost_measures_state_and_time_per_value_of_the_default() -> None:
    from benchmarks.nab.cost import measure
    from heritage_otel.analysis.detectors import DEFAULT_DETECTOR

    m = measure(DEFAULT_DETECTOR, rows=50, steps=20)
    assert m["state_bytes"] <= 4096  # the bound per series
    assert m["row_us"] > 0 and m["update_us"] > 0
