"""One replica of the instrumented reference recommender, as its own process, exporting over OTLP/HTTP.

``python benchmarks/scenarios/load.py --url http://127.0.0.1:4328 --instance replica-1 --seconds 40 --qps 20
--interval-ms 1000 --fault '{"kind": "slow", "component": "embedding", "value": 0.06, "at": 20, "until": 30}'``

The recommender is auto-instrumented (``RecommenderInstrumentor``); metrics go to ``{url}/v1/metrics``
with DELTA temporality every ``--interval-ms``, query logs to ``{url}/v1/logs``; spans stay in process
(the metrics' exemplars carry their trace ids). Queries arrive open-loop at ``--qps`` from a small
thread pool, so a slow component does not slow the arrivals. Faults (repeatable ``--fault`` JSON):
``fail`` (component raises), ``slow`` (+``value`` s per call), ``drift`` (shifted query mix),
``traffic`` (arrival rate x ``value``), each from ``at`` to ``until`` seconds after the start.
Prints one JSON line per event (``ready``, ``fault_on``, ``fault_off``, ``done``) with its wall time ``t``.
The end is a clean shutdown: the SDK's last export is a partial interval.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from heritage_otel.analysis.exporter import DELTA_TEMPORALITY
from heritage_otel.errors import HeritageError
from heritage_otel.examples.recommender import HeritageRecommender, QueryMix
from heritage_otel.instrumentation import RecommenderInstrumentor
from heritage_otel.telemetry import configure


def _say(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--service", default="recommender")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--qps", type=float, default=20.0)
    parser.add_argument("--interval-ms", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault", action="append", default=[], type=json.loads)
    args = parser.parse_args(argv)

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{args.url}/v1/metrics", timeout=10, preferred_temporality=DELTA_TEMPORALITY),
        export_interval_millis=args.interval_ms)
    telemetry = configure(service_name=args.service, service_instance_id=args.instance, metric_readers=[reader],
                          log_exporters=[OTLPLogExporter(endpoint=f"{args.url}/v1/logs", timeout=10)],
                          span_store_size=0)
    instrumentor = RecommenderInstrumentor()
    instrumentor.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider,
                            logger_provider=telemetry.logger_provider)
    rec = HeritageRecommender(seed=args.seed, n_docs=300, cache_size=0)
    mix = QueryMix(rec.corpus, rec.faults, seed=args.seed)

    def one() -> None:
        try:
            rec.recommend(mix.next().text, 10)
        except HeritageError:
            pass

    for _ in range(20):  # first-call costs stay out of the measured traffic as far as possible
        one()
    faults = [dict(f, on=False, off=False) for f in args.fault]
    _say("ready", instance=args.instance)
    start = time.time()
    next_at = start
    with ThreadPoolExecutor(max_workers=8) as pool:
        while (now := time.time()) < start + args.seconds:
            rate = args.qps
            for f in faults:
                active = f["at"] <= now - start < f["until"]
                if active and not f["on"]:
                    f["on"] = True
                    _apply(rec, f, True)
                    _say("fault_on", kind=f["kind"], instance=args.instance)
                elif not active and f["on"] and not f["off"]:
                    f["off"] = True
                    _apply(rec, f, False)
                    _say("fault_off", kind=f["kind"], instance=args.instance)
                if active and f["kind"] == "traffic":
                    rate = args.qps * float(f["value"])
            pool.submit(one)
            next_at += 1.0 / rate
            time.sleep(max(0.0, next_at - time.time()))
    instrumentor.uninstrument()
    telemetry.shutdown()
    _say("done", instance=args.instance)


def _apply(rec: HeritageRecommender, fault: dict, on: bool) -> None:
    kind, component = fault["kind"], fault.get("component")
    if kind == "fail":
        if on:
            rec.faults.fail(component, float(fault.get("value", 1.0)))
        else:
            rec.faults.clear(component)
    elif kind == "slow":
        if on:
            rec.faults.slow(component, float(fault["value"]))
        else:
            rec.faults.clear(component)
    elif kind == "drift":
        rec.faults.drift(on)
    elif kind != "traffic":
        sys.exit(f"--fault kind {kind!r} is not valid; expected fail, slow, drift or traffic")


if __name__ == "__main__":
    main()
