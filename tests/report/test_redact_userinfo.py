"""`redact_userinfo` skips its full pattern when a cheap search shows no URL with userinfo;
the result must be what the full pattern alone gives, for any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.text_safety import _URL_USERINFO, redact_userinfo

_PIECES = st.sampled_from(
    [
        "https://",
        "oci://",
        "HTTP://",
        "://",
        "user",
        ":pass",
        "@",
        "/",
        " ",
        "\n",
        '"',
        "'",
        "<",
        ">",
        "reg.example",
        "a",
        "1",
        "-",
        ".",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=24).map("".join))
def test_the_result_is_what_the_full_pattern_gives(text: str) -> None:
    assert redact_userinfo(text) == _URL_USERINFO.sub(r"\1***@", text)


def test_userinfo_is_redacted_and_plain_text_kept() -> None:
    assert (
        redact_userinfo('see "https://bob:hunter2@reg.example/v2/" now')
        == 'see "https://***@reg.example/v2/" now'
    )
    assert (
        redact_userinfo("nginx@sha256:abc https://reg.example/v2/")
        == "nginx@sha256:abc https://reg.example/v2/"
    )
