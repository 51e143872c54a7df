"""``heritage-otel slo rules``: the Prometheus rules pass ``promtool check rules`` and, on synthetic series,
``promtool test rules``: a fast burn pages, a slow burn tickets only, no error nothing."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from click.testing import CliRunner

from heritage_otel.analysis.slo.files import EXAMPLE_FILE
from heritage_otel.cli.main import cli
from tests.helpers import BIN_DIR, require_binary

OK = 'heritage_queries_total{job="recommender",heritage_success="true"}'
FAILED = 'heritage_queries_total{job="recommender",heritage_success="false"}'


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary(BIN_DIR / "promtool", "build it with scripts/deps/promtool.sh")


@pytest.fixture
def rules_file(tmp_path):
    result = CliRunner().invoke(cli, ["slo", "rules", str(EXAMPLE_FILE)])
    assert result.exit_code == 0, result.output
    path = tmp_path / "slo-rules.yaml"
    path.write_text(result.stdout)
    return path


def _alert(rules: dict, window: str) -> dict:
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") and rule["labels"]["slo"] == "availability" and rule["labels"]["burn_window"] == window:
                return {"exp_labels": dict(rule["labels"]), "exp_annotations": dict(rule["annotations"])}
    raise AssertionError(window)


def _case(ok_per_min: int, failed_per_min: int, windows: list[str], rules: dict) -> dict:
    return {"interval": "1m",
            "input_series": [{"series": OK, "values": f"0+{ok_per_min}x120"},
                             {"series": FAILED, "values": f"0+{failed_per_min}x120"}],
            "alert_rule_test": [{"eval_time": "90m", "alertname": "HeritageSLOBurnRate",
                                 "exp_alerts": [_alert(rules, w) for w in windows]}]}


def test_the_rules_pass_promtool_check(promtool, rules_file) -> None:
    run = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout + run.stderr


def test_a_fast_burn_pages_a_slow_burn_tickets_and_no_error_is_quiet(promtool, rules_file, tmp_path) -> None:
    rules = yaml.safe_load(rules_file.read_text())
    tests = {"rule_files": [rules_file.name], "evaluation_interval": "1m", "tests": [
        _case(50, 50, ["1h", "6h", "3d"], rules),   # 50 % failing: 100x the 0.5 % budget
        _case(985, 15, ["3d"], rules),              # 1.5 % failing: 3x
        _case(1000, 0, [], rules),
    ]}
    test_file = tmp_path / "slo-rules-test.yaml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    run = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_threshold_off_the_bucket_bounds_is_named(tmp_path) -> None:
    text = EXAMPLE_FILE.read_text().replace("value: 0.3", "value: 0.33")
    path = tmp_path / "slos.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["slo", "rules", str(path)])
    assert result.exit_code == 0
    assert "skipped latency: value 0.33 is not a bucket bound of heritage.query.duration" in result.stderr
