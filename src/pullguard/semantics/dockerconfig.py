"""Decode pull-secret payloads exactly as the kubelet does.

Pure functions, no I/O. What they reproduce (kubernetes/kubernetes, v1.33-era
main branch, which keeps the v1.32 behaviour described here):

* ``pkg/credentialprovider/secrets/secrets.go`` ``secretsToTrackedDockerConfigs``
  unmarshals ``.dockerconfigjson`` into ``credentialprovider.DockerConfigJSON``
  and ``.dockercfg`` into ``credentialprovider.DockerConfig`` with Go's
  ``encoding/json``. Any error aborts the whole keyring of the pod.
* ``pkg/credentialprovider/config.go``:

  - ``DockerConfigJSON`` has two fields, ``Auths`` (json name ``auths``, a map of
    ``DockerConfigEntry``) and ``HTTPHeaders`` (json name ``HttpHeaders``, a
    ``map[string]string``). Both are type checked; every other member is ignored.
  - ``DockerConfigEntry.UnmarshalJSON`` decodes the entry into a struct with only
    ``username``, ``password``, ``email`` and ``auth`` (all strings). When
    ``auth`` is non-empty it replaces username and password with the result of
    ``decodeDockerConfigFieldAuth``; ``identitytoken`` / ``registrytoken`` are
    never read.
  - ``decodeDockerConfigFieldAuth``: if the value, with surrounding white space
    trimmed (``strings.TrimSpace``), ends in ``=`` it is decoded with
    ``base64.StdEncoding`` (padding required), otherwise with
    ``base64.RawStdEncoding`` (no ``=`` allowed). Both skip ``\\r`` and ``\\n``
    anywhere, reject every other character outside the standard alphabet
    (URL-safe ``-``/``_``, spaces, tabs), and ignore non-zero trailing bits. The
    result is split at the first ``:``; no ``:`` is an error.

Go ``encoding/json`` details reproduced here:

* member names match struct fields case-insensitively, with Go's folding
  (``unicode.ToUpper(unicode.ToLower(r))``), so ``Auths``, ``AUTH``, ``uſername``
  (long s), ``emaıl`` (dotless i) all match;
* duplicate members: the last value wins; a second ``auths`` member is merged
  into the map decoded so far (Go reuses the map), ``"auths": null`` resets it;
* ``null`` for a string field leaves it unchanged; ``null`` for an entry gives an
  empty entry; ``null`` for the whole document gives no entries;
* a wrong JSON type in a known field (``"email": false``, ``"auths": []``,
  ``"HttpHeaders": {"a": 1}``, an entry that is a string) is an error;
* invalid UTF-8 inside a JSON string is *not* an error: each bad byte becomes
  U+FFFD, as do lone UTF-16 surrogate escapes. Invalid bytes outside strings,
  a byte-order mark, ``NaN``/``Infinity`` and trailing data are syntax errors;
* nesting deeper than 10000 arrays/objects is an error (Go's scanner limit).

Consequences worth knowing (see ``parse_dockercfg``): a ``.dockercfg`` holding a
docker ``config.json`` (``{"auths": {...}}``) decodes without error into one
entry whose key is ``"auths"`` and whose credentials are empty: the inner
entries are never looked at. But a member whose value is not an object or
null (``"credsStore": "desktop"``) makes a ``.dockercfg`` fail to decode.

Error messages describe the problem only. They may name the registry key (keys
are not secret; a key carrying ``user@`` information is not shown) but never
quote the payload, a username, a password or an ``auth`` value.
"""

from __future__ import annotations

import binascii
import codecs
import json
import json.decoder
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pullguard.errors import DockerConfigError

# The secret types the kubelet reads pull credentials from, and each type's data key
# (k8s.io/kubernetes pkg/credentialprovider/secrets: MakeDockerKeyring).
DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
DOCKERCFG = "kubernetes.io/dockercfg"
PULL_SECRET_TYPES = {DOCKERCONFIGJSON: ".dockerconfigjson", DOCKERCFG: ".dockercfg"}

__all__ = [
    "AuthEntry",
    "Credential",
    "decode_secret_value",
    "parse_dockercfg",
    "parse_dockerconfigjson",
]


@dataclass(frozen=True, slots=True, repr=False)
class Credential:
    """What the kubelet keeps of one entry: username, password and email.

    ``identity_token_only`` is pullguard's remark, not kubelet state: the entry
    carried an ``identitytoken`` or ``registrytoken`` but no username, password
    or auth, so the kubelet sends empty credentials (an anonymous pull).

    Bytes of a decoded ``auth`` that are not UTF-8 are kept as surrogate escapes
    (``.encode("utf-8", "surrogateescape")`` gives back the exact bytes).
    """

    username: str
    password: str = field(repr=False)
    email: str = ""
    identity_token_only: bool = False

    def __repr__(self) -> str:
        user = "<set>" if self.username else "<empty>"
        pw = "<set>" if self.password else "<empty>"
        return f"Credential(username={user}, password={pw})"

    def __str__(self) -> str:
        return self.__repr__()


@dataclass(frozen=True, slots=True)
class AuthEntry:
    """One member of the auths map: the key exactly as written and its credential."""

    key: str
    credential: Credential


# ---------------------------------------------------------------------------
# base64 as Go's encoding/base64 decodes it (non-strict StdEncoding / RawStdEncoding)

_B64_PADDED = re.compile(r"[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_B64_RAW = re.compile(r"[A-Za-z0-9+/]*")

# Characters unicode.IsSpace accepts (what strings.TrimSpace removes).
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _go_base64(text: str, padded: bool) -> bytes | None:
    """Decode like base64.StdEncoding (padded) or RawStdEncoding; None on error."""
    if "\r" in text or "\n" in text:
        text = text.replace("\r", "").replace("\n", "")
    if padded:
        if len(text) % 4 != 0 or _B64_PADDED.fullmatch(text) is None:
            return None
    else:
        if len(text) % 4 == 1 or _B64_RAW.fullmatch(text) is None:
            return None
        text += "=" * (-len(text) % 4)
    return binascii.a2b_base64(text)


def decode_secret_value(b64: str) -> bytes:
    """Decode one ``Secret.data`` value as the API server does (Go ``[]byte`` JSON field).

    That is ``base64.StdEncoding``: padding required, ``\\r``/``\\n`` skipped,
    nothing else outside the standard alphabet.
    """
    decoded = _go_base64(b64, padded=True)
    if decoded is None:
        raise DockerConfigError("secret data value is not valid base64")
    return decoded


def _decode_auth(auth: str, where: str) -> tuple[str, str]:
    """decodeDockerConfigFieldAuth: base64 of ``user:password``, split at the first colon."""
    padded = auth.rstrip(_GO_SPACE).endswith("=")
    decoded = _go_base64(auth, padded)
    if decoded is None:
        kind = "padded" if padded else "unpadded"
        raise DockerConfigError(f"{where}: 'auth' is not valid base64 ({kind} standard alphabet expected)")
    user, sep, password = decoded.partition(b":")
    if not sep:
        raise DockerConfigError(f"{where}: 'auth' does not decode to username:password (no ':')")
    return user.decode("utf-8", "surrogateescape"), password.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------
# JSON as Go's encoding/json reads it


class _Obj(list[tuple[str, object]]):
    """A JSON object as its members in document order (duplicates kept)."""


class _Reject(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _go_utf8_replace(exc: UnicodeError) -> tuple[str, int]:
    # Go's utf8.DecodeRune reports every invalid byte on its own: one U+FFFD each.
    if isinstance(exc, UnicodeDecodeError):
        return "\ufffd", exc.start + 1
    raise exc


_UTF8_HANDLER = "pullguard.go-utf8-replace"
codecs.register_error(_UTF8_HANDLER, _go_utf8_replace)

# The C string scanner of the json module (strict: control characters rejected).
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

_SURROGATE = re.compile("[\ud800-\udfff]")
_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_MAX_DEPTH = 10000  # encoding/json scanner: maxNestingDepth


def _reject_constant(_name: str) -> object:
    raise _Reject("not valid JSON: NaN and Infinity are not JSON numbers")


def _zero(_text: str) -> object:
    # Numbers never matter (no numeric field); do not convert them (huge ints).
    return 0


def _clean(text: str) -> str:
    """Lone surrogates (from \\uD800-style escapes) become U+FFFD, as in Go."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


class _Frame:
    __slots__ = ("container", "is_obj", "key")

    def __init__(self, is_obj: bool) -> None:
        self.is_obj = is_obj
        self.container: list[Any] = _Obj() if is_obj else []
        self.key = ""


def _skip_ws(s: str, pos: int) -> int:
    m = _WS.match(s, pos)
    return m.end() if m is not None else pos


def _syntax(pos: int, what: str = "unexpected character") -> _Reject:
    return _Reject(f"not valid JSON: {what} at character {pos}")


def _loads_deep(s: str) -> object:
    """Iterative JSON reader for documents nested deeper than Python's recursion limit."""
    n = len(s)
    stack: list[_Frame] = []
    pos = _skip_ws(s, 0)

    def read_key(p: int) -> tuple[str, int]:
        if p >= n or s[p] != '"':
            raise _syntax(p, "expected a member name")
        key, p = _scanstring(s, p + 1, True)
        p = _skip_ws(s, p)
        if p >= n or s[p] != ":":
            raise _syntax(p, "expected ':'")
        return key, _skip_ws(s, p + 1)

    while True:
        value: object
        if pos >= n:
            raise _syntax(pos, "unexpected end of input")
        c = s[pos]
        if c in "{[":
            if len(stack) + 1 > _MAX_DEPTH:
                raise _syntax(pos, "nesting deeper than 10000")
            frame = _Frame(c == "{")
            pos = _skip_ws(s, pos + 1)
            if pos < n and s[pos] == ("}" if frame.is_obj else "]"):
                pos += 1
                value = frame.container
            else:
                stack.append(frame)
                if frame.is_obj:
                    frame.key, pos = read_key(pos)
                continue
        elif c == '"':
            value, pos = _scanstring(s, pos + 1, True)
        elif s.startswith("true", pos):
            value, pos = True, pos + 4
        elif s.startswith("false", pos):
            value, pos = False, pos + 5
        elif s.startswith("null", pos):
            value, pos = None, pos + 4
        else:
            m = _NUMBER.match(s, pos)
            if m is None:
                raise _syntax(pos)
            value, pos = 0, m.end()
        # A value is complete: attach it, closing containers as far as possible.
        while True:
            pos = _skip_ws(s, pos)
            if not stack:
                if pos != n:
                    raise _syntax(pos, "extra data")
                return value
            frame = stack[-1]
            if frame.is_obj:
                frame.container.append((frame.key, value))
            else:
                frame.container.append(value)
            if pos < n and s[pos] == ",":
                pos = _skip_ws(s, pos + 1)
                if frame.is_obj:
                    frame.key, pos = read_key(pos)
                break
            if pos < n and s[pos] == ("}" if frame.is_obj else "]"):
                stack.pop()
                pos += 1
                value = frame.container
                continue
            raise _syntax(pos, "expected ',' or a closing bracket")


def _load(payload: bytes, what: str) -> object:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode("utf-8", _UTF8_HANDLER)
    try:
        try:
            return json.loads(
                text,
                object_pairs_hook=_Obj,
                parse_constant=_reject_constant,
                parse_int=_zero,
                parse_float=_zero,
            )
        except RecursionError:
            return _loads_deep(text)
    except _Reject as exc:
        raise DockerConfigError(f"{what}: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        # exc.msg is a fixed phrase of the json module; it never quotes the input.
        reason = "a byte-order mark is not allowed" if "BOM" in exc.msg else exc.msg
        raise DockerConfigError(f"{what}: not valid JSON: {reason} at character {exc.pos}") from None


# ---------------------------------------------------------------------------
# Go struct decoding

_FOLD_SPECIAL = str.maketrans({"\u017f": "s", "\u212a": "k", "\u0131": "i", "\u0130": "i"})


def _fold(name: str) -> str | None:
    """Go encoding/json field-name folding, lower-cased; None when it cannot be ASCII."""
    if name.isascii():
        return name.lower()
    folded = name.translate(_FOLD_SPECIAL)
    return folded.lower() if folded.isascii() else None


_ENTRY_FIELDS = frozenset({"username", "password", "email", "auth"})
_TOKEN_FIELDS = frozenset({"identitytoken", "registrytoken"})


def _show_key(index: int, key: str) -> str:
    if "@" in key:
        return f"entry #{index} (key with user info, not shown)"
    shown = key if len(key) <= 80 else key[:77] + "..."
    return f"entry #{index} ({shown!r})"


def _decode_entry(value: object, where: str) -> Credential:
    """DockerConfigEntry.UnmarshalJSON."""
    if value is None:
        return Credential("", "", "", False)
    if not isinstance(value, _Obj):
        raise DockerConfigError(f"{where}: must be a JSON object")
    fields: dict[str, str] = {}
    tokens: dict[str, bool] = {}
    for name, member in value:
        folded = _fold(name)
        if folded in _ENTRY_FIELDS:
            if member is None:
                continue
            if not isinstance(member, str):
                raise DockerConfigError(f"{where}: {folded!r} must be a string")
            fields[folded] = _clean(member)
        elif folded in _TOKEN_FIELDS:
            tokens[folded] = isinstance(member, str) and member != ""
    auth = fields.get("auth", "")
    if auth:
        username, password = _decode_auth(auth, where)
    else:
        username, password = fields.get("username", ""), fields.get("password", "")
    identity_only = (
        any(tokens.values()) and not auth and not fields.get("username") and not fields.get("password")
    )
    return Credential(username, password, fields.get("email", ""), identity_only)


def _decode_map(obj: _Obj, into: dict[str, Credential], what: str) -> None:
    """A Go map[string]DockerConfigEntry: last duplicate wins."""
    for index, (key, member) in enumerate(obj, start=1):
        key = _clean(key)
        into[key] = _decode_entry(member, f"{what} {_show_key(index, key)}")


def parse_dockerconfigjson(payload: bytes) -> list[AuthEntry]:
    """Entries of a decoded ``.dockerconfigjson`` value (``{"auths": {KEY: ENTRY}}``).

    No ``auths`` member (or ``null``) gives an empty list, which the kubelet
    accepts silently. Raises DockerConfigError where the kubelet's decoding fails.
    """
    what = ".dockerconfigjson"
    doc = _load(payload, what)
    if doc is None:
        return []
    if not isinstance(doc, _Obj):
        raise DockerConfigError(f"{what}: must be a JSON object")
    auths: dict[str, Credential] | None = None
    for name, member in doc:
        folded = _fold(name)
        if folded == "auths":
            if member is None:
                auths = None
                continue
            if not isinstance(member, _Obj):
                raise DockerConfigError(f"{what}: 'auths' must be a JSON object")
            if auths is None:
                auths = {}
            _decode_map(member, auths, f"{what} auths")
        elif folded == "httpheaders":
            if member is None:
                continue
            if not isinstance(member, _Obj):
                raise DockerConfigError(f"{what}: 'HttpHeaders' must be a JSON object")
            for _header, header_value in member:
                if header_value is not None and not isinstance(header_value, str):
                    raise DockerConfigError(f"{what}: 'HttpHeaders' values must be strings")
    if not auths:
        return []
    return [AuthEntry(key, cred) for key, cred in auths.items()]


def parse_dockercfg(payload: bytes) -> list[AuthEntry]:
    """Entries of a decoded legacy ``.dockercfg`` value (``{KEY: ENTRY}``).

    Every member is a registry key. A docker ``config.json`` stored here decodes
    to a single entry keyed ``"auths"`` with empty credentials (its members are
    unknown entry fields, ignored), so no real registry gets a credential.
    """
    what = ".dockercfg"
    doc = _load(payload, what)
    if doc is None:
        return []
    if not isinstance(doc, _Obj):
        raise DockerConfigError(f"{what}: must be a JSON object")
    entries: dict[str, Credential] = {}
    _decode_map(doc, entries, what)
    return [AuthEntry(key, cred) for key, cred in entries.items()]
