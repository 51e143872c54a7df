"""The extras split: application code runs on the core dependencies alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib

from tests.helpers import REPO_ROOT

#: What the core install must not need: the analysis, service, grpc and testing extras' packages.
NOT_IN_CORE = ("numpy", "scipy", "click", "rich", "yaml", "requests", "grpc", "pytest", "psutil")

_APP = textwrap.dedent("""
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {blocked!r}:
                raise ImportError(f"{{name}} is not installed (core only)")
            return None

    sys.meta_path.insert(0, Block())

    import heritage_otel
    from heritage_otel.errors import HighSeverityError
    from heritage_otel.fallback import FallbackChain
    from heritage_otel.handler import ErrorHandler
    from heritage_otel.validation import InputValidator
    from heritage_otel.logs import PerformanceLogger, QueryLogger, SystemLogger
    from heritage_otel.instrumentation import RecommenderInstrumentor, RecommenderTargets
    import heritage_otel.traces.render

    telemetry = heritage_otel.configure(service_name="core-only")
    def primary():
        raise HighSeverityError("down")
    chain = FallbackChain("c").add_strategy("a", primary, priority=2).add_strategy("b", lambda: 1, priority=1)
    assert chain.execute() == (1, "b")
    perf = PerformanceLogger(log_dir="logs")
    for _ in range(3):
        with perf.time_operation("op"):
            pass
    assert set(perf.get_percentiles("op")) == {{"p50", "p95", "p99"}}
    RecommenderInstrumentor().instrument(targets=RecommenderTargets(entry_point="app:Rec.search"))
    try:
        heritage_otel.configure(protocol="grpc", endpoint="http://127.0.0.1:4317")
    except heritage_otel.ConfigurationError as exc:
        assert "heritage-otel[grpc]" in str(exc)
    else:
        raise AssertionError("grpc without its extra must fail at start-up")
    print("names", sorted(spans.name for spans in telemetry.span_store.spans()))
    print("loaded", sorted({{m.split(".")[0] for m in sys.modules}} & set({blocked!r})))
""")


def test_application_code_needs_only_the_core_dependencies(tmp_path) -> None:
    """With the extras' packages unimportable, the application-facing API, configure() and the instrumentor work."""
    code = _APP.format(blocked=NOT_IN_CORE)
    (tmp_path / "app.py").write_text("class Rec:\n    def search(self, text, k=3):\n        return []\n")  # not imported
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         check=False, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "names ['heritage.fallback.attempt', 'heritage.fallback.attempt', 'heritage.fallback_chain', 'op', 'op', 'op']" in out.stdout
    assert "loaded []" in out.stdout


def test_core_dependencies_leave_the_heavy_packages_to_extras() -> None:
    """pyproject: the core names none of the extras' packages; `all` gathers every extra but dev."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    for heavy in ("numpy", "scipy", "click", "rich", "grpc", "pytest", "requests", "pyyaml"):
        assert heavy not in core
    extras = project["optional-dependencies"]
    assert extras["all"] == ["heritage-otel[grpc,analysis,service,testing]"]
    assert "heritage-otel[all]" in extras["dev"] and any(d.startswith("pytest>=") for d in extras["testing"])


def _setup_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("heritage_setup", REPO_ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # setup() itself runs only as __main__
    return module


def test_the_dashboards_third_party_code_comes_from_the_install_not_the_repository() -> None:
    """uPlot is installed with the package (pinned SHA-256) and not tracked by git."""
    import hashlib
    import importlib.resources

    vendor = importlib.resources.files("heritage_otel") / "service" / "static" / "vendor"
    for name, digest in _setup_module().UPLOT_FILES.values():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    tracked = subprocess.run(["git", "ls-files", "heritage_otel/service/static/vendor"], cwd=REPO_ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked == []


def test_a_tarball_that_does_not_match_the_registry_integrity_is_refused(tmp_path, monkeypatch) -> None:
    """The build hook checks the registry's SHA-512 before extracting anything."""
    import io
    import tarfile

    fake = io.BytesIO()
    with tarfile.open(fileobj=fake, mode="w:gz") as archive:
        data = b"alert('not uPlot')"
        info = tarfile.TarInfo("package/dist/uPlot.iife.min.js")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    tarball = tmp_path / "uplot-1.6.32.tgz"
    tarball.write_bytes(fake.getvalue())
    monkeypatch.setenv("HERITAGE_OTEL_UPLOT_TARBALL", str(tarball))
    import pytest

    with pytest.raises(SystemExit, match="does not match the registry's integrity"):
        _setup_module().fetch_uplot(tmp_path / "vendor")
    assert not (tmp_path / "vendor").exists()
