"""Settings of the Analyzer service: one frozen dataclass, defaults named once, validated at construction.

Every limit on what a request can make the service hold is a field declared
with :func:`_limit` (default, valid range, one line of help); the CLI turns
each into a ``--flag`` and ``/api/stats`` shows them, so a limit is defined
here once. The bearer token comes from the argument or the
``HERITAGE_OTEL_ANALYZER_TOKEN`` environment variable (see
:meth:`ServiceConfig.resolve_token`); a blank or unusable one from either
source refuses to start, and it is kept out of ``repr``.

>>> cfg = ServiceConfig()
>>> cfg.host, cfg.port, cfg.max_request_bytes
('127.0.0.1', 4328, 67108864)
>>> ServiceConfig(port=70000)
Traceback (most recent call last):
...
ValueError: port = 70000 is not valid; expected an integer in [0, 65535] (0 picks a free port)
>>> ServiceConfig(max_histogram_buckets=10**9)
Traceback (most recent call last):
...
ValueError: max_histogram_buckets = 1000000000 is not valid; expected an integer in [1, 10000] (buckets per histogram point; points with more are dropped)
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from heritage_otel import environment_variables as env_vars
from heritage_otel.checks import check_int, check_number
from heritage_otel.analysis.sinks._http import check_url
from heritage_otel.service.payload import DEFAULT_MAX_ITEMS
from heritage_otel.secrets import public_url

__all__ = [
    "range_text",
    "ServiceConfig", "ENV_TOKEN", "DEFAULT_PORT", "DEFAULT_MAX_REQUEST_BYTES", "LIMIT_FIELDS", "check_token",
    "check_range", "check_writable_file",
]

#: Environment variable holding the optional bearer token.
ENV_TOKEN: Final = env_vars.HERITAGE_OTEL_ANALYZER_TOKEN
#: Default port: next to the Collector's 4317/4318, not clashing with them.
DEFAULT_PORT: Final = 4328
#: 64 MiB: the default limit the OTLP/HTTP specification RECOMMENDS for a request body, after decompression too
#: (opentelemetry-proto docs/specification.md, "OTLP/HTTP Request"; 413 beyond, which clients must not retry).
DEFAULT_MAX_REQUEST_BYTES: Final = 64 * 1024 * 1024
_LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "::1")


def _limit(default: int | float, lo: int | float, hi: int | float, help: str) -> Any:  # noqa: A002 - click's word
    """A limit field: its default, its valid range (ints stay ints) and one line of help (CLI, docs, errors)."""
    return field(default=default, metadata={"limit": True, "lo": lo, "hi": hi, "help": help})


def _shown(value: int | float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def range_text(lo: int | float, hi: int | float) -> str:
    """``lo..hi`` as shown in messages and ``--help``.

    >>> range_text(1024, 256 << 20), range_text(0.1, 600.0)
    ('1024..268435456', '0.1..600')
    """
    return f"{_shown(lo)}..{_shown(hi)}"


def check_range(name: str, value: Any, lo: int | float, hi: int | float, what: str) -> None:
    """ValueError naming ``name``, the value and the range unless ``lo <= value <= hi`` (integers when both are).

    The wording is :mod:`heritage_otel.checks`' (one rule for every setting):

    >>> check_range("cooldown_seconds", float("inf"), 0.0, 604800.0, "alert dedup period")
    Traceback (most recent call last):
    ...
    ValueError: cooldown_seconds = inf is not valid; expected a number in [0, 604800] (alert dedup period)
    """
    if isinstance(lo, int) and isinstance(hi, int):
        check_int(name, value, minimum=lo, maximum=hi, what=what)
    else:
        check_number(name, value, minimum=lo, maximum=hi, what=what)


def check_token(token: Any, source: str) -> str:
    """A usable bearer token (printable ASCII, no spaces, not blank) or ValueError naming ``source``.

    The value is never shown. HTTP clients send header values as ASCII, so a
    token outside it could never match and would leave the service unusable.

    >>> check_token("s3cret", "--token")
    's3cret'
    >>> check_token("   ", "HERITAGE_OTEL_ANALYZER_TOKEN")
    Traceback (most recent call last):
    ...
    ValueError: HERITAGE_OTEL_ANALYZER_TOKEN is not a usable token (the value is not shown): it is blank; expected printable ASCII without spaces, or leave it unset for no authentication
    """
    if not isinstance(token, str) or not token.strip():
        why = "it is blank"
    elif not all(0x21 <= ord(c) <= 0x7E for c in token):
        why = "it holds spaces, control or non-ASCII characters"
    else:
        return token
    msg = (f"{source} is not a usable token (the value is not shown): {why}; "
           "expected printable ASCII without spaces, or leave it unset for no authentication")
    raise ValueError(msg)


def check_writable_file(name: str, path: str | os.PathLike[str]) -> Path:
    """A file path the service may append to: not a symlink, not a directory, in an existing writable folder.

    >>> check_writable_file("--alerts-file", "/proc/no/such/dir/alerts.jsonl")
    Traceback (most recent call last):
    ...
    ValueError: --alerts-file = '/proc/no/such/dir/alerts.jsonl' is not valid; its folder does not exist (expected a writable file path that is not a symlink)
    """
    target = Path(path)
    problem = None
    if target.is_symlink():
        problem = "it is a symlink (refused: writes would go elsewhere)"
    elif target.exists() and not target.is_file():
        problem = "it exists and is not a regular file"
    elif target.exists() and not os.access(target, os.W_OK):
        problem = "it is not writable"
    elif not target.parent.is_dir():
        problem = "its folder does not exist"
    elif not target.exists() and not os.access(target.parent, os.W_OK | os.X_OK):
        problem = "its folder is not writable"
    if problem is not None:
        msg = f"{name} = {str(path)!r} is not valid; {problem} (expected a writable file path that is not a symlink)"
        raise ValueError(msg)
    return target


@dataclass(frozen=True)
class ServiceConfig:
    """Network, limits and presentation settings (the detectors are configured by ``AnalyzerConfig``).

    ``host`` is the interface to bind; requests must name it (or ``localhost``
    for a loopback bind, or one of ``allowed_hosts``) in their ``Host`` header,
    which stops DNS rebinding against a dashboard on loopback.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = field(default=None, repr=False)
    allowed_hosts: tuple[str, ...] = ()
    jaeger_url: str | None = None
    alert_history_hours: float = 24.0
    evaluate_every_s: float = 1.0
    fleet_aggregates: bool = True
    refresh_seconds: int = 30
    #: Accept OTLP writes (``POST /v1/...``); False serves the dashboard and API only (403 to writes).
    ingest: bool = True
    # --- limits: what one request (or all of them) can make the service hold ---------------------
    max_request_bytes: int = _limit(DEFAULT_MAX_REQUEST_BYTES, 1024, 256 << 20,
                                    "largest request body in bytes, on the wire and after gzip (413 beyond)")
    max_request_items: int = _limit(
        DEFAULT_MAX_ITEMS, 1000, 100_000_000,
        "messages (protobuf) or values (JSON) decoded from one request, counted before decoding (413 beyond)")
    max_connections: int = _limit(
        256, 1, 10_000, "open connections; beyond, the longest-idle one is closed (or the new one if none is idle)")
    max_connections_per_client: int = _limit(
        128, 1, 10_000, "open connections of one client address; beyond, its longest-idle one is closed")
    max_concurrent_requests: int = _limit(
        64, 1, 10_000,
        "requests in progress (as many again for addresses with none); further ones get 503 (not health checks)")
    max_requests_per_client: int = _limit(
        32, 1, 10_000, "requests in progress from one client address; further ones get 503")
    max_concurrent_ingest: int = _limit(4, 1, 256, "OTLP bodies decoded and ingested at once; others wait")
    max_buffered_bytes: int = _limit(
        80 << 20, 1024, 16 << 30, "request body bytes held by all requests together (503 beyond); >= max_request_bytes")
    max_header_bytes: int = _limit(16384, 1024, 1 << 20, "request line and headers in bytes (400 beyond)")
    header_timeout_s: float = _limit(10.0, 0.1, 600.0, "seconds for a request's headers to arrive")
    request_timeout_s: float = _limit(
        20.0, 0.1, 3600.0, "seconds for a whole request body to arrive (503 with Retry-After beyond)")
    keep_alive_timeout_s: float = _limit(5.0, 0.1, 3600.0, "seconds an idle keep-alive connection stays open")
    write_timeout_s: float = _limit(
        10.0, 0.1, 3600.0, "seconds a client may leave our answers unread before its connection is closed")
    max_histogram_buckets: int = _limit(
        320, 1, 10_000, "buckets per histogram point; points with more are dropped")
    max_bucket_layouts: int = _limit(
        256, 1, 100_000, "distinct histogram bound sets per service.name (16x in all); points of a new one beyond: dropped")
    max_attributes_per_point: int = _limit(
        128, 1, 10_000, "attributes per data point or log record; ones with more are dropped")
    max_attribute_value_length: int = _limit(
        1024, 16, 1 << 20, "characters of an attribute key or value (array: elements); longer ones are cut")
    max_series: int = _limit(20_000, 1, 10_000_000, "distinct per-replica series admitted; new ones beyond are dropped")
    max_series_per_service: int = _limit(
        10_000, 1, 10_000_000, "distinct series of one service.name; new ones beyond are dropped")
    max_series_per_replica: int = _limit(
        2_000, 1, 10_000_000, "distinct series of one replica (service.instance.id); new ones beyond are dropped")
    query_store_size: int = _limit(1000, 1, 1_000_000, "recent query records kept")
    query_store_bytes: int = _limit(8 << 20, 1024, 1 << 30, "bytes of recent query records kept (oldest evicted)")
    max_future_s: float = _limit(300.0, 0.0, 86_400.0, "seconds a point's time may lie ahead of this clock")
    max_age_s: float = _limit(86_400.0, 1.0, 30 * 86_400.0, "seconds a point's time may lie behind this clock")
    # --- the resource budget: what all requests together can make the service keep (docs/fleet-mode.md) -------
    series_idle_s: float = _limit(
        300.0, 1.0, 30 * 86_400.0, "seconds without a point after which a series may be evicted for a new one")
    max_points_per_series_per_request: int = _limit(
        100, 1, 1_000_000, "points of one series in one request; the rest of them are dropped")
    max_series_key_bytes: int = _limit(
        2048, 64, 1 << 20, "characters of a series' name, attributes and resource labels; points of larger are dropped")
    max_services: int = _limit(2_000, 1, 1_000_000, "distinct service.name values listed; further ones are not")
    max_bucket_cells: int = _limit(
        500_000, 1_000, 100_000_000, "histogram buckets over all series kept for drift (PSI, KS); beyond: none")
    max_component_bytes: int = _limit(
        64 << 20, 1 << 16, 16 << 30, "bytes of per-interval component statistics kept (the Components page)")
    max_delta_windows: int = _limit(
        8, 1, 1_000, "recent (start, end) windows remembered per DELTA series, so a retried export is not counted twice")

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            msg = f"host = {self.host!r} is not valid; expected an interface address such as 127.0.0.1"
            raise ValueError(msg)
        check_range("port", self.port, 0, 65535, "0 picks a free port")
        check_range("refresh_seconds", self.refresh_seconds, 1, 3600, "dashboard auto-refresh period")
        check_range("alert_history_hours", self.alert_history_hours, 0.001, 24.0 * 365, "hours of alert history")
        check_range("evaluate_every_s", self.evaluate_every_s, 0.01, 3600.0, "seconds between evaluations")
        for f in LIMIT_FIELDS:
            check_range(f.name, getattr(self, f.name), f.metadata["lo"], f.metadata["hi"], f.metadata["help"])
        if self.max_buffered_bytes < self.max_request_bytes:
            msg = (f"max_buffered_bytes = {self.max_buffered_bytes} is not valid; expected >= max_request_bytes "
                   f"({self.max_request_bytes}), or no request of the largest size could be held")
            raise ValueError(msg)
        if self.token is not None:
            check_token(self.token, "token")
        if not isinstance(self.ingest, bool):
            msg = f"ingest = {self.ingest!r} is not valid; expected True or False"
            raise ValueError(msg)
        if not isinstance(self.allowed_hosts, tuple) or not all(
                isinstance(h, str) and h.strip() and "/" not in h for h in self.allowed_hosts):
            msg = f"allowed_hosts = {self.allowed_hosts!r} is not valid; expected a tuple of host names such as ('analyzer.internal',)"
            raise ValueError(msg)
        if self.jaeger_url is not None:
            check_url("jaeger_url", self.jaeger_url)

    @classmethod
    def resolve_token(cls, token: str | None, token_file: str | os.PathLike[str] | None = None) -> str | None:
        """The argument, else the first line of ``token_file``, else ``HERITAGE_OTEL_ANALYZER_TOKEN``, else None.

        A token given but blank or unusable, from any source, is a ValueError
        (fail closed); so is a file that cannot be read, or both a token and a file.

        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".token") as f:
        ...     _ = f.write("s3cret" + chr(10)); f.flush()
        ...     ServiceConfig.resolve_token(None, f.name)
        's3cret'
        """
        if token is not None and token_file is not None:
            msg = "--token and --token-file are both given; keep one (--token-file: the token stays out of ps)"
            raise ValueError(msg)
        if token is not None:
            return check_token(token, "--token")
        if token_file is not None:
            try:
                text = Path(token_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                msg = f"--token-file = {str(token_file)!r} is not valid; cannot read it ({exc.__class__.__name__})"
                raise ValueError(msg) from None
            return check_token(text.strip("\r\n"), f"--token-file {token_file}")
        from_env = os.environ.get(ENV_TOKEN)
        if from_env is None:
            return None
        return check_token(from_env, ENV_TOKEN)

    def host_names(self) -> frozenset[str]:
        """Lower-case names a request's ``Host`` header may carry (without port).

        >>> sorted(ServiceConfig(allowed_hosts=("Analyzer.internal",)).host_names())
        ['127.0.0.1', '::1', 'analyzer.internal', 'localhost']
        >>> sorted(ServiceConfig(host="localhost").host_names())
        ['127.0.0.1', '::1', 'localhost']
        >>> sorted(ServiceConfig(host="10.0.0.5").host_names())
        ['10.0.0.5']
        """
        names = {self.host.strip().lower().strip("[]"), *(h.strip().lower() for h in self.allowed_hosts)}
        try:
            address = ipaddress.ip_address(self.host.strip("[]"))
        except ValueError:
            address = None
        if self.host.strip().lower() == "localhost" or (
                address is not None and (address.is_loopback or address.is_unspecified)):
            names.update(_LOOPBACK_NAMES)
        if address is not None and address.is_unspecified:
            names.discard(self.host.strip().lower().strip("[]"))
            names.add(socket.gethostname().lower())
        return frozenset(names)

    def limits(self) -> dict[str, int | float]:
        """Every limit setting and its value (served by ``/api/stats``)."""
        return {f.name: getattr(self, f.name) for f in LIMIT_FIELDS}

    @property
    def public_jaeger_url(self) -> str | None:
        """``jaeger_url`` as it may be shown or linked: without ``user:password@`` and with secrets masked.

        >>> ServiceConfig(jaeger_url="https://ops:pw@jaeger.example/?token=x").public_jaeger_url
        'https://jaeger.example/?token=***'
        """
        return public_url(self.jaeger_url) if self.jaeger_url else None

    def trace_url(self, trace_id: str) -> str | None:
        """Link to one trace in Jaeger's UI (credentials never included), or None without a Jaeger URL.

        >>> ServiceConfig(jaeger_url="http://127.0.0.1:16686/").trace_url("ab" * 16)
        'http://127.0.0.1:16686/trace/abababababababababababababababab'
        """
        base = self.public_jaeger_url
        if not base or not trace_id:
            return None
        return f"{base.rstrip('/')}/trace/{trace_id}"


#: The limit fields of :class:`ServiceConfig`, in declaration order.
LIMIT_FIELDS: Final = tuple(f for f in dataclasses.fields(ServiceConfig) if f.metadata.get("limit"))
