"""One replica of the instrumented reference recommender, as its own process, for the fleet test.

``python -m tests.service.replica_process --instance replica-a --endpoint http://127.0.0.1:4318 --seconds 20
--slow-after 8`` serves the query mix for ``--seconds`` seconds, exporting traces, metrics and logs over
OTLP/HTTP to ``--endpoint`` (the Collector), and from ``--slow-after`` seconds on makes the embedding
component ``--slow-latency`` seconds slower (a latency fault). Prints ``ready`` once serving.
"""

from __future__ import annotations

import argparse
import time

from heritage_otel.errors import HeritageError
from heritage_otel.examples.recommender import HeritageRecommender, QueryMix
from heritage_otel.instrumentation import RecommenderInstrumentor
from heritage_otel.telemetry import configure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--slow-after", type=float, default=None)
    parser.add_argument("--slow-latency", type=float, default=0.4)
    parser.add_argument("--export-ms", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    telemetry = configure(service_name="recommender", service_instance_id=args.instance, endpoint=args.endpoint,
                          protocol="http/protobuf", metric_export_interval_millis=args.export_ms)
    instrumentor = RecommenderInstrumentor()
    instrumentor.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider,
                            logger_provider=telemetry.logger_provider)
    rec = HeritageRecommender(seed=args.seed, n_docs=300, cache_size=0)
    mix = QueryMix(rec.corpus, rec.faults, seed=args.seed)
    print("ready", flush=True)
    start = time.monotonic()
    slowed = False
    try:
        while (elapsed := time.monotonic() - start) < args.seconds:
            if args.slow_after is not None and not slowed and elapsed >= args.slow_after:
                rec.faults.slow("embedding", args.slow_latency)
                slowed = True
                print("slow", flush=True)
            try:
                rec.recommend(mix.next().text, 10)
            except HeritageError:
                pass
            time.sleep(0.01)
    finally:
        instrumentor.uninstrument()
        telemetry.shutdown()


if __name__ == "__main__":
    main()
