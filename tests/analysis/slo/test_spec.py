"""OpenSLO v1 documents: what is read, and every field that fails at start-up naming itself."""

from __future__ import annotations

import pytest

from heritage_otel.analysis.slo.files import EXAMPLE_FILE, load_objectives
from heritage_otel.analysis.slo.spec import parse_documents
from tests.analysis.slo.helpers import availability, source


def test_the_default_rules_are_the_workbook_table() -> None:
    [objective] = parse_documents([availability()])
    assert [(r.severity, r.factor, r.window, r.long_s, r.short_s) for r in objective.rules] == [
        ("page", 14.4, "1h", 3600, 300), ("page", 6.0, "6h", 21600, 1800), ("ticket", 1.0, "3d", 259200, 21600)]


def test_time_scale_scales_every_duration() -> None:
    [objective] = parse_documents([availability()], time_scale=1 / 300)
    assert objective.window_s == pytest.approx(28 * 86400 / 300)
    assert objective.rules[0].long_s == pytest.approx(12.0) and objective.rules[0].short_s == pytest.approx(1.0)
    assert objective.rules[0].window == "1h"


def test_an_alert_policy_overrides_the_table_with_short_window_a_twelfth() -> None:
    policy = {"apiVersion": "openslo/v1", "kind": "AlertPolicy", "metadata": {"name": "fast"},
              "spec": {"conditions": [{"conditionRef": "burn-10x"}]}}
    condition = {"apiVersion": "openslo/v1", "kind": "AlertCondition", "metadata": {"name": "burn-10x"},
                 "spec": {"severity": "page", "condition": {"kind": "burnrate", "op": "gte", "threshold": 10,
                                                            "lookbackWindow": "2h", "alertAfter": "5m"}}}
    [objective] = parse_documents([availability(alertPolicies=[{"alertPolicyRef": "fast"}]), policy, condition])
    [rule] = objective.rules
    assert (rule.name, rule.severity, rule.factor, rule.window, rule.long_s, rule.short_s, rule.alert_after_s) == (
        "burn-10x", "page", 10.0, "2h", 7200, 600, 300)


def test_an_sli_document_is_referenced_by_name() -> None:
    sli = {"apiVersion": "openslo/v1", "kind": "SLI", "metadata": {"name": "slow"},
           "spec": {"thresholdMetric": source("heritage.query.duration")}}
    doc = availability(objectives=[{"op": "lte", "value": 0.3, "target": 0.95}], indicatorRef="slow")
    del doc["spec"]["indicator"]
    [objective] = parse_documents([doc, sli])
    assert objective.threshold_source.metric == "heritage.query.duration" and objective.op == "lte"


def test_the_shipped_example_has_the_four_recommender_objectives() -> None:
    objectives = load_objectives([EXAMPLE_FILE])
    assert [(o.name, o.budgeting) for o in objectives] == [
        ("availability", "Occurrences"), ("latency", "Occurrences"), ("quality", "Timeslices"),
        ("fallback-rate", "Occurrences")]


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "Service"}, "kind = 'Service' is not valid; expected one of SLO, SLI, AlertPolicy, AlertCondition"),
    ({"apiVersion": "openslo/v2alpha"}, "apiVersion = 'openslo/v2alpha' is not valid"),
    ({"extra": 1}, "document.extra is not a known field"),
])
def test_a_bad_header_names_the_field(change, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_documents([{**availability(), **change}])


@pytest.mark.parametrize(("spec", "message"), [
    ({"budgetingMethod": "RatioTimeslices"}, "spec.budgetingMethod = 'RatioTimeslices' is not valid"),
    ({"objectives": [{"target": 1.5}]}, r"spec.objectives\[0\].target = 1.5 is not valid; expected a number in \(0, 1\)"),
    ({"objectives": [{"target": 0.9, "timeSliceWindow": "5m"}]}, r"spec.objectives\[0\].timeSliceWindow is not supported"),
    ({"timeWindow": [{"duration": "28 days"}]}, r"spec.timeWindow\[0\].duration = '28 days' is not a duration"),
    ({"timeWindow": [{"duration": "1h", "isRolling": True}]}, "lookback window .* longer than the SLO's time window"),
    ({"timeWindow": [{"duration": "28d", "calendar": {}}]}, r"spec.timeWindow\[0\].calendar is not supported"),
    ({"alertPolicies": [{"alertPolicyRef": "none"}]}, r"spec.alertPolicies\[0\].alertPolicyRef = 'none' names no AlertPolicy"),
    ({"indicatorRef": "x"}, "needs exactly one of indicator or indicatorRef"),
])
def test_a_bad_slo_field_names_itself(spec, message) -> None:
    with pytest.raises(ValueError, match=message):
        parse_documents([availability(**spec)])


def test_an_unknown_metric_source_field_names_its_path() -> None:
    doc = availability()
    doc["spec"]["indicator"]["spec"]["ratioMetric"]["total"]["metricSource"]["spec"]["query"] = "up"
    with pytest.raises(ValueError, match=r"SLO 'availability': spec.indicator.spec.ratioMetric.total.metricSource"
                                         r".spec.query is not a known field; valid: attributes, indicator, metric"):
        parse_documents([doc])


def test_a_threshold_on_an_indicator_needs_timeslices() -> None:
    doc = availability(objectives=[{"op": "gte", "value": 0.6, "target": 0.95}],
                       indicator={"metadata": {"name": "q"}, "spec": {"thresholdMetric": {"metricSource": {
                           "type": "HeritageOtel", "spec": {"indicator": "ndcg_at_10"}}}}})
    with pytest.raises(ValueError, match="needs Timeslices"):
        parse_documents([doc])


def test_an_unknown_condition_severity_is_refused() -> None:
    policy = {"kind": "AlertPolicy", "metadata": {"name": "p"}, "spec": {"conditions": [{
        "metadata": {"name": "c"}, "spec": {"severity": "sms", "condition": {
            "kind": "burnrate", "threshold": 2, "lookbackWindow": "1h"}}}]}}
    with pytest.raises(ValueError, match=r"conditions\[0\].spec.severity = 'sms' is not valid; expected one of page, ticket"):
        parse_documents([availability(alertPolicies=[policy])])


def test_a_folder_of_files_is_read_and_a_bad_file_named(tmp_path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: [")
    with pytest.raises(ValueError, match="bad.yaml: not a readable OpenSLO file"):
        load_objectives([tmp_path])
