"""heritage_otel.private_files: state written and read in a private folder, never through a link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from heritage_otel.private_files import read_private, write_private


def test_a_file_is_replaced_whole_and_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    write_private(folder, "s.json", lambda h: h.write(b"one"))
    write_private(folder, "s.json", lambda h: h.write(b"two"))
    assert read_private(folder, "s.json", max_bytes=10) == b"two"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct((folder / "s.json").stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in folder.iterdir()) == ["s.json"]  # no temporary file left


def test_a_link_planted_at_the_name_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    (folder / "s.json").symlink_to(victim)
    with pytest.raises(OSError):
        read_private(folder, "s.json", max_bytes=100)  # a link is never read
    write_private(folder, "s.json", lambda h: h.write(b"data"))
    assert victim.read_text() == "precious"
    assert not (folder / "s.json").is_symlink()


def test_a_folder_others_may_write_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o770)
    with pytest.raises(PermissionError, match="the SLO folder .* others may write it"):
        write_private(folder, "s.json", lambda h: h.write(b"data"), what="the SLO folder")


def test_a_folder_that_is_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(OSError):
        write_private(tmp_path / "link", "s.json", lambda h: h.write(b"data"))
    assert list(real.iterdir()) == []


def test_a_file_over_the_bound_is_refused_and_a_missing_one_is_none(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    write_private(folder, "s.json", lambda h: h.write(b"x" * 100))
    with pytest.raises(ValueError, match="100 bytes"):
        read_private(folder, "s.json", max_bytes=10)
    assert read_private(folder, "absent.json", max_bytes=10) is None
    assert read_private(tmp_path / "no-folder", "s.json", max_bytes=10) is None
