"""``heritage-otel example``: a fallback chain through a failure, printed as a span tree.

Runs entirely in process (the embedded default): the primary strategy
fails, the fallback answers, and the spans the chain produced are printed.

>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(example, ["--help"])
>>> result.exit_code, result.output.startswith("Usage:")
(0, True)
"""

from __future__ import annotations

import zlib

import click
from opentelemetry import trace
from rich.console import Console
from rich.tree import Tree

from heritage_otel import semconv
from heritage_otel.errors import HighSeverityError
from heritage_otel.fallback import FallbackChain
from heritage_otel.testing import capture_telemetry
from heritage_otel.testing.capture import SpanNode

_SHOWN_ATTRIBUTES = (
    semconv.FALLBACK_STRATEGY,
    semconv.FALLBACK_PRIORITY,
    semconv.FALLBACK_OUTCOME,
    semconv.FALLBACK_STRATEGY_USED,
    semconv.FALLBACK_ATTEMPTS,
    semconv.FALLBACK_DEGRADED,
    semconv.ERROR_TYPE,
)


def _label(node: SpanNode) -> str:
    span = node.span
    millis = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    attrs = span.attributes or {}
    shown = " ".join(f"{key.rsplit('.', 1)[-1]}={attrs[key]}" for key in _SHOWN_ATTRIBUTES if key in attrs)
    status = "[red]ERROR[/red]" if span.status.status_code.name == "ERROR" else "[green]ok[/green]"
    events = "".join(f"\n  [dim]event[/dim] {event.name}" for event in span.events)
    return f"[bold]{span.name}[/bold] {millis:.2f} ms {status} {shown}{events}"


def _add(tree: Tree, node: SpanNode) -> None:
    branch = tree.add(_label(node))
    for child in node.children:
        _add(branch, child)


@click.command()
@click.option("--query", default="temple architecture", show_default=True, help="Query passed to the strategies.")
def example(query: str) -> None:
    """Run a fallback chain whose primary strategy fails and print the span tree."""

    def primary_simrank(text: str) -> list[str]:
        raise HighSeverityError("SimRank graph is not loaded", component="simrank")

    def fallback_horn(text: str) -> list[str]:
        return [f"doc-{zlib.crc32(word.encode()) % 1000:03d}" for word in text.split()]

    def basic_embedding(text: str) -> list[str]:
        return ["doc-000"]

    console = Console()
    with capture_telemetry(service_name="heritage-otel-example") as captured:
        chain = FallbackChain("ranking_chain", result_check=bool)
        chain.add_strategy("primary_simrank", primary_simrank, priority=3)
        chain.add_strategy("fallback_horn", fallback_horn, priority=2)
        chain.add_strategy("basic_embedding", basic_embedding, priority=1)
        with trace.get_tracer("heritage_otel.example").start_as_current_span(semconv.SPAN_RECOMMEND):
            result, used = chain.execute(query)
        console.print(f"answered by [bold]{used}[/bold]: {result}")
        for root in captured.span_tree():
            tree = Tree(_label(root))
            for child in root.children:
                _add(tree, child)
            console.print(tree)
