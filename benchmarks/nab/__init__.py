"""NAB (Numenta Anomaly Benchmark) scorer and runner: see :mod:`benchmarks.nab.run`."""
