"""The ``heritage-otel`` command line (click)."""
