"""Runnable examples shipped with heritage-otel (no telemetry code inside them)."""
