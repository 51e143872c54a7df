"""The labelled anomaly benchmark: the scorer's known cases, the generator's contract, a reduced run."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.anomaly.run import evaluate, main, run_flags
from benchmarks.anomaly.scoring import FP_WEIGHT, score_corpus, score_stream, windows_for
from benchmarks.anomaly.streams import ANOMALIES, generate
from heritage_otel.analysis.detectors import DEFAULT_DETECTOR, DETECTORS

N = 2000
ONSETS = (600, 1500)


def _flags(*at: int) -> np.ndarray:
    flags = np.zeros(N, dtype=bool)
    flags[list(at)] = True
    return flags


def test_windows_are_centred_on_onsets_and_share_ten_percent() -> None:
    """Each of k windows is 10 % / k of the stream, centred on its onset."""
    assert windows_for(N, ONSETS) == [(550, 649), (1450, 1549)]
    assert windows_for(N, ()) == []


def test_never_firing_scores_zero_and_perfect_scores_one_hundred() -> None:
    """A detector that never fires scores 0; one flag at the start of every window scores 100."""
    assert score_corpus([(_flags(), ONSETS)]).score == 0.0
    starts = [lo for lo, _ in windows_for(N, ONSETS)]
    perfect = score_corpus([(_flags(*starts), ONSETS)])
    assert perfect.score == 100.0
    assert perfect.detected == 2 and perfect.false_positives == 0


def test_early_detection_earns_more_than_late_and_extra_flags_in_a_window_are_free() -> None:
    """Reward decays with lateness inside a window; only the first flag in a window counts."""
    early = score_stream(_flags(560), (600,))[0]
    late = score_stream(_flags(640), (600,))[0]
    assert early > late > -1.0
    assert score_stream(_flags(560, 561, 600, 640), (600,))[0] == early


def test_false_positives_cost_a_fraction_and_less_just_after_a_window() -> None:
    """A flag before any window costs FP_WEIGHT; one just after a window costs less; a missed window costs 1."""
    assert score_stream(_flags(100), ONSETS)[0] == pytest.approx(-2 - FP_WEIGHT)
    just_after = score_stream(_flags(651), ONSETS)[0]
    far_after = score_stream(_flags(1200), ONSETS)[0]
    assert -2 - FP_WEIGHT < far_after < just_after < -2
    raw, detected, fps, normal, delays = score_stream(_flags(100, 560), ONSETS)
    assert (detected, fps, normal, delays) == (1, 1, N - 200, [-40])


def test_flagging_everything_scores_far_below_zero() -> None:
    """A detector that fires on every point pays for every point outside the windows."""
    assert score_corpus([(np.ones(N, dtype=bool), ONSETS)]).score < -100


def test_generator_is_seeded_and_covers_every_anomaly_kind() -> None:
    """Same seed, same streams; the default corpus has >= 40 streams of 2,000-20,000 points and every kind."""
    streams = generate()
    assert len(streams) >= 40
    assert all(2000 <= len(s.values) <= 20000 for s in streams)
    assert {e.kind for s in streams for e in s.episodes} == set(ANOMALIES)
    assert any(not s.episodes for s in streams)  # normal-only streams
    again = generate()
    assert all(np.array_equal(a.values, b.values, equal_nan=True) for a, b in zip(streams, again, strict=True))
    assert all(e.start >= 0.15 * len(s.values) for s in streams for e in s.episodes)


def test_vectorised_run_equals_update_one_value_at_a_time() -> None:
    """The benchmark's all-streams-at-once run flags exactly what update() flags (with timestamps), for every detector."""
    streams = generate(seed=5, count=3, max_points=2500)
    for name, cls in DETECTORS.items():
        vectorised = run_flags(cls(), streams)
        for s, flags in zip(streams, vectorised, strict=True):
            det = cls()
            one_by_one = np.array([det.update(v, i * 60.0 * s.interval_min).flagged for i, v in enumerate(s.values)])
            assert np.array_equal(flags, one_by_one), name


def test_reduced_benchmark_default_detector_beats_zscore_at_every_sensitivity() -> None:
    """On a few generated streams the default detector at its default beats the z-score at its best."""
    streams = generate(seed=11, count=12, max_points=4000)
    default = evaluate(DETECTORS[DEFAULT_DETECTOR](), streams)
    best_z = max(evaluate(DETECTORS["zscore"](sensitivity=s), streams).score for s in (3.0, 4.0, 6.0, 8.0))
    assert default.score > best_z
    assert default.score > 0


def test_command_prints_the_table(capsys) -> None:
    """``python -m benchmarks.anomaly`` prints one Markdown row per detector and sensitivity."""
    main(["--streams", "2", "--max-points", "2000", "--detectors", "zscore,adaptive", "--sensitivities", "4,6"])
    out = capsys.readouterr().out
    assert "| detector" in out and "FP / 10k normal points" in out
    assert out.count("| zscore") == 3 and out.count("| adaptive") == 3  # 4, 6 and the default
