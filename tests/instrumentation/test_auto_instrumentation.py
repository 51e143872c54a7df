"""`opentelemetry-instrument` instruments the reference recommender of an app that has no telemetry code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from heritage_otel import semconv
from tests.helpers import REPO_ROOT, require_binary

APP = textwrap.dedent(
    """
    from heritage_otel.examples.recommender import HeritageRecommender

    rec = HeritageRecommender(n_docs=1000)
    rec.faults.fail("simrank")
    for query in rec.corpus.queries[:3]:
        rec.recommend(query.text, 5)
    """
)


def _console_spans(stdout: str) -> list[dict]:
    """The JSON objects the console span exporter printed, in order."""
    decoder = json.JSONDecoder()
    spans, i = [], 0
    while (start := stdout.find("{", i)) != -1:
        obj, i = decoder.raw_decode(stdout, start)
        spans.append(obj)
    return spans


def test_opentelemetry_instrument_finds_the_span_tree(tmp_path: Path) -> None:
    """Three recommend calls give three traces: root > chain > two attempts, components and ensemble inside."""
    tool = require_binary(Path(sys.executable).parent / "opentelemetry-instrument",
                          "pip install opentelemetry-instrumentation opentelemetry-distro")
    (tmp_path / "app.py").write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_SERVICE_NAME="auto-app",
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        PYTHONPATH=str(REPO_ROOT),
    )
    proc = subprocess.run([tool, sys.executable, "app.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    spans = _console_spans(proc.stdout)
    by_id = {s["context"]["span_id"]: s for s in spans}
    children: dict[str, list[dict]] = {}
    for s in spans:
        children.setdefault(s["parent_id"], []).append(s)
    roots = [s for s in spans if s["parent_id"] is None]
    assert [r["name"] for r in roots] == [semconv.SPAN_RECOMMEND] * 3
    assert all(r["resource"]["attributes"]["service.name"] == "auto-app" for r in roots)
    for root in roots:
        attrs = root["attributes"]
        assert attrs[semconv.FALLBACK_STRATEGY_USED] == "fallback_horn"
        assert attrs[semconv.RESULT_COUNT] == 5 and attrs[semconv.OPENINFERENCE_SPAN_KIND] == "RETRIEVER"
        (chain,) = children[root["context"]["span_id"]]
        assert chain["name"] == semconv.SPAN_FALLBACK_CHAIN
        attempts = children[chain["context"]["span_id"]]
        assert [a["attributes"][semconv.FALLBACK_STRATEGY] for a in attempts] == ["primary_simrank", "fallback_horn"]
        assert [a["attributes"][semconv.FALLBACK_OUTCOME] for a in attempts] == ["error", "success"]
        primary = {c["attributes"].get(semconv.COMPONENT) for c in children[attempts[0]["context"]["span_id"]]}
        assert primary == {"horn_index", "embedding", "simrank"}
        fallback = [c["name"] for c in children[attempts[1]["context"]["span_id"]]]
        assert fallback == ["rank horn_index", semconv.SPAN_ENSEMBLE]
        trace_ids = {s["context"]["trace_id"] for s in spans if _root_of(s, by_id) is root}
        assert len(trace_ids) == 1
    failed = [s for s in spans if s["attributes"].get(semconv.COMPONENT) == "simrank"]
    assert len(failed) == 3 and all(s["status"]["status_code"] == "ERROR" for s in failed)


def _root_of(span: dict, by_id: dict[str, dict]) -> dict:
    while span["parent_id"] is not None:
        span = by_id[span["parent_id"]]
    return span


USER_MODULE = textwrap.dedent(
    """
    class KeywordScorer:
        def score(self, text):
            return [(f"doc-{w}", float(len(w))) for w in text.split()]


    class Shop:
        def search(self, text, limit=3):
            hits = sorted(KeywordScorer().score(text), key=lambda h: -h[1])[:limit]
            return [{"doc_id": d, "score": s} for d, s in hits]
    """
)


def test_malformed_target_variables_are_logged_and_the_valid_targets_instrumented(tmp_path: Path) -> None:
    """A typo'd method, a malformed component entry and a malformed CACHE variable: each logged by name,
    auto-initialisation carries on, and the valid entry point and component are instrumented."""
    tool = require_binary(Path(sys.executable).parent / "opentelemetry-instrument",
                          "pip install opentelemetry-instrumentation opentelemetry-distro")
    (tmp_path / "shop_app.py").write_text(USER_MODULE)
    (tmp_path / "app.py").write_text("import shop_app\nshop_app.Shop().search('ancient stepwell temple', 2)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HERITAGE_OTEL_"))}
    env.update(
        OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO_ROOT)]),
        HERITAGE_OTEL_RECOMMENDER_ENTRY="shop_app:Shop.search",
        HERITAGE_OTEL_RECOMMENDER_COMPONENTS="keywords=shop_app:KeywordScorer.score,"
                                             "typo=shop_app:KeywordScorer.scroe,junk",
        HERITAGE_OTEL_RECOMMENDER_CACHE="not a target",
    )
    proc = subprocess.run([tool, sys.executable, "app.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Failed to auto initialize" not in proc.stderr
    assert "HERITAGE_OTEL_RECOMMENDER_CACHE" in proc.stderr and "'junk'" in proc.stderr
    assert "shop_app:KeywordScorer.scroe" in proc.stderr and "no method 'scroe'" in proc.stderr
    spans = _console_spans(proc.stdout)
    assert sorted(s["name"] for s in spans) == sorted([semconv.SPAN_RECOMMEND, "score keywords"])
    (component,) = [s for s in spans if s["name"] == "score keywords"]
    assert component["attributes"][semconv.COMPONENT] == "keywords"


def test_otlp_json_path_is_honoured_under_opentelemetry_instrument(tmp_path: Path) -> None:
    """HERITAGE_OTEL_OTLP_JSON_PATH writes the spans as OTLP JSON lines, its missing directory created."""
    tool = require_binary(Path(sys.executable).parent / "opentelemetry-instrument",
                          "pip install opentelemetry-instrumentation opentelemetry-distro")
    (tmp_path / "app.py").write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HERITAGE_OTEL_"))}
    env.update(OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
               PYTHONPATH=str(REPO_ROOT), HERITAGE_OTEL_OTLP_JSON_PATH="out/run/spans.otlp.jsonl")
    proc = subprocess.run([tool, sys.executable, "app.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "out" / "run" / "spans.otlp.jsonl").read_text().splitlines()
    names = [span["name"] for line in lines for rs in json.loads(line)["resourceSpans"]
             for ss in rs["scopeSpans"] for span in ss["spans"]]
    assert names.count(semconv.SPAN_RECOMMEND) == 3


PROGRAM = """
class Finder:
    def search(self, text, k=3):
        return [("a", 1.0), ("b", 0.5)][:k]


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["in-code"]:
        from heritage_otel import configure
        from heritage_otel.instrumentation import RecommenderInstrumentor, RecommenderTargets
        telemetry = configure(service_name="program")
        RecommenderInstrumentor().instrument(targets=RecommenderTargets(entry_point="finder_app:Finder.search"))
        Finder().search("x", k=1)
        print("spans:", [s.name for s in telemetry.span_store.spans()])
    else:
        print("wrapped:", type(Finder.__dict__["search"]).__name__)
"""


def test_targets_in_the_program_being_run(tmp_path) -> None:
    """``python finder_app.py``: targets in the program itself are wrapped when it instruments itself, and under
    opentelemetry-instrument (which instruments before the program runs) a warning says why they cannot be."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "finder_app.py").write_text(PROGRAM)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "OTEL_SERVICE_NAME": "program", "OTEL_TRACES_EXPORTER": "none",
           "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
    in_code = subprocess.run([sys.executable, "finder_app.py", "in-code"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60, check=True)
    assert "spans: ['heritage.recommend']" in in_code.stdout, in_code.stderr
    auto = subprocess.run([str(bin_dir / "opentelemetry-instrument"), sys.executable, "finder_app.py"],
                          cwd=tmp_path, env={**env, "HERITAGE_OTEL_RECOMMENDER_ENTRY": "finder_app:Finder.search"},
                          capture_output=True, text=True, timeout=60, check=True)
    assert "wrapped: function" in auto.stdout
    assert "finder_app:Finder.search are in 'finder_app', the program being run" in auto.stderr
