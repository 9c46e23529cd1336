"""`--connect-to HOST[:PORT]:CONNECT_HOST:CONNECT_PORT`: parsing and routing (no network)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pullguard.cli import main
from pullguard.registry.client import _route, _routes, parse_connect_to


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("registry.example.com:127.0.0.1:5000", ("registry.example.com", None, "127.0.0.1", 5000)),
        ("Registry.Example.com::127.0.0.1:5000", ("registry.example.com", None, "127.0.0.1", 5000)),
        (
            "registry.example.com:5000:mirror.internal:443",
            ("registry.example.com", 5000, "mirror.internal", 443),
        ),
        ("[2001:db8::1]:443:[::1]:8443", ("2001:db8::1", 443, "::1", 8443)),
    ],
)
def test_parse(value: str, expected: tuple[str, int | None, str, int]) -> None:
    assert parse_connect_to(value) == expected


@pytest.mark.parametrize(
    "value", ["registry.example.com", "a:b", "a:1:b", "a:1:b:", "a:1:b:0", "a:99999:b:1", "a:1:b:c:2"]
)
def test_parse_refuses(value: str) -> None:
    with pytest.raises(ValueError):
        parse_connect_to(value)


def test_route_default_port_per_scheme() -> None:
    routes = _routes((("reg.example", None, "127.0.0.1", 1), ("reg.example", 5000, "127.0.0.1", 2)))
    assert _route(routes, "https", "reg.example", None) == ("127.0.0.1", 1)
    assert _route(routes, "https", "REG.example", 443) == ("127.0.0.1", 1)
    assert _route(routes, "http", "reg.example", None) == ("127.0.0.1", 1)  # port 80 for http
    assert _route(routes, "https", "reg.example", 5000) == ("127.0.0.1", 2)
    assert _route(routes, "https", "reg.example", 8443) is None
    assert _route(routes, "https", "other.example", None) is None
    explicit = _routes((("reg.example", 443, "127.0.0.1", 3),))
    assert _route(explicit, "https", "reg.example", None) == ("127.0.0.1", 3)
    assert _route(explicit, "http", "reg.example", None) is None


def test_first_route_wins_as_in_curl() -> None:
    routes = _routes((("reg.example", None, "127.0.0.1", 1), ("reg.example", None, "127.0.0.1", 2)))
    assert _route(routes, "https", "reg.example", None) == ("127.0.0.1", 1)


def test_cli_refuses_a_bad_value() -> None:
    result = CliRunner().invoke(main, ["verify", "--connect-to", "nonsense", "examples/"])
    assert result.exit_code == 2
    assert "--connect-to" in result.output and "HOST[:PORT]:CONNECT_HOST:CONNECT_PORT" in result.output


def test_help_documents_it() -> None:
    result = CliRunner().invoke(main, ["verify", "--help"])
    assert "--connect-to" in result.output and "split DNS" in result.output
