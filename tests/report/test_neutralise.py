"""`neutralise` escapes the same characters whichever way it scans the text (ASCII fast path)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from pullguard.text_safety import neutralise

# The pattern the fast path must agree with, written out independently of the module.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def _reference(text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, text)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_ascii_text_is_neutralised_as_the_pattern_does(text: str) -> None:
    assert neutralise(text) == _reference(text)


@given(st.text())
def test_any_text_is_neutralised_as_the_pattern_does(text: str) -> None:
    assert neutralise(text) == _reference(text)


def test_each_ascii_control_is_escaped_and_tab_newline_stay() -> None:
    for code in range(0x80):
        char = chr(code)
        expected = char if code in (0x09, 0x0A) or 0x20 <= code < 0x7F else f"\\x{code:02x}"
        assert neutralise(f"a{char}b") == f"a{expected}b", code
