"""AnalyzerConfig: detector selection from YAML/JSON, validated at start-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from heritage_otel.analysis import AnalyzerConfig
from heritage_otel.cli.analyzer import _load_config

YAML = """
anomaly_detectors: [adaptive]
sensitivity: 6
metric_detectors:
  query_latency_p95:
    - name: adaptive
      direction: up
      hold: 60
  heritage.errors: [mad, adaptive]
"""


def test_yaml_selects_detectors_per_metric_with_settings(tmp_path: Path) -> None:
    """The analyzer CLI's YAML loader yields a config whose per-metric detectors carry their settings."""
    path = tmp_path / "analyzer.yaml"
    path.write_text(YAML, encoding="utf-8")
    cfg = AnalyzerConfig(**_load_config(path))
    latency = cfg.build_detectors(cfg.detectors_for("query_latency_p95"))
    assert [(d.name, d.direction, d.hold, d.sensitivity) for d in latency] == [("adaptive", "up", 60, 6.0)]
    assert [d.name for d in cfg.build_detectors(cfg.detectors_for("heritage.errors"))] == ["mad", "adaptive"]
    assert [d.name for d in cfg.build_detectors(cfg.detectors_for("anything.else"))] == ["adaptive"]


def test_json_gives_the_same_config(tmp_path: Path) -> None:
    """JSON and YAML files with the same content give equal configs."""
    path = tmp_path / "analyzer.json"
    path.write_text(json.dumps(yaml.safe_load(YAML)), encoding="utf-8")
    yaml_path = tmp_path / "analyzer.yaml"
    yaml_path.write_text(YAML, encoding="utf-8")
    assert AnalyzerConfig(**_load_config(path)) == AnalyzerConfig(**_load_config(yaml_path))


@pytest.mark.parametrize(
    ("fields", "needle"),
    [({"anomaly_detectors": "adaptive"}, "anomaly_detectors = 'adaptive' is not valid"),
     ({"anomaly_detectors": [{"direction": "up"}]}, "expected a detector name or a mapping with 'name'"),
     ({"metric_detectors": {"m": [{"name": "mad", "window": 1}]}}, "metric_detectors['m']: window = 1"),
     ({"metric_detectors": ["adaptive"]}, "metric_detectors = ['adaptive'] is not valid")],
)
def test_bad_detector_settings_name_the_setting(fields, needle) -> None:
    """Every bad detector setting fails at construction with the setting, the value and what is valid."""
    with pytest.raises(ValueError) as info:
        AnalyzerConfig(**fields)
    assert needle in str(info.value)


def test_sensitivity_none_keeps_each_detectors_default() -> None:
    """sensitivity=None (the default) leaves every detector at its own default; a number overrides all."""
    cfg = AnalyzerConfig(anomaly_detectors=("zscore", "adaptive"))
    assert [d.sensitivity for d in cfg.build_detectors(cfg.detectors_for("m"))] == [3.0, 5.0]
    cfg = AnalyzerConfig(anomaly_detectors=("zscore", {"name": "adaptive", "sensitivity": 7}), sensitivity=4)
    assert [d.sensitivity for d in cfg.build_detectors(cfg.detectors_for("m"))] == [4.0, 7.0]
