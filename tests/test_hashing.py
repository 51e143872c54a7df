"""heritage_otel.hashing: the one query digest and the raw-text opt-in."""

from __future__ import annotations

import hashlib
import logging

import pytest

from heritage_otel.hashing import capture_query_text_enabled, hash_query_text, query_text_for_export


def test_unsalted_digest_is_sha256_prefix():
    """Without a salt the digest is the first 16 hex digits of SHA-256."""
    expected = "sha256:" + hashlib.sha256(b"roman coins").hexdigest()[:16]
    assert hash_query_text("roman coins") == expected


def test_salt_from_environment_is_hashed_before_the_text(monkeypatch):
    """HERITAGE_OTEL_QUERY_HASH_SALT is hashed first, then the text (what the Collector's transform computes)."""
    monkeypatch.setenv("HERITAGE_OTEL_QUERY_HASH_SALT", "pepper")
    expected = "sha256:" + hashlib.sha256(b"pepperroman coins").hexdigest()[:16]
    assert hash_query_text("roman coins") == expected
    assert hash_query_text("roman coins") != hash_query_text("roman coins", salt="")


def test_digest_is_stable_and_distinguishes_texts():
    """Same text, same digest; different text, different digest."""
    assert hash_query_text("a") == hash_query_text("a")
    assert hash_query_text("a") != hash_query_text("b")


def test_unpaired_surrogate_does_not_raise():
    """Text that is not valid UTF-8 still hashes."""
    assert hash_query_text("bad \ud800 text").startswith("sha256:")


@pytest.mark.parametrize(("value", "expected"),
                         [("true", True), (" TRUE ", True), ("1", False), ("yes", False), ("false", False), ("", False)])
def test_capture_from_environment(monkeypatch, value, expected):
    """HERITAGE_OTEL_CAPTURE_QUERY_TEXT opts in when true, read as the SDK reads a boolean (1, yes: not true)."""
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", value)
    assert capture_query_text_enabled() is expected


def test_argument_wins_over_environment(monkeypatch):
    """An explicit argument overrides the environment both ways."""
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "true")
    assert capture_query_text_enabled(False) is False
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "false")
    assert capture_query_text_enabled(True) is True


def test_bad_environment_value_warns_and_means_false(monkeypatch, caplog):
    """An unrecognised value never captures, and says what is valid."""
    monkeypatch.setenv("HERITAGE_OTEL_CAPTURE_QUERY_TEXT", "perhaps")
    with caplog.at_level(logging.WARNING, logger="heritage_otel.checks"):
        assert capture_query_text_enabled() is False
    assert "HERITAGE_OTEL_CAPTURE_QUERY_TEXT" in caplog.text and "perhaps" in caplog.text and "true, false" in caplog.text


def test_query_text_for_export_hashes_by_default():
    """Export gives the digest unless capture is on."""
    assert query_text_for_export("secret words") == hash_query_text("secret words")
    assert query_text_for_export("secret words", capture=True) == "secret words"
