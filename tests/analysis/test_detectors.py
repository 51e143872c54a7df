"""Detectors against independent references: scipy's z-score, hand-computed MAD, planted spikes, noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from heritage_otel.analysis.detectors import MAD_SCALE, MADDetector, ZScoreDetector, rows_mad_score, rows_zscore

RNG_SEED = 20240611


def test_zscore_batch_matches_scipy_zscore() -> None:
    """Batch scores equal scipy.stats.zscore with ddof=1."""
    values = np.random.default_rng(1).normal(10, 2, 500)
    scores, _ = ZScoreDetector().score(values)
    np.testing.assert_allclose(scores, stats.zscore(values, ddof=1), rtol=1e-12)


def test_mad_batch_matches_hand_computation() -> None:
    """Robust z = 0.6745 (x - median) / MAD on a small table computed by hand."""
    values = np.array([1.0, 2.0, 3.0, 4.0, 100.0, 3.0, 2.0, 3.0, 4.0, 2.0])
    # median = 3; |x - 3| = 2,1,0,1,97,0,1,0,1,1 -> median 1
    scores, flags = MADDetector(min_samples=5).score(values)
    assert scores[4] == pytest.approx(MAD_SCALE * 97 / 1)
    assert scores[0] == pytest.approx(MAD_SCALE * -2)
    assert flags.tolist() == [False, False, False, False, True, False, False, False, False, False]


@pytest.mark.parametrize("detector", [ZScoreDetector(), MADDetector()], ids=["zscore", "mad"])
def test_planted_spikes_are_found(detector) -> None:
    """Spikes of 8 sigma planted in Gaussian noise are all flagged, in both directions."""
    rng = np.random.default_rng(RNG_SEED)
    values = rng.normal(100.0, 5.0, 2000)
    spikes = [100, 700, 1500]
    values[spikes[0]] += 40
    values[spikes[1]] -= 40
    values[spikes[2]] += 60
    _, flags = detector.score(values)
    assert all(flags[spikes])


@pytest.mark.parametrize("detector", [ZScoreDetector(), MADDetector()], ids=["zscore", "mad"])
def test_false_alarm_rate_on_stationary_noise_is_below_one_percent(detector) -> None:
    """At the default sensitivity 3.0 the expected rate is about 0.27 %; streaming over 20,000 points stays < 1 %."""
    values = np.random.default_rng(RNG_SEED).normal(0.0, 1.0, 20_000)
    flagged = sum(detector.update(v).flagged for v in values[:5000])
    batch_flags = detector.score(values[5000:])[1]
    assert flagged / 5000 < 0.01
    assert batch_flags.mean() < 0.01
    assert 0.0005 < batch_flags.mean()  # and it does flag the genuine 3-sigma tail (~0.27 %)


def test_streaming_waits_for_min_samples() -> None:
    """No judgement before min_samples values are learned, then the baseline judges."""
    det = ZScoreDetector(min_samples=5)
    results = [det.update(v) for v in (1.0, 1.1, 0.9, 1.0, 1.05)]
    assert all(np.isnan(r.score) and not r.flagged for r in results)
    assert det.update(9.0).flagged
    assert len(det.baseline) == 6


@pytest.mark.parametrize("cls", [ZScoreDetector, MADDetector], ids=["zscore", "mad"])
def test_constant_baseline_is_floored_by_resolution_and_magnitude(cls) -> None:
    """A zero spread is floored: a constant counter moving by one unit scores 1, a constant float 1 % of itself."""
    counter = cls(min_samples=3)
    counter.learn([0.0] * 50)
    assert counter.update(0.0).score == 0.0
    one = counter.update(1.0)
    assert one.score == pytest.approx(1.0) and not one.flagged
    latency = cls(min_samples=3)
    latency.learn([250.0] * 50)
    assert latency.update(300.0).score == pytest.approx(20.0)  # 50 / (1 % of 250)


@pytest.mark.parametrize("cls", [ZScoreDetector, MADDetector], ids=["zscore", "mad"])
def test_quantised_series_floor_is_its_step(cls) -> None:
    """A mostly-constant series that moves in steps of 0.5 has its resolution as the floor."""
    base = [2.0] * 40 + [2.5, 2.0] + [2.0] * 40
    det = cls(min_samples=3)
    det.learn(base)
    center = np.mean(base) if cls is ZScoreDetector else 2.0
    assert det.update(2.5).score == pytest.approx((2.5 - center) / (0.5 * 0.5))  # half the median step


def test_direction_up_ignores_drops() -> None:
    """direction='up' flags only increases."""
    det = ZScoreDetector(direction="up")
    base = np.random.default_rng(3).normal(0, 1, 100)
    _, flags = det.score(np.array([-10.0, 10.0]), baseline=base)
    assert flags.tolist() == [False, True]


def test_rows_functions_match_per_row_detectors() -> None:
    """The vectorised row scorers equal the single-series detectors, row by row, with ragged NaN windows."""
    rng = np.random.default_rng(5)
    base = rng.normal(50, 4, (40, 30))
    base[::3, :10] = np.nan  # some rows have fewer points
    latest = rng.normal(50, 12, 40)
    z, nz, _, _ = rows_zscore(base, latest)
    m, nm, _, _ = rows_mad_score(base, latest)
    for i in range(40):
        row = base[i][np.isfinite(base[i])]
        assert nz[i] == nm[i] == len(row)
        assert z[i] == pytest.approx(ZScoreDetector(min_samples=2).score([latest[i]], baseline=row)[0][0])
        assert m[i] == pytest.approx(MADDetector(min_samples=2).score([latest[i]], baseline=row)[0][0])


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"sensitivity": 0}, "sensitivity = 0"), ({"min_samples": 1}, "min_samples = 1"),
     ({"direction": "sideways"}, "direction = 'sideways'"), ({"window": 3}, "window = 3")],
)
def test_bad_settings_fail_fast_naming_the_setting(kwargs, needle) -> None:
    """Invalid settings raise ValueError naming the setting and its value."""
    with pytest.raises(ValueError, match=needle):
        ZScoreDetector(**kwargs)


def test_rows_zscore_is_stable_with_a_large_offset_and_a_huge_spike() -> None:
    """Values around 1e9 with unit spread, and a latest value far away, still give exact z-scores."""
    rng = np.random.default_rng(9)
    base = 1e9 + rng.normal(0, 1, (3, 200))
    latest = np.array([1e9 + 2.0, 1e9 - 5.0, 1e15])
    z, _, _, _ = rows_zscore(base, latest)
    for i in range(3):
        expected = (latest[i] - base[i].mean()) / base[i].std(ddof=1)
        assert z[i] == pytest.approx(expected, rel=1e-6)
