"""What a registry sends in headers is its own text: parsing it never raises (property tests,
and the inputs the fuzzer found)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.registry.client import _retry_after, parse_challenge, parse_realm


def test_retry_after_with_an_absurd_date_is_ignored() -> None:
    """Found by `make fuzz` (registry_headers): a 25-digit year raised OverflowError."""
    assert _retry_after("Wed, 21 Oct 2055555555555555555555555 07:28:00 GMT") is None
    assert _retry_after("²") is None  # a digit to str.isdigit, not to float
    assert _retry_after("120") == 120.0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_retry_after_never_raises(value: str) -> None:
    after = _retry_after(value)
    assert after is None or after >= 0


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.builds(
            lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
            st.sampled_from(["https", "http", "ftp", "HTTPS"]),
            st.one_of(st.text(max_size=20), st.sampled_from(["xn--", "[::1", "[::1]", "a..b", "xn--zz"])),
            st.one_of(st.just(""), st.integers(-5, 200000).map(lambda p: f":{p}"), st.text(max_size=6)),
            st.text(max_size=10),
        ),
    )
)
def test_parse_realm_never_raises_and_only_returns_usable_urls(realm: str) -> None:
    url = parse_realm(realm)
    if url is not None:
        assert url.scheme in ("http", "https") and url.host
        assert url.port is None or 0 < url.port < 65536


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=4))
def test_parse_challenge_never_raises(values: list[str]) -> None:
    challenge = parse_challenge(values)
    assert challenge is None or challenge.scheme in ("bearer", "basic")
