"""Build hook: the dashboard's third-party JavaScript comes from its registry package at install time.

The repository keeps no copy of uPlot. ``build_py`` (run by ``pip install``,
editable or not) puts ``uPlot.iife.min.js``, ``uPlot.min.css`` and the
licence into ``heritage_otel/service/static/vendor/`` from the npm registry's
tarball of the pinned version, checked against the registry's published
integrity (SHA-512) before anything is extracted; no npm is needed. Files
already there with the expected SHA-256 are kept (no download). Offline:
point ``HERITAGE_OTEL_UPLOT_TARBALL`` at the tarball (``npm pack uplot@1.6.32``);
without either, the install goes on with a warning (the application core
does not need the dashboard) and the dashboard says what is missing.
Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

UPLOT_VERSION = "1.6.32"
UPLOT_TARBALL = f"https://registry.npmjs.org/uplot/-/uplot-{UPLOT_VERSION}.tgz"
#: ``dist.integrity`` of uplot@1.6.32 in the npm registry.
UPLOT_INTEGRITY = "sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=="
#: file in the package -> (file written, its SHA-256)
UPLOT_FILES = {
    "package/dist/uPlot.iife.min.js": ("uPlot.iife.min.js", "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f"),
    "package/dist/uPlot.min.css": ("uPlot.min.css", "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04"),
    "package/LICENSE": ("uPlot.LICENSE.txt", "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd"),
}
VENDOR_DIR = Path(__file__).resolve().parent / "heritage_otel" / "service" / "static" / "vendor"
ENV_TARBALL = "HERITAGE_OTEL_UPLOT_TARBALL"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _present(vendor: Path) -> bool:
    return all((vendor / name).is_file() and _sha256((vendor / name).read_bytes()) == digest
               for name, digest in UPLOT_FILES.values())


def _tarball() -> bytes | None:
    local = os.environ.get(ENV_TARBALL, "").strip()
    if local:
        return Path(local).read_bytes()
    try:
        with urllib.request.urlopen(UPLOT_TARBALL, timeout=60) as response:  # noqa: S310 - a pinned https URL
            return response.read()
    except OSError as exc:  # the application core does not need the dashboard: install without it, loudly
        sys.stderr.write(
            f"WARNING: could not download {UPLOT_TARBALL} ({exc}); the Analyzer dashboard will have no charts. "
            f"Without network: `npm pack uplot@{UPLOT_VERSION}` elsewhere, set {ENV_TARBALL} to the .tgz "
            "and install again.\n")
        return None


def fetch_uplot(vendor: Path = VENDOR_DIR) -> None:
    """Put uPlot's files into ``vendor`` from the registry tarball, verified; nothing when already there.

    A tarball that does not match the registry's integrity stops the build; an
    unreachable registry only warns (the dashboard then says what is missing).
    """
    if _present(vendor):
        return
    data = _tarball()
    if data is None:
        return
    algorithm, _, expected = UPLOT_INTEGRITY.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        msg = f"uplot-{UPLOT_VERSION}.tgz does not match the registry's integrity {UPLOT_INTEGRITY}; refused"
        raise SystemExit(msg)
    vendor.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member, (name, digest) in UPLOT_FILES.items():
            extracted = archive.extractfile(member)
            content = extracted.read() if extracted is not None else b""
            if _sha256(content) != digest:
                msg = f"{member} in uplot-{UPLOT_VERSION}.tgz has an unexpected SHA-256; refused"
                raise SystemExit(msg)
            (vendor / name).write_bytes(content)


class BuildPyWithAssets(build_py):
    """``build_py`` that first fetches the dashboard's third-party assets."""

    def run(self) -> None:
        fetch_uplot()
        super().run()


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import fetch_uplot
    setup(cmdclass={"build_py": BuildPyWithAssets})
