"""HttpReceiver: records what it is sent, answers with scripted statuses, is slow or hangs on purpose."""

from __future__ import annotations

import time

import pytest
import requests

from heritage_otel.testing import HttpReceiver
from heritage_otel.testing.receiver import HANG


def test_records_method_path_headers_and_json_body() -> None:
    """A POST is recorded whole; its JSON body is readable; the receiver listens on loopback."""
    with HttpReceiver() as hook:
        assert hook.url.startswith("http://127.0.0.1:")
        reply = requests.post(hook.url + "/alerts?x=1", json={"id": "a1"}, headers={"Authorization": "Bearer t"},
                              timeout=5)
        [request] = hook.requests
    assert reply.status_code == 200
    assert (request.method, request.path, request.json()) == ("POST", "/alerts?x=1", {"id": "a1"})
    assert request.headers["Authorization"] == "Bearer t"


def test_scripted_statuses_then_the_default() -> None:
    """Each request takes the next scripted status; afterwards ``status`` answers."""
    with HttpReceiver([503, 400], status=204) as hook:
        codes = [requests.put(hook.url, data=b"{}", timeout=5).status_code for _ in range(3)]
        assert hook.wait_for(3, timeout_s=1)
    assert codes == [503, 400, 204]


def test_hang_never_answers_until_closed() -> None:
    """A HANG response makes the client time out; closing the receiver releases it."""
    hook = HttpReceiver([HANG])
    with pytest.raises(requests.Timeout):
        requests.post(hook.url, json={}, timeout=0.3)
    assert len(hook.requests) == 1
    hook.close()
    hook.close()  # idempotent


def test_delay_answers_slowly() -> None:
    """``delay_s`` holds every answer back."""
    with HttpReceiver(delay_s=0.2) as hook:
        started = time.monotonic()
        requests.post(hook.url, json={}, timeout=5)
        assert time.monotonic() - started >= 0.2


def test_other_methods_are_refused_and_not_recorded() -> None:
    """A GET is answered 405 and not recorded (a webhook receives POST and PUT)."""
    with HttpReceiver() as hook:
        assert requests.get(hook.url, timeout=5).status_code == 405
        assert hook.requests == () and not hook.wait_for(1, timeout_s=0.05)


@pytest.mark.parametrize("bad", [99, 600, "slow", 2.5])
def test_bad_response_names_the_value_and_what_is_valid(bad) -> None:
    """A scripted response that is neither a status nor HANG fails at construction."""
    with pytest.raises(ValueError, match="expected an HTTP status 100-599 or 'hang'"):
        HttpReceiver([bad])
