"""`redact_userinfo` skips its full pattern when a cheap search shows no URL with userinfo, and
the CLI makes a report safe in parts: the results must be what the full pattern and the whole
text give, for any text."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.report.sink import render_safely, render_safely_parts
from pullguard.text_safety import _URL_USERINFO, redact_userinfo

_PIECE_TEXTS = [
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
_PIECES = st.sampled_from(_PIECE_TEXTS)


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


_WRITTEN = st.lists(
    st.lists(st.sampled_from([*_PIECE_TEXTS, "\x1b[1m", "\u202e", "\x00", "\t"]), max_size=6).map("".join),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(_WRITTEN, st.booleans())
def test_a_report_made_safe_in_parts_is_the_report_made_safe_whole(writes: list[str], styled: bool) -> None:
    """The CLI writes a report in parts, each made safe a run of whole lines at a time; joined,
    they are what making the whole text safe gives, however the renderer cut its writes."""

    def render(out: Any) -> None:
        for text in writes:
            out.write(text)

    whole = render_safely(render, terminal=False, styled=styled)
    assert "".join(render_safely_parts(render, terminal=False, styled=styled)) == whole
