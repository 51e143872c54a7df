"""One replica of the instrumented reference recommender, as its own process, exporting over OTLP/HTTP.

``python benchmarks/scenarios/load.py --url http://127.0.0.1:4328 --instance replica-1 --seconds 40 --qps 20
--interval-ms 1000 --fault '{"kind": "slow", "component": "embedding", "value": 0.06, "at": 20, "until": 30}'``

The recommender is auto-instrumented (``RecommenderInstrumentor``); metrics go to ``{url}/v1/metrics``
with DELTA temporality every ``--interval-ms``, query logs to ``{url}/v1/logs``; spans stay in process
(the metrics' exemplars carry their trace ids). Two load shapes: **open loop** (default), queries arrive at
``--qps`` from a small thread pool, so a slow component does not slow the arrivals; **closed loop**
(``--workers N --think-ms T``), N callers each wait for their answer and T ms before the next query (a web page,
a batch job), so a slower service *is* less traffic. ``--day`` makes the traffic follow a compressed day
(a quiet night at 20 %, a morning ramp, the day, an evening decline) over ``--seconds``. Faults (repeatable ``--fault`` JSON):
``fail`` (component raises), ``slow`` (+``value`` s per call), ``drift`` (shifted query mix),
``traffic`` (arrival rate, or busy callers, x ``value``), each from ``at`` to ``until`` seconds after the start.
Prints one JSON line per event (``ready``, ``fault_on``, ``fault_off``, ``done``) with its wall time ``t``.
The end is a clean shutdown: the SDK's last export is a partial interval.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Callable
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
    parser.add_argument("--workers", type=int, default=0,
                        help="closed loop: this many callers, each waiting for its answer (0: open loop at --qps)")
    parser.add_argument("--think-ms", type=float, default=50.0, help="closed loop: a caller's pause between queries")
    parser.add_argument("--day", action="store_true", help="traffic follows a compressed day over --seconds")
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

    def factor(now: float) -> float:
        """Switch the faults on and off at their times; returns the traffic factor (the day's curve and any
        ``traffic`` fault)."""
        value = _day(now - start, args.seconds) if args.day else 1.0
        for f in faults:
            active = f["at"] <= now - start < f["until"]
            if active and not f["on"]:
                f["on"] = True
                _apply(rec, f, True)
                _say("fault_on", kind=f["kind"], instance=args.instance, component=f.get("component"))
            elif not active and f["on"] and not f["off"]:
                f["off"] = True
                _apply(rec, f, False)
                _say("fault_off", kind=f["kind"], instance=args.instance, component=f.get("component"))
            if active and f["kind"] == "traffic":
                value *= float(f["value"])
        return value

    if args.workers:
        _closed_loop(args, one, factor, start)
    else:
        next_at = start
        with ThreadPoolExecutor(max_workers=8) as pool:
            while (now := time.time()) < start + args.seconds:
                rate = args.qps * factor(now)
                pool.submit(one)
                next_at += 1.0 / rate
                time.sleep(max(0.0, next_at - time.time()))
    instrumentor.uninstrument()
    telemetry.shutdown()
    _say("done", instance=args.instance)


def _closed_loop(args: argparse.Namespace, one: Callable[[], None], factor: Callable[[float], float],
                 start: float) -> None:
    """``--workers`` callers, each sending its next query when the answer came, after ``--think-ms``; a traffic
    factor f stretches each caller's cycle (answer + think time) to 1/f of it (fewer people at their screens)."""
    lock = threading.Lock()
    think = args.think_ms / 1000.0

    def caller() -> None:
        while (now := time.time()) < start + args.seconds:
            with lock:
                f = max(factor(now), 0.01)
            began = time.time()
            one()
            took = time.time() - began
            time.sleep(max(0.0, (took + think) / f - took))

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + 60)


def _day(elapsed: float, seconds: float) -> float:
    """A compressed day over the run: a quiet night (traffic at 20 %), a morning ramp, a midday plateau with a
    gentle afternoon dip, an evening decline; the traffic factor at ``elapsed`` seconds."""
    hour = 24.0 * min(max(elapsed / seconds, 0.0), 1.0)
    night = 0.2
    if hour < 6:
        return night
    if hour < 10:
        return night + (1 - night) * (hour - 6) / 4  # morning ramp
    if hour < 18:
        return 1.0 - 0.1 * math.sin(math.pi * (hour - 10) / 8)  # the day, a small afternoon dip
    return max(night, 1.0 - (1 - night) * (hour - 18) / 6)  # evening decline


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
