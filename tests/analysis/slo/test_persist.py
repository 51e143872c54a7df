"""SloStateFile: the budgets' counts saved in the private checkpoint folder and restored, never through a link."""

from __future__ import annotations

from pathlib import Path

from heritage_otel.analysis.slo import SloTracker
from heritage_otel.analysis.slo.files import EXAMPLE_FILE, load_objectives
from heritage_otel.analysis.slo.persist import STATE_FILE, SloStateFile


def _store(folder: Path) -> SloStateFile:
    return SloStateFile(SloTracker(load_objectives([EXAMPLE_FILE])), folder)


def test_saved_counts_are_restored_by_a_new_process_state(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    assert _store(folder).save() == folder / STATE_FILE
    assert _store(folder).restore() == ["availability", "latency", "quality", "fallback-rate"]


def test_a_link_planted_at_the_state_file_is_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    folder = tmp_path / "ckpt"
    folder.mkdir(mode=0o700)
    (folder / STATE_FILE).symlink_to(victim)
    assert _store(folder).restore() == []  # a link is not read
    assert _store(folder).save() == folder / STATE_FILE
    assert victim.read_text() == "precious"
    assert not (folder / STATE_FILE).is_symlink()


def test_a_folder_others_may_write_is_neither_written_nor_read(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    assert _store(folder).save() is not None
    folder.chmod(0o777)
    assert _store(folder).save() is None
    assert _store(folder).restore() == []
