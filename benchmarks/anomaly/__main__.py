"""``python -m benchmarks.anomaly``: the labelled detector benchmark (see :mod:`benchmarks.anomaly.run`)."""

from benchmarks.anomaly.run import main

main()
