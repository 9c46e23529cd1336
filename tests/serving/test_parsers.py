"""Property tests for what `serve` parses from outside: bind addresses and watch event lines."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pullguard.errors import ClusterError
from pullguard.serve.endpoints import parse_address
from pullguard.serve.kube import _event


@given(st.text(max_size=40))
def test_parse_address_accepts_or_explains(text: str) -> None:
    try:
        parsed = parse_address(text)
    except ValueError as error:
        assert "not an address" in str(error)
        return
    if parsed is not None:
        host, port = parsed
        assert 0 <= port <= 65535 and isinstance(host, str)


@given(st.integers(0, 65535), st.sampled_from(["", "127.0.0.1", "[::1]", "localhost"]))
def test_parse_address_round_trip(port: int, host: str) -> None:
    expected_host = host.strip("[]") or "0.0.0.0"
    assert parse_address(f"{host}:{port}") == (expected_host, port)


def test_zero_disables() -> None:
    assert parse_address("0") is None


@given(st.binary(max_size=200))
def test_watch_event_lines_never_crash(line: bytes) -> None:
    try:
        event = _event(line, "c")
    except ClusterError as error:
        assert "watch event" in str(error)
        return
    assert isinstance(event["object"], dict)


@given(
    st.sampled_from(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]),
    st.dictionaries(st.text(max_size=5), st.integers()),
)
def test_watch_event_objects_pass(kind: str, obj: dict[str, int]) -> None:
    assert _event(json.dumps({"type": kind, "object": obj}).encode(), "c") == {"type": kind, "object": obj}


@pytest.mark.parametrize(
    "line", [b"[]", b'{"type": "ADDED"}', b'{"type": "ADDED", "object": 3}', b"{not json"]
)
def test_bad_watch_events_are_errors(line: bytes) -> None:
    with pytest.raises(ClusterError):
        _event(line, "c")


@pytest.mark.parametrize("text", ["²", ":²", "host:٣"])
def test_unicode_digits_are_not_ports(text: str) -> None:
    """Regression (found by the property test): str.isdigit() accepts superscripts and other scripts' digits."""
    with pytest.raises(ValueError, match="not an address"):
        parse_address(text)
