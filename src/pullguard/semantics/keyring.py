"""Which pull-secret keys the kubelet tries for an image, reproduced exactly.

Pure functions, no I/O. Sources (kubernetes/kubernetes, v1.33-era main branch;
the matching rules are unchanged since v1.32 and long before):

``parse_registry_key`` mirrors ``BasicDockerKeyring.Add`` (pkg/credentialprovider/keyring.go):
    a key that does not start with the exact, lower-case ``https://`` or
    ``http://`` gets ``https://`` prepended (so ``HTTPS://h`` or ``oci://h``
    become part of the host/path and match nothing sensible); Go's ``url.Parse``
    must succeed, otherwise the key is skipped (None here); the scheme, user
    info, ``?query`` and ``#fragment`` are dropped; the path is percent-decoded;
    a leading ``/v1/`` or ``/v2/`` loses its first three characters (``/v1`` with
    no slash stays); the key is ``Host`` (with port and IPv6 brackets) plus that
    path, or the host alone when the path is empty or ``/``.

``key_matches`` mirrors ``URLsMatchStr`` / ``URLsMatch`` / ``SplitURL``:
    both strings are parsed again with ``url.Parse("https://" + s)``; the host is
    split into host and port with ``net.SplitHostPort`` (on failure the whole
    host is kept and the port is empty, which is why ``[2001:db8::1]`` without a
    port stays bracketed); ports are compared as strings; the host is split on
    ``.``, label counts must be equal, and each key label is a
    ``path/filepath.Match`` pattern (``*``, ``?``, ``[...]``, ``\\`` escapes;
    a malformed pattern matches nothing), compared case-sensitively; the key's
    path must be a plain string prefix of the image's path.

``is_default_registry_match`` mirrors ``isDefaultRegistryMatch``.

``lookup`` mirrors ``BasicDockerKeyring.Lookup`` for one keyring (all the pod's
pull secrets together form one keyring; node credentials form another): the
index is de-duplicated and sorted in reverse byte order, every matching key is
returned in that order, and only when none matched is the key
``index.docker.io`` used for images ``is_default_registry_match`` accepts.

The repository passed to the kubelet's ``Lookup`` is ``named.Name()`` from
``reference.ParseNormalizedNamed`` (pkg/util/parsers ``ParseImageName``, called
from ``makeLookupPullCredentialsFunc`` in pkg/kubelet/images/image_manager.go):
the normalized name without tag or digest, e.g. ``docker.io/library/nginx``.

Go ``net/url`` version notes. Since Go 1.24.8 / 1.25.2 (the CVE-2025-47912
fix) a bracketed host must hold an IPv6 address and ``[`` may only start the
host; this module follows that (kubelets built with older Go accepted
``[anything]`` and ``a[b-c].io`` hosts). Go 1.26 rejects several colons in an
unbracketed http(s) host (``a:b:5000``); this module follows Go <= 1.25, which
accepts such a key. That key can never match a valid image either way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

__all__ = [
    "DEFAULT_REGISTRY_KEY",
    "RegistryKey",
    "is_default_registry_match",
    "key_matches",
    "lookup",
    "parse_registry_key",
    "schemeless_url_parts",
]

#: The only key the Docker Hub fallback uses (keyring.go ``defaultRegistryHost``).
DEFAULT_REGISTRY_KEY = "index.docker.io"


@dataclass(frozen=True, slots=True)
class RegistryKey:
    raw: str  # as written in the auths map
    location: str  # the kubelet's normalized key: host[:port] + effective path


# ---------------------------------------------------------------------------
# Go net/url, as far as the kubelet exercises it (scheme always http or https)

_HEX = frozenset("0123456789abcdefABCDEF")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# ASCII characters shouldEscape(c, encodeHost) lets through unescaped.
_HOST_OK = frozenset(_ALNUM + "-_.~" + "!$&'()*+,;=:[]<>\"")
# validUserinfo.
_USERINFO_OK = frozenset(_ALNUM + "-._:~!$&'()*+,;=%@")
_DIGITS = frozenset("0123456789")

_MODE_OTHER = 0  # path, fragment, user info: only the escapes are checked
_MODE_HOST = 1
_MODE_ZONE = 2


def _unescape(s: str, mode: int) -> str | None:
    """net/url unescape: validate (per mode) and decode %XX; None on error."""
    checks_chars = mode != _MODE_OTHER
    if "%" not in s:
        if checks_chars:
            for ch in s:
                if ch < "\x80" and ch not in _HOST_OK:
                    return None
        return s
    out = bytearray()
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch == "%":
            if i + 2 >= n or s[i + 1] not in _HEX or s[i + 2] not in _HEX:
                return None
            value = int(s[i + 1 : i + 3], 16)
            escape = s[i : i + 3]
            if mode == _MODE_HOST and value < 0x80 and escape != "%25":
                return None
            if (
                mode == _MODE_ZONE
                and escape != "%25"
                and value != 0x20
                and (value >= 0x80 or chr(value) not in _HOST_OK)
            ):
                return None
            out.append(value)
            i += 3
            continue
        if checks_chars and ch < "\x80" and ch not in _HOST_OK:
            return None
        out += ch.encode("utf-8", "surrogatepass")
        i += 1
    # Go keeps raw bytes; a non-UTF-8 result can never equal an image host anyway.
    return out.decode("utf-8", "replace")


def _valid_optional_port(colon_port: str) -> bool:
    if colon_port == "":
        return True
    if colon_port[0] != ":":
        return False
    return all(c in _DIGITS for c in colon_port[1:])


def _is_ipv6_literal(text: str) -> bool:
    """netip.ParseAddr succeeds and the address is not plain IPv4."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _parse_host(host: str) -> str | None:
    """net/url parseHost (Go >= 1.25.2 bracket rules, Go <= 1.25 colon rule)."""
    open_idx = host.rfind("[")
    if open_idx > 0:
        return None
    if open_idx == 0:
        close_idx = host.rfind("]")
        if close_idx < 0:
            return None
        colon_port = host[close_idx + 1 :]
        if not _valid_optional_port(colon_port):
            return None
        hostname = host[1:close_idx]
        zone_idx = hostname.find("%25")
        if zone_idx >= 0:
            left = _unescape(hostname[:zone_idx], _MODE_HOST)
            zone = _unescape(hostname[zone_idx:], _MODE_ZONE)
            if left is None or zone is None:
                return None
            unescaped = left + zone
        else:
            maybe = _unescape(hostname, _MODE_HOST)
            if maybe is None:
                return None
            unescaped = maybe
        if not _is_ipv6_literal(unescaped):
            return None
        return "[" + unescaped + "]" + colon_port
    colon = host.rfind(":")
    if colon >= 0 and not _valid_optional_port(host[colon:]):
        return None
    return _unescape(host, _MODE_HOST)


def _has_control(s: str) -> bool:
    return any(c < " " or c == "\x7f" for c in s)


def _parse_url(after_scheme: str) -> tuple[str, str] | None:
    """url.Parse of ``http(s):`` + after_scheme (which starts with ``//``): (Host, Path)."""
    if _has_control(after_scheme):
        return None
    rest, _, fragment = after_scheme.partition("#")
    if fragment and _unescape(fragment, _MODE_OTHER) is None:
        return None
    rest = rest.partition("?")[0]
    authority = rest[2:]
    slash = authority.find("/")
    if slash >= 0:
        authority, raw_path = authority[:slash], authority[slash:]
    else:
        raw_path = ""
    at = authority.rfind("@")
    host = _parse_host(authority[at + 1 :])
    if host is None:
        return None
    if at >= 0:
        userinfo = authority[:at]
        if any(c not in _USERINFO_OK for c in userinfo):
            return None
        user, _, password = userinfo.partition(":")
        if _unescape(user, _MODE_OTHER) is None or _unescape(password, _MODE_OTHER) is None:
            return None
    path = _unescape(raw_path, _MODE_OTHER)
    if path is None:
        return None
    return host, path


def _split_host_port(hostport: str) -> tuple[str, str]:
    """net.SplitHostPort; on error (as SplitURL does) the whole host and no port."""
    last_colon = hostport.rfind(":")
    if last_colon < 0:
        return hostport, ""
    if hostport[0] == "[":
        end = hostport.find("]")
        if end < 0 or end + 1 != last_colon:
            return hostport, ""
        host = hostport[1:end]
        skip_open, skip_close = 1, end + 1
    else:
        host = hostport[:last_colon]
        if ":" in host:
            return hostport, ""
        skip_open = skip_close = 0
    if "[" in hostport[skip_open:] or "]" in hostport[skip_close:]:
        return hostport, ""
    return host, hostport[last_colon + 1 :]


# ---------------------------------------------------------------------------
# Go path.Match / filepath.Match (Unix: '\\' escapes), applied to one host label


class _BadPattern(Exception):
    pass


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    start = 0
    while start < len(pattern) and pattern[start] == "*":
        start += 1
        star = True
    pattern = pattern[start:]
    in_range = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif c == "[":
            in_range = True
        elif c == "]":
            in_range = False
        elif c == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _get_esc(chunk: str, i: int) -> tuple[str, int]:
    if i >= len(chunk) or chunk[i] in "-]":
        raise _BadPattern
    if chunk[i] == "\\":
        i += 1
        if i >= len(chunk):
            raise _BadPattern
    r = chunk[i]
    i += 1
    if i >= len(chunk):
        raise _BadPattern
    return r, i


def _match_chunk(chunk: str, s: str) -> str | None:
    """The rest of s after chunk matched its start, or None; _BadPattern when malformed."""
    failed = False
    ci = si = 0
    while ci < len(chunk):
        if not failed and si >= len(s):
            failed = True
        c = chunk[ci]
        if c == "[":
            r = ""
            if not failed:
                r = s[si]
                si += 1
            ci += 1
            negated = ci < len(chunk) and chunk[ci] == "^"
            if negated:
                ci += 1
            matched = False
            ranges = 0
            while True:
                if ci < len(chunk) and chunk[ci] == "]" and ranges > 0:
                    ci += 1
                    break
                lo, ci = _get_esc(chunk, ci)
                hi = lo
                if chunk[ci] == "-":
                    hi, ci = _get_esc(chunk, ci + 1)
                if not failed and lo <= r <= hi:
                    matched = True
                ranges += 1
            if matched == negated:
                failed = True
        elif c == "?":
            if not failed:
                if s[si] == "/":
                    failed = True
                si += 1
            ci += 1
        else:
            if c == "\\":
                ci += 1
                if ci >= len(chunk):
                    raise _BadPattern
            if not failed:
                if chunk[ci] != s[si]:
                    failed = True
                si += 1
            ci += 1
    if failed:
        return None
    return s[si:]


def _go_match(pattern: str, name: str) -> bool:
    """path.Match; raises _BadPattern where Go returns ErrBadPattern."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and chunk == "":
            return "/" not in name
        rest = _match_chunk(chunk, name)
        if rest is not None and (rest == "" or pattern):
            name = rest
            continue
        if star:
            advanced = False
            i = 0
            while i < len(name) and name[i] != "/":
                rest = _match_chunk(chunk, name[i + 1 :])
                if rest is not None:
                    if not pattern and rest:
                        i += 1
                        continue
                    name = rest
                    advanced = True
                    break
                i += 1
            if advanced:
                continue
        # Before answering "no", Go checks that the rest of the pattern is well formed.
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return name == ""


_GLOB_CHARS = frozenset("*?[\\")


@lru_cache(maxsize=65536)
def _glob_label(pattern: str, label: str) -> bool:
    try:
        return _go_match(pattern, label)
    except _BadPattern:
        return False


def _label_matches(pattern: str, label: str) -> bool:
    if _GLOB_CHARS.isdisjoint(pattern):
        return pattern == label
    return _glob_label(pattern, label)


@lru_cache(maxsize=65536)
def _match_form(schemeless: str) -> tuple[tuple[str, ...], str, str] | None:
    """ParseSchemelessURL + SplitURL: (host labels, port, path), or None if unparsable."""
    parsed = _parse_url("//" + schemeless)
    if parsed is None:
        return None
    host, path = parsed
    hostname, port = _split_host_port(host)
    return tuple(hostname.split(".")), port, path


# ---------------------------------------------------------------------------
# Public API


@lru_cache(maxsize=65536)
def parse_registry_key(raw: str) -> RegistryKey | None:
    """The kubelet's index key for an auths key, or None when the kubelet skips it."""
    if raw.startswith("https://"):
        after_scheme = raw[len("https:") :]
    elif raw.startswith("http://"):
        after_scheme = raw[len("http:") :]
    else:
        after_scheme = "//" + raw
    parsed = _parse_url(after_scheme)
    if parsed is None:
        return None
    host, path = parsed
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    location = host + path if path and path != "/" else host
    return RegistryKey(raw=raw, location=location)


def schemeless_url_parts(text: str) -> tuple[tuple[str, ...], str, str] | None:
    """ParseSchemelessURL + SplitURL: (host labels, port, path), or None where the kubelet's parse fails."""
    return _match_form(text)


@lru_cache(maxsize=65536)
def key_matches(location: str, repository: str) -> bool:
    """URLsMatchStr(location, repository): does this keyring key cover the repository?"""
    key = _match_form(location)
    if key is None:
        return False
    target = _match_form(repository)
    if target is None:
        return False
    key_labels, key_port, key_path = key
    target_labels, target_port, target_path = target
    if key_port != target_port or len(key_labels) != len(target_labels):
        return False
    if not target_path.startswith(key_path):
        return False
    return all(_label_matches(p, t) for p, t in zip(key_labels, target_labels, strict=True))


def is_default_registry_match(repository: str) -> bool:
    """isDefaultRegistryMatch: would Docker Hub serve this repository, judged by its name?"""
    first, slash, _ = repository.partition("/")
    if first == "":
        return False
    if not slash:
        return True
    if first in ("docker.io", "index.docker.io"):
        return True
    return "." not in first and ":" not in first


def lookup(locations: Iterable[str], repository: str) -> list[str]:
    """Matching key locations in the order the kubelet tries them.

    The index de-duplicated and reverse-sorted, all matches; if none matched,
    the Docker Hub fallback key ``index.docker.io`` when present and
    ``is_default_registry_match(repository)``.
    """
    return key_index(frozenset(locations)).lookup(repository)


_Holder = TypeVar("_Holder")


class KeyIndex:
    """Keyring locations arranged for `lookup`. A key without glob characters matches only an
    image of its own host and port (URLsMatch compares every label and the port exactly), so
    only those keys and the glob keys are tried: an image's lookup costs what matches it, not
    the size of the keyring (a ServiceAccount with a thousand pull secrets, a cluster's evidence)."""

    __slots__ = ("_by_host", "_globbed", "_unique")

    def __init__(self, locations: frozenset[str]) -> None:
        self._unique = locations
        self._by_host: dict[tuple[tuple[str, ...], str], list[str]] = {}
        self._globbed: list[str] = []
        for key in locations:
            form = _match_form(key)
            if form is None:
                continue  # the kubelet cannot parse it: it never matches
            labels, port, _ = form
            if any(not _GLOB_CHARS.isdisjoint(label) for label in labels):
                self._globbed.append(key)
            else:
                self._by_host.setdefault((labels, port), []).append(key)

    def matching(self, repository: str) -> list[str]:
        """The keys that cover `repository` (URLsMatch), in the kubelet's order; no fallback."""
        target = _match_form(repository)
        candidates = self._globbed
        if target is not None:
            candidates = [*self._by_host.get((target[0], target[1]), ()), *candidates]
        return sorted((key for key in candidates if key_matches(key, repository)), reverse=True)

    def lookup(self, repository: str) -> list[str]:
        matched = self.matching(repository)
        if matched:
            return matched
        if DEFAULT_REGISTRY_KEY in self._unique and is_default_registry_match(repository):
            return [DEFAULT_REGISTRY_KEY]
        return []


@lru_cache(maxsize=256)
def key_index(locations: frozenset[str]) -> KeyIndex:
    """One index per distinct keyring: the pods of one ServiceAccount share theirs."""
    return KeyIndex(locations)


class KeyHolders(Generic[_Holder]):
    """Which holders (pull secrets) hold each key location, indexed for `holding`: one build for
    a namespace's secrets, then each image's lookup costs what matches it."""

    __slots__ = ("_holders", "_index", "_owners")

    def __init__(self, held: Iterable[tuple[_Holder, Iterable[str]]]) -> None:
        self._holders: list[_Holder] = []
        self._owners: dict[str, list[int]] = {}  # key location -> positions of its holders
        for position, (holder, locations) in enumerate(held):
            self._holders.append(holder)
            for location in dict.fromkeys(locations):
                self._owners.setdefault(location, []).append(position)
        self._index = KeyIndex(frozenset(self._owners))

    def holding(self, repository: str) -> list[_Holder]:
        """The holders whose own keyring covers `repository` (their `lookup` finds a key, the
        kubelet's fallback to the Docker Hub key included), in the order they were given."""
        matched = self._index.matching(repository)
        if is_default_registry_match(repository):
            matched.append(DEFAULT_REGISTRY_KEY)
        positions = sorted({position for location in matched for position in self._owners.get(location, ())})
        return [self._holders[position] for position in positions]
