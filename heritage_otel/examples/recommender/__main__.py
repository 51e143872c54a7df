"""Run the reference recommender on a few judged queries and print the answers (no telemetry code).

For trying auto-instrumentation without writing an app::

    OTEL_SERVICE_NAME=recommender OTEL_TRACES_EXPORTER=console \\
    OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \\
        opentelemetry-instrument python -m heritage_otel.examples.recommender --queries 3 --fail simrank
"""

from __future__ import annotations

import argparse

from heritage_otel.examples.recommender import HeritageRecommender, QueryMix


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, run the queries, print one line per query."""
    parser = argparse.ArgumentParser(prog="python -m heritage_otel.examples.recommender", description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=5, help="how many queries to run (default 5)")
    parser.add_argument("--top-k", type=int, default=5, help="results per query (default 5)")
    parser.add_argument("--seed", type=int, default=7, help="corpus and query-mix seed (default 7)")
    parser.add_argument("--fail", action="append", default=[], choices=["simrank", "horn_index", "embedding"],
                        help="make a component raise (repeatable), to see the fallback chain at work")
    args = parser.parse_args(argv)
    rec = HeritageRecommender(seed=args.seed)
    for component in args.fail:
        rec.faults.fail(component)
    mix = QueryMix(rec.corpus, rec.faults, seed=args.seed)
    for _ in range(args.queries):
        query = mix.next()
        results = rec.recommend(query.text, args.top_k)
        quality = rec.evaluate(query.text, results)
        top = results[0]["title"] if results else "-"
        print(f"{query.query_id}  {len(results)} results  NDCG@10 {quality.get('ndcg_at_10', 0):.3f}  top: {top}")


if __name__ == "__main__":
    main()
