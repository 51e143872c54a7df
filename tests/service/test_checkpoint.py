"""Checkpoint/restore of the Analyzer service: learned state survives a restart; bad checkpoints are ignored."""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from heritage_otel import semconv
from heritage_otel.analysis import AlertManager, AnalyzerConfig
from heritage_otel.analysis.findings import AlertLevel, Finding
from heritage_otel.analysis.sinks import AlertmanagerSink
from heritage_otel.service import ServiceConfig
from heritage_otel.service.checkpoint import CHECKPOINT_FILE, Checkpointer
from heritage_otel.service.core import AnalyzerService
from tests.service.payloads import add_sum, metrics_request, resource

INTERVAL_S = 60.0


def make_service(sink: list | None = None, **analyzer: object) -> AnalyzerService:
    alerts = AlertManager(cooldown_s=900)
    if sink is not None:
        alerts.add_sink(sink.append, "recording")
    config = AnalyzerConfig(interval_seconds=INTERVAL_S, **analyzer)
    return AnalyzerService(ServiceConfig(), analyzer_config=config, alert_manager=alerts, start_background=False)


def feed(service: AnalyzerService, intervals: int, now: float) -> None:
    """``intervals`` DELTA points of heritage.queries for two replicas, one per interval, ending at ``now``."""
    for i in range(intervals):
        t_ns = int((now - (intervals - i) * INTERVAL_S) * 1e9)
        for replica, value in (("replica-a", 100 + i), ("replica-b", 50 + i)):
            request, scope = metrics_request(resource("catalogue", replica))
            add_sum(scope, semconv.METRIC_QUERIES, value, start_ns=t_ns - int(INTERVAL_S * 1e9), time_ns=t_ns)
            assert service.ingest_metrics(request).accepted == 1


def finding() -> Finding:
    return Finding("query_latency_p95", "threshold", (("service.name", "catalogue"),), AlertLevel.CRITICAL,
                   3.5, 3.0, "query_latency_p95 = 3.5 is above the critical level 3")


@pytest.fixture
def now() -> float:
    return time.time()


def test_a_restored_service_has_the_windows_and_does_not_fire_again(tmp_path: Path, now: float) -> None:
    """Windows, series and the active alert come back; the same finding after restart notifies nobody."""
    seen_before: list = []
    before = make_service(seen_before)
    feed(before, 12, now)
    before.evaluate(now=now)
    assert before.alerts.process(finding(), now=now) is not None
    assert before.alerts.flush(5)
    checkpoint = Checkpointer(before, tmp_path)
    assert checkpoint.save() == tmp_path / CHECKPOINT_FILE
    assert oct((tmp_path / CHECKPOINT_FILE).stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_FILE]  # no temporary file left behind

    seen_after: list = []
    after = make_service(seen_after)
    try:
        assert Checkpointer(after, tmp_path).restore()
        assert after.analyzer.series() == before.analyzer.series()
        for key in before.analyzer.series():  # through the Analyzer's read API (its windows are private)
            for restored, saved in zip(after.analyzer.points(key), before.analyzer.points(key), strict=True):
                np.testing.assert_array_equal(restored, saved)
        assert after.analyzer.stats()["series"] == before.analyzer.stats()["series"] > 0
        assert [a.id for a in after.alerts.get_active_alerts()] == [a.id for a in before.alerts.get_active_alerts()]
        assert after.series() == before.series()
        # The restart is inside the cooldown: the still-true finding is not notified again.
        assert after.alerts.process(finding(), now=now + 60) is None
        after.evaluate(now=now + 60)
        assert after.alerts.flush(5)
        assert seen_after == []
        # The restored service keeps learning: the next interval lands in the same windows.
        feed(after, 1, now + INTERVAL_S)
        assert after.analyzer.stats()["series"] == before.analyzer.stats()["series"]
    finally:
        before.close()
        after.close()


def test_the_alertmanager_sink_goes_on_resending_what_was_firing(tmp_path: Path, now: float) -> None:
    """The firing alerts an Alertmanager sink keeps alive are part of the checkpoint (and no URL or header is)."""
    sink = AlertmanagerSink(["http://127.0.0.1:9/", "http://127.0.0.1:10/"], headers={"Authorization": "Bearer s3cr3t"},
                            retries=0, timeout_s=0.5)
    before = make_service()
    before.alerts.add_sink(sink, "alertmanager")
    assert before.alerts.process(finding(), now=now) is not None
    assert before.alerts.flush(10)
    firing = list(sink.checkpoint_state()["firing"])
    assert firing
    assert Checkpointer(before, tmp_path).save()
    assert b"s3cr3t" not in (tmp_path / CHECKPOINT_FILE).read_bytes()

    resumed = AlertmanagerSink(["http://127.0.0.1:9/"], retries=0, timeout_s=0.5)
    after = make_service()
    after.alerts.add_sink(resumed, "alertmanager")
    try:
        assert Checkpointer(after, tmp_path).restore()
        assert list(resumed.checkpoint_state()["firing"]) == firing
    finally:
        before.close()
        after.close()


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_members(path: Path, members: dict[str, bytes]) -> None:
    with open(path, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:  # the same file (owner, mode)
        for name, data in members.items():
            archive.writestr(name, data)


def _rewrite_header(path: Path, **changes: object) -> None:
    members = _members(path)
    members["header.json"] = json.dumps({**json.loads(members["header.json"]), **changes}).encode()
    _write_members(path, members)


@pytest.mark.parametrize(("change", "reason"), [
    ({"format": 99}, "format 99 is unknown"),
    ({"package": "0.0.0-other"}, "written by heritage-otel 0.0.0-other"),
    ({"config": "something-else"}, "Analyzer settings changed"),
    ({"written_at": 0.0}, "s old"),
])
def test_a_checkpoint_that_does_not_fit_is_ignored_with_a_log_line(
    tmp_path: Path, now: float, caplog: pytest.LogCaptureFixture, change: dict, reason: str
) -> None:
    before = make_service()
    feed(before, 3, now)
    Checkpointer(before, tmp_path).save()
    _rewrite_header(tmp_path / CHECKPOINT_FILE, **change)
    after = make_service()
    try:
        with caplog.at_level(logging.WARNING, logger="heritage_otel.service.checkpoint"):
            assert not Checkpointer(after, tmp_path).restore()
        assert reason in caplog.text and "starting fresh" in caplog.text
        assert after.analyzer.stats()["series"] == 0
    finally:
        before.close()
        after.close()


def test_changed_settings_are_detected_without_editing_the_file(tmp_path: Path, now: float) -> None:
    before = make_service()
    feed(before, 3, now)
    Checkpointer(before, tmp_path).save()
    after = make_service(sensitivity=4.5)
    try:
        assert not Checkpointer(after, tmp_path).restore()
    finally:
        before.close()
        after.close()


def test_damaged_unsafe_or_missing_checkpoints_never_raise(tmp_path: Path, now: float,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    service = make_service()
    try:
        assert not Checkpointer(service, tmp_path).restore()  # none yet
        Checkpointer(service, tmp_path).save()
        path = tmp_path / CHECKPOINT_FILE
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with caplog.at_level(logging.WARNING, logger="heritage_otel.service.checkpoint"):
            assert not Checkpointer(service, tmp_path).restore()
            assert "unreadable" in caplog.text
            Checkpointer(service, tmp_path).save()
            os.chmod(path, 0o666)
            assert not Checkpointer(service, tmp_path).restore()
            assert "others may write it" in caplog.text
    finally:
        service.close()


def test_a_failed_save_is_counted_not_raised(tmp_path: Path) -> None:
    service = make_service()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    try:
        checkpoint = Checkpointer(service, blocker)
        assert checkpoint.save() is None
        assert checkpoint.failures == 1
    finally:
        service.close()


def test_periodic_saves_and_a_final_save_at_close(tmp_path: Path) -> None:
    service = make_service()
    try:
        checkpoint = Checkpointer(service, tmp_path, interval_s=0.05).start()
        deadline = time.monotonic() + 10
        while checkpoint.saves < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpoint.saves >= 2
        saves = checkpoint.saves
        checkpoint.close()
        assert checkpoint.saves == saves + 1
    finally:
        service.close()


def test_bad_settings_fail_at_start() -> None:
    service = make_service()
    try:
        with pytest.raises(ValueError, match="interval_s = 0 is not valid"):
            Checkpointer(service, Path("/tmp"), interval_s=0)
        with pytest.raises(ValueError, match="max_age_s = -1 is not valid"):
            Checkpointer(service, Path("/tmp"), max_age_s=-1)
    finally:
        service.close()


def test_analyzer_serve_checkpoints_at_shutdown_and_restores_at_start(tmp_path: Path) -> None:
    """`heritage-otel analyzer serve --checkpoint-dir`: SIGTERM writes the checkpoint; the next start has the series."""
    import signal
    import subprocess
    import sys

    import requests

    from heritage_otel.stack.health import wait_healthy
    from tests.helpers import free_port
    from tests.service.payloads import PROTOBUF, post

    cli = str(Path(sys.executable).with_name("heritage-otel"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def serve() -> subprocess.Popen:
        proc = subprocess.Popen([cli, "analyzer", "serve", "--port", str(port), "--checkpoint-dir", str(tmp_path),
                                 "--checkpoint-interval-seconds", "3600"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert wait_healthy(f"{url}/healthz", timeout_s=60, still_running=lambda: proc.poll() is None)
        return proc

    def stop(proc: subprocess.Popen) -> str:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        return out

    first = serve()
    try:
        request, scope = metrics_request(resource("catalogue", "replica-a"))
        add_sum(scope, semconv.METRIC_QUERIES, 7)
        assert post(url, "/v1/metrics", request.SerializeToString(), PROTOBUF).status_code == 200
        series = requests.get(f"{url}/api/series", timeout=5).json()
        assert series
    finally:
        out = stop(first)
    assert (tmp_path / CHECKPOINT_FILE).is_file(), out
    second = serve()
    try:
        assert requests.get(f"{url}/api/series", timeout=5).json() == series
    finally:
        out = stop(second)
    assert "restored (" in out and "not restored" not in out, out


def test_saving_while_data_arrives_and_alerts_change(tmp_path: Path, now: float) -> None:
    """Checkpoints taken while another thread ingests and evaluates all succeed and restore."""
    import threading

    service = make_service()
    stop = threading.Event()
    rounds: list[int] = []
    errors: list[BaseException] = []

    def load() -> None:
        i = 0
        try:
            while not stop.is_set():
                t = now - 3600 + (i % 60) * INTERVAL_S  # inside the receiver's accepted time window
                feed(service, 1, t)
                service.evaluate(now=t)
                service.alerts.process(finding(), now=t)
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        rounds.append(i)

    worker = threading.Thread(target=load)
    worker.start()
    checkpoint = Checkpointer(service, tmp_path)
    try:
        for _ in range(20):
            assert checkpoint.save() is not None
        assert checkpoint.failures == 0
    finally:
        stop.set()
        worker.join(10)
    assert errors == [] and rounds and rounds[0] > 0
    fresh = make_service()
    try:
        assert Checkpointer(fresh, tmp_path).restore()
    finally:
        service.close()
        fresh.close()


def test_code_in_the_state_is_not_written_and_shared_objects_survive(tmp_path: Path, now: float) -> None:
    """A callable held as state is not written (the running process keeps its own); data next to it, objects
    shared by two attributes and references to another part come back as they were."""
    from types import SimpleNamespace

    before = make_service()
    before.alerts.extra_started = {"query_latency_p95": now - 120}
    before.alerts.extra_alias = before.alerts.extra_started
    before.alerts.extra_analyzer = before.analyzer
    before.alerts.extra_hook = lambda metric: metric
    assert Checkpointer(before, tmp_path).save()
    assert b"lambda" not in (tmp_path / CHECKPOINT_FILE).read_bytes()
    after = make_service()
    live_hook = after.alerts.extra_hook = SimpleNamespace  # the running process's own callable
    try:
        assert Checkpointer(after, tmp_path).restore()
        assert after.alerts.extra_started == {"query_latency_p95": now - 120}
        assert after.alerts.extra_alias is after.alerts.extra_started  # shared, not copied
        assert after.alerts.extra_analyzer is after.analyzer  # a part is the live object, not a copy
        assert after.alerts.extra_hook is live_hook
    finally:
        before.close()
        after.close()


def test_a_pickle_checkpoint_of_an_earlier_version_is_never_loaded(tmp_path: Path, caplog) -> None:
    """A format 1/2 file (a JSON line and a pickle) is refused with a message saying why, and nothing runs."""
    import pickle

    marker = tmp_path / "ran"
    payload = pickle.dumps(_RunsCode(str(marker)))
    (tmp_path / CHECKPOINT_FILE).write_bytes(json.dumps({"format": 2}).encode() + b"\n" + payload)
    os.chmod(tmp_path / CHECKPOINT_FILE, 0o600)
    service = make_service()
    try:
        with caplog.at_level(logging.WARNING, logger="heritage_otel.service.checkpoint"):
            assert not Checkpointer(service, tmp_path).restore()
        assert "pickle checkpoint of an earlier version" in caplog.text and not marker.exists()
    finally:
        service.close()


class _RunsCode:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_links_and_shared_folders_are_refused(tmp_path: Path, now: float, caplog) -> None:
    """A symlink planted at the checkpoint's name is replaced, never written through; a symlinked checkpoint and
    a folder others may write are not read."""
    service = make_service()
    feed(service, 3, now)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    folder = tmp_path / "ckpt"
    folder.mkdir(mode=0o700)
    (folder / CHECKPOINT_FILE).symlink_to(victim)
    try:
        assert Checkpointer(service, folder).save() == folder / CHECKPOINT_FILE
        assert victim.read_text() == "precious" and not (folder / CHECKPOINT_FILE).is_symlink()
        (folder / CHECKPOINT_FILE).rename(tmp_path / "real.ckpt")
        (folder / CHECKPOINT_FILE).symlink_to(tmp_path / "real.ckpt")
        with caplog.at_level(logging.WARNING, logger="heritage_otel.service.checkpoint"):
            assert not Checkpointer(service, folder).restore()
            assert "cannot read it" in caplog.text
            (folder / CHECKPOINT_FILE).unlink()
            (tmp_path / "real.ckpt").rename(folder / CHECKPOINT_FILE)
            os.chmod(folder, 0o770)
            assert not Checkpointer(service, folder).restore()
            assert Checkpointer(service, folder).save() is None
            assert "checkpoint folder" in caplog.text
    finally:
        service.close()


def test_a_state_outside_the_schema_is_refused_and_changes_nothing(tmp_path: Path, now: float, caplog) -> None:
    """Objects of other modules, unknown tags, wrong shapes and deep nesting in the state: refused, never raised,
    and the service keeps its own (empty) state."""
    before = make_service()
    feed(before, 3, now)
    Checkpointer(before, tmp_path).save()
    path = tmp_path / CHECKPOINT_FILE
    members = _members(path)
    good = json.loads(members["state.json"])
    deep = b'{"parts": {}, "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    evil = [
        json.dumps({**good, "parts": {**good["parts"],
                                      "queries": {"$": "obj", "i": 10**9, "c": "subprocess:Popen", "v": {}}}}).encode(),
        json.dumps({**good, "extra": {"$": "code", "v": "print(1)"}}).encode(),
        json.dumps({**good, "extra": [1, 2]}).encode(),
        deep,
    ]
    after = make_service()
    try:
        for text in evil:
            _write_members(path, {**members, "state.json": text})
            with caplog.at_level(logging.WARNING, logger="heritage_otel.service.checkpoint"):
                assert not Checkpointer(after, tmp_path).restore()
            assert after.analyzer.stats()["series"] == 0
        assert caplog.text.count("not restored") == len(evil)
    finally:
        before.close()
        after.close()
