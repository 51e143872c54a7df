"""Memory of the seed-compatible monitoring facade against the seed's figures.

Two measurements, each in a fresh Python process so nothing imported before
counts:

* **import + initialize_monitoring()**: peak RSS (``ru_maxrss``) before
  ``from heritage_otel.monitoring import initialize_monitoring`` and after
  ``initialize_monitoring(start_background=True)`` plus 1,000 ``record_query``
  calls and one evaluation. The seed promised "< 50 MB total".
* **stored points**: ``tracemalloc`` growth and the store's own byte count for
  100,000 ``metrics.record_metric`` points over 10 metrics, per 1,000 points.
  The seed promised "~10 KB per 1,000 data points".

Run::

    .venv/bin/python benchmarks/bench_facade_memory.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

SEED_TOTAL_MB = 50.0
SEED_KB_PER_1000 = 10.0

_IMPORT = textwrap.dedent("""
    import json, resource, sys
    def rss_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    before = rss_mib()
    from heritage_otel.monitoring import initialize_monitoring, shutdown_monitoring
    monitor = initialize_monitoring(config={"alert_log_path": None}, start_background=True)
    for i in range(1000):
        monitor.record_query(f"q{i}", latency_ms=100 + i % 50, num_results=10, ndcg=0.8,
                             components_used=["simrank", "horn_index"])
    monitor.flush()
    after = rss_mib()
    scipy = sorted(m for m in sys.modules if m.split(".")[0] == "scipy")
    shutdown_monitoring()
    print(json.dumps({"before_mib": before, "after_mib": after, "scipy_modules": len(scipy)}))
""")

_POINTS = textwrap.dedent("""
    import json, tracemalloc
    from heritage_otel.monitoring import initialize_monitoring
    monitor = initialize_monitoring(config={"alert_log_path": None, "reservoir_size": 10_000,
                                            "system_metrics": False}, start_background=False)
    names = [f"metric_{i}" for i in range(10)]
    for name in names:  # instruments and first allocations outside the measurement
        monitor.metrics.record_metric(name, 0.0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(100_000):
        monitor.metrics.record_metric(names[i % 10], float(i))
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(json.dumps({"points": 100_000, "traced_bytes": grown, "store_bytes": monitor.metrics.nbytes()}))
""")


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args(argv)
    imported = _run(_IMPORT)
    points = _run(_POINTS)
    added = imported["after_mib"] - imported["before_mib"]
    per_1000_traced = points["traced_bytes"] / points["points"] * 1000 / 1024
    per_1000_store = points["store_bytes"] / points["points"] * 1000 / 1024
    print("Seed-compatible facade memory (fresh processes)")
    print(f"{'what':<58} {'measured':>12} {'seed':>10}")
    print(f"{'import + initialize_monitoring() + 1,000 queries, added RSS':<58} {added:>9.1f} MiB {'':>10}")
    print(f"{'  process total':<58} {imported['after_mib']:>9.1f} MiB {SEED_TOTAL_MB:>7.0f} MB")
    print(f"{'  scipy modules imported':<58} {imported['scipy_modules']:>12d}")
    print(f"{'stored points, per 1,000 (tracemalloc growth)':<58} {per_1000_traced:>9.1f} KiB {SEED_KB_PER_1000:>7.0f} KB")
    print(f"{'stored points, per 1,000 (the store arrays)':<58} {per_1000_store:>9.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
