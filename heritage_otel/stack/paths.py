"""Where the stack's files live: the repository, its binaries and configs, and the state folder.

The Collector and Jaeger configs and build scripts live in the repository
(``collector/``, ``jaeger/``, ``scripts/deps/``), so the stack runs from a
checkout. The repository is found from ``$HERITAGE_OTEL_HOME``, else from the
current directory upwards, else from this package's location (an editable
install).

>>> from heritage_otel.stack.paths import default_state_dir
>>> default_state_dir({"HERITAGE_OTEL_STATE_DIR": "/tmp/s"}).as_posix()
'/tmp/s'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from heritage_otel import environment_variables as env_vars

__all__ = ["STATE_DIR_ENV", "HOME_ENV", "default_state_dir", "find_repo_root"]

STATE_DIR_ENV = env_vars.HERITAGE_OTEL_STATE_DIR
HOME_ENV = env_vars.HERITAGE_OTEL_HOME
_MARKER = Path("collector") / "config.yaml"


def _is_repo(path: Path) -> bool:
    return (path / _MARKER).is_file() and (path / "jaeger" / "config.yaml").is_file()


def find_repo_root(environ: Mapping[str, str] | None = None) -> Path:
    """The heritage-otel checkout holding ``collector/`` and ``jaeger/``.

    Raises ``FileNotFoundError`` naming what was searched when none is found.
    """
    env = os.environ if environ is None else environ
    if env.get(HOME_ENV):
        home = Path(env[HOME_ENV]).expanduser().resolve()
        if _is_repo(home):
            return home
        msg = f"{HOME_ENV} = {str(home)!r} is not valid; expected a heritage-otel checkout with {_MARKER}"
        raise FileNotFoundError(msg)
    candidates = [Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents]
    for candidate in candidates:
        if _is_repo(candidate):
            return candidate
    msg = (
        f"no heritage-otel checkout found (looked for {_MARKER} from {Path.cwd()} upwards and next to the "
        f"installed package); run from a clone of the repository or set {HOME_ENV}"
    )
    raise FileNotFoundError(msg)


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$HERITAGE_OTEL_STATE_DIR``, else ``./.state/stack``."""
    env = os.environ if environ is None else environ
    value = env.get(STATE_DIR_ENV)
    return Path(value) if value else Path(".state") / "stack"
