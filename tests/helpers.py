"""Helpers shared by the test suite: free loopback ports and required binaries."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = REPO_ROOT / "bin"


def in_ci() -> bool:
    """True when running under CI (``CI=true``), where missing dependencies must fail."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_binary(name_or_path: str | os.PathLike[str], hint: str) -> str:
    """Return the path of a required binary, failing in CI and skipping elsewhere if absent.

    ``hint`` says how to get it (for example ``bash scripts/deps/collector.sh``).
    """
    candidate = Path(name_or_path)
    found = str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else shutil.which(str(name_or_path))
    if found:
        return found
    msg = f"required binary {name_or_path!s} not found; install it with: {hint}"
    if in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
