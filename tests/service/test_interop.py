"""Real OTLP clients nobody here wrote, sending to a real `analyzer serve`: the Analyzer counts exactly what they sent.

* the OpenTelemetry JS SDK (``interop/js``, installed by ``scripts/deps/interop-js.sh``): two Node processes
  of one service without ``service.instance.id``, CUMULATIVE (the SDK default), a counter and an exponential
  histogram whose scale the SDK lowers as values spread; each process prints what it sent;
* ``telemetrygen`` (built by ``scripts/deps/telemetrygen.sh`` into ``bin/``): two processes without
  ``service.instance.id``, CUMULATIVE and DELTA sums and DELTA histograms, whose values follow its source.

Counters are read back as the sum of the series' interval values (``/api/points``), histograms as the
measured calls of the component table (``/api/components``): both are what the dashboard and the
detectors see.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from heritage_otel.stack.health import wait_healthy
from tests.helpers import BIN_DIR, REPO_ROOT, free_port, in_ci, require_binary

JS_DIR = REPO_ROOT / "interop" / "js"
TELEMETRYGEN_MODULE = REPO_ROOT / "interop" / "telemetrygen"


@pytest.fixture
def analyzer() -> Iterator[str]:
    """`heritage-otel analyzer serve` on a free port, 1 s intervals and 30 minutes kept (every point in a window)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cli = str(Path(sys.executable).with_name("heritage-otel"))
    proc = subprocess.Popen([cli, "analyzer", "serve", "--port", str(port), "--interval-seconds", "1",
                             "--retention-minutes", "30"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_healthy(f"{url}/healthz", timeout_s=60, still_running=lambda: proc.poll() is None)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _counted(url: str, metric: str) -> float:
    """The sum of every interval value of ``metric``'s series (what the Analyzer counted)."""
    found = requests.get(f"{url}/api/points", params={"metric": metric, "minutes": 60, "limit": 200}, timeout=10)
    return sum(sum(series["values"]) for series in found.json()["series"])


def _timed_calls(url: str, component: str) -> int:
    rows = requests.get(f"{url}/api/components", timeout=10).json()["components"]
    return next(row["timed_calls"] for row in rows if row["component"] == component)


def _run(args: list[str], cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def _require_js() -> str:
    node = require_binary("node", "Node.js 20 or newer (apt-get install nodejs)")
    if not (JS_DIR / "node_modules" / "@opentelemetry" / "sdk-metrics").is_dir():
        msg = "the OpenTelemetry JS SDK is not installed; install it with: bash scripts/deps/interop-js.sh"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    return node


def test_js_sdk_two_processes_without_instance_id_are_counted_exactly(analyzer: str) -> None:
    """Two Node processes, cumulative counter and exponential histogram (rescaled by the SDK): the Analyzer's
    totals are the sums of what the two printed, not multiples of them."""
    node = _require_js()
    endpoint = f"{analyzer}/v1/metrics"
    procs = []
    for seed in (7, 8):
        # 0.2 s apart, as replicas start: two processes of identical resources whose counters start in the same
        # instant cannot be told apart, and the service counts those points as ambiguous instead of adding them
        procs.append(_run([node, "send.mjs", endpoint, "15", str(seed)], cwd=JS_DIR))
        time.sleep(0.2)
    sent = [json.loads(_finish(p).strip().splitlines()[-1]) for p in procs]
    assert _counted(analyzer, "heritage.queries") == sum(s["counter"] for s in sent)
    assert _timed_calls(analyzer, "js-comp") == sum(s["histogram_count"] for s in sent)
    stats = requests.get(f"{analyzer}/api/stats", timeout=10).json()
    assert stats["limits"]["bucket_layouts"] > 2  # the exponential layouts did change between exports
    assert stats["data_points_rejected"] == 0


def _telemetrygen() -> str:
    return require_binary(BIN_DIR / "telemetrygen", "bash scripts/deps/telemetrygen.sh")


def _telemetrygen_args(url: str, metric: str, kind: str, temporality: str, n: int, *extra: str) -> list[str]:
    return [_telemetrygen(), "metrics", "--otlp-http", "--otlp-insecure", "--otlp-endpoint", url.removeprefix("http://"),
            "--metrics", str(n), "--rate", "0", "--batch-size", "10", "--metric-type", kind,
            "--aggregation-temporality", temporality, "--otlp-metric-name", metric, *extra]


def _histogram_counts_of_telemetrygen() -> list[int]:
    """The bucket totals telemetrygen cycles through, read from its source in the module cache (what it sends)."""
    version = re.search(r"cmd/telemetrygen (v\S+)", (TELEMETRYGEN_MODULE / "go.mod").read_text()).group(1)
    cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    source = (Path(cache) / "github.com" / "open-telemetry" / "opentelemetry-collector-contrib" / "cmd"
              / f"telemetrygen@{version}" / "pkg" / "metrics" / "worker.go").read_text()
    table = source[source.index("histogramBucketSamples"):]
    return [sum(int(c) for c in counts.split(",")) for counts in re.findall(r"\[\]uint64\{([^}]*)\}", table)[:10]]


def test_telemetrygen_two_processes_without_instance_id_are_counted_exactly(analyzer: str) -> None:
    """Cumulative sums of two telemetrygen processes add up (each sends 0, 1, ..., n-1 as its running total)."""
    n = (40, 55)
    procs = [_run(_telemetrygen_args(analyzer, "heritage.queries", "Sum", "cumulative", k)) for k in n]
    for p in procs:
        _finish(p)
    assert _counted(analyzer, "heritage.queries") == sum(k - 1 for k in n)
    stats = requests.get(f"{analyzer}/api/stats", timeout=10).json()
    assert stats["data_points_accepted"] == sum(n) and stats["limits"]["dropped"]["cumulative_ambiguous"] == 0


def test_telemetrygen_delta_sums_and_histograms_are_counted_exactly(analyzer: str) -> None:
    """Delta sums (point i is i) and delta histograms (telemetrygen's ten bucket samples, in turn) of two
    processes: the total and the measured calls are exactly what they sent."""
    n = 30
    component = ("--telemetry-attributes", 'heritage.component="tg-comp"')
    procs = [_run(_telemetrygen_args(analyzer, "heritage.errors.seen", "Sum", "delta", n)) for _ in range(2)]
    procs += [_run(_telemetrygen_args(analyzer, "heritage.component.duration", "Histogram", "delta", n, *component))
              for _ in range(2)]
    for p in procs:
        _finish(p)
    assert _counted(analyzer, "heritage.errors.seen") == 2 * sum(range(n))
    totals = _histogram_counts_of_telemetrygen()
    assert len(totals) == 10
    assert _timed_calls(analyzer, "tg-comp") == 2 * sum(totals[i % 10] for i in range(n))

