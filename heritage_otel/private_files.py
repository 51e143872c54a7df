"""Files in a private folder, written and read without following links: the service's state on disk.

A folder is private when it is this user's and nobody else may write it (it is
created ``0700``). A file is written to a new temporary name opened with
``O_CREAT | O_EXCL | O_NOFOLLOW`` (mode ``0600``) through the folder's handle,
synced, then renamed over the old one, so a link planted at either name is
never followed and a reader sees the old file or the new one, never half.
Reading opens the file through the same checks and refuses anything that is
not a regular private file, or is larger than asked.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "state"
>>> write_private(folder, "state.json", lambda handle: handle.write(b'{"n": 1}'))
>>> read_private(folder, "state.json", max_bytes=1024)
b'{"n": 1}'
>>> read_private(folder, "missing.json", max_bytes=1024) is None
True
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Final

__all__ = ["check_private", "open_private_folder", "read_private", "write_private"]

_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS: Final = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW


def check_private(fd: int, what: str) -> None:
    """PermissionError unless ``fd`` is this user's and nobody else may write it."""
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        msg = f"{what} is not owned by this user or others may write it"
        raise PermissionError(msg)


def open_private_folder(folder: Path, *, create: bool, what: str = "the folder") -> int:
    """``folder`` opened once (never through a link), checked private; created ``0700`` when asked
    (``what`` names it in the error)."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
    fd = os.open(folder, _DIR_FLAGS)
    try:
        check_private(fd, f"{what} {folder}")
    except OSError:
        os.close(fd)
        raise
    return fd


def write_private(folder: Path, name: str, write: Callable[[IO[bytes]], object], *, what: str = "the folder") -> None:
    """Replace ``folder/name`` atomically with what ``write`` writes to the handle it is given (OSError on failure)."""
    dir_fd = open_private_folder(folder, create=True, what=what)
    try:
        tmp = f".{name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_private(folder: Path, name: str, *, max_bytes: int, what: str = "the folder") -> bytes | None:
    """The bytes of ``folder/name`` (a private regular file of at most ``max_bytes``); None when it is absent."""
    try:
        dir_fd = open_private_folder(folder, create=False, what=what)
    except FileNotFoundError:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise PermissionError(f"{name} is not a regular file")
        check_private(handle.fileno(), name)
        if info.st_size > max_bytes:
            raise ValueError(f"{name} is {info.st_size} bytes (at most {max_bytes} are read)")
        return handle.read()
