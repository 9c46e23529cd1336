"""Tests for pullguard.semantics.keyring.

The tables restate, as our own cases, what kubernetes/kubernetes
pkg/credentialprovider/keyring.go does and what its keyring_test.go pins down
(glob hosts, ports, path prefixes, Docker Hub fallback), plus the Go net/url and
path.Match corner cases the kubelet inherits.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pullguard.semantics import keyring as keyring_module
from pullguard.semantics.keyring import (
    DEFAULT_REGISTRY_KEY,
    KeyHolders,
    RegistryKey,
    is_default_registry_match,
    key_matches,
    lookup,
    parse_registry_key,
)

# raw auths key -> normalized location (None: the kubelet skips the key)
KEYS: list[tuple[str, str | None]] = [
    # The scheme is only a hint: http and https are both dropped.
    ("reg.example.com", "reg.example.com"),
    ("https://reg.example.com", "reg.example.com"),
    ("http://reg.example.com", "reg.example.com"),
    ("https://reg.example.com/", "reg.example.com"),
    # Docker's historical Hub key.
    ("https://index.docker.io/v1/", "index.docker.io"),
    ("index.docker.io/v2/", "index.docker.io"),
    # Only a leading "/v1/" or "/v2/" loses three characters.
    ("https://h.example.com/v1", "h.example.com/v1"),
    ("https://h.example.com/v2", "h.example.com/v2"),
    ("https://h.example.com/v1/team", "h.example.com/team"),
    ("https://h.example.com/v2/team/sub", "h.example.com/team/sub"),
    ("https://h.example.com/v3/", "h.example.com/v3/"),
    ("h.example.com/team/v1/", "h.example.com/team/v1/"),
    # Paths and trailing slashes are kept as written.
    ("quay.io/org", "quay.io/org"),
    ("quay.io/org/", "quay.io/org/"),
    # Ports stay part of the host; no default port is implied.
    ("reg.example.com:443", "reg.example.com:443"),
    ("localhost:5000", "localhost:5000"),
    ("reg.example.com:", "reg.example.com:"),
    # A colon after the first slash is path, not port.
    ("https://reg.example.com/path:1111", "reg.example.com/path:1111"),
    # Upper case is kept (and later compared case-sensitively).
    ("REG.example.com", "REG.example.com"),
    # A scheme the kubelet does not recognise becomes part of the key.
    ("HTTPS://reg.example.com", "HTTPS://reg.example.com"),
    ("oci://reg.example.com", "oci://reg.example.com"),
    # User info, query and fragment are dropped; the path is percent-decoded.
    ("user:pw@reg.example.com", "reg.example.com"),
    ("https://reg.example.com/team?x=1", "reg.example.com/team"),
    ("reg.example.com#frag", "reg.example.com"),
    ("reg.example.com/a%20b", "reg.example.com/a b"),
    # Glob keys.
    ("*.example.com", "*.example.com"),
    ("https://*.docker.io/v2/", "*.docker.io"),
    # IPv6 literals: brackets are kept; the content must be an IPv6 address.
    ("[2001:db8::1]", "[2001:db8::1]"),
    ("https://[2001:db8::1]:5000/v2/", "[2001:db8::1]:5000"),
    ("[1.2.3.4]", None),
    ("[not-an-address]:5000", None),
    ("[2001:db8::1", None),
    # Keys url.Parse refuses.
    ("reg.example.com:abc", None),
    ("reg example.com", None),
    ("reg.example.com/%zz", None),
    ("reg.example.com/%4", None),
    ("reg%41.example.com", None),
    ("reg.example.com\n", None),
    ("reg.example.com\x7f", None),
    ("us er@reg.example.com", None),
    ("reg.example.com#%zz", None),
    ("a[b].example.com", None),
    # Degenerate but accepted: they match nothing real.
    ("", ""),
    ("/only/path", "/only/path"),
    ("?.example.com", ""),
]


@pytest.mark.parametrize(("raw", "location"), KEYS)
def test_parse_registry_key(raw: str, location: str | None) -> None:
    parsed = parse_registry_key(raw)
    if location is None:
        assert parsed is None
    else:
        assert parsed == RegistryKey(raw=raw, location=location)


# key location, normalized repository, expected
MATCHES: list[tuple[str, str, bool]] = [
    # Globs are per label and label counts must be equal.
    ("*.kubernetes.io", "prefix.kubernetes.io/app", True),
    ("prefix.*.io", "prefix.kubernetes.io/app", True),
    ("prefix.kubernetes.*", "prefix.kubernetes.io/app", True),
    ("*-good.kubernetes.io", "prefix-good.kubernetes.io/app", True),
    ("*.kubernetes.io/blah", "prefix.kubernetes.io/blah/app", True),
    ("prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", True),
    ("*.example.com", "a.example.com/app", True),
    ("*.example.com", "a.b.example.com/app", False),
    ("*.example.com", "example.com/app", False),
    ("*.*.kubernetes.io", "prefix.kubernetes.io/app", False),
    ("kubernetes.io", "kubernetes.com/app", False),
    ("k*.io", "quay.io/app", False),
    ("suffix.*.io", "prefix.docker.io/app", False),
    ("prefix.docker.c*", "prefix.docker.io/app", False),
    # Only '*' can work in a host: '?' starts the URL query (the host becomes empty),
    # '[' makes url.Parse read an IPv6 literal, '\\' is not allowed in a host.
    ("?.example.com", "a.example.com/app", False),
    ("[a-c]eg.example.com", "beg.example.com/app", False),
    ("\\*.example.com", "a.example.com/app", False),
    ("*a*b*", "xaybz/app", True),
    ("*a*b", "xaybz/app", False),
    # Labels are compared case-sensitively.
    ("REG.example.com", "reg.example.com/app", False),
    ("reg.example.com", "REG.example.com/app", False),
    # Ports are compared as strings.
    ("*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah/x", True),
    ("*.kubernetes.io:1234/blah", "prefix.kubernetes.io:1111/blah/x", False),
    ("prefix.*.io/foo", "prefix.kubernetes.io:1111/foo/bar", False),
    ("reg.example.com", "reg.example.com:5000/app", False),
    ("reg.example.com:443", "reg.example.com/app", False),
    ("reg.example.com:5000", "reg.example.com:5000/app", True),
    ("reg.example.com:", "reg.example.com/app", True),
    ("localhost:5000", "localhost:5000/app", True),
    ("localhost", "localhost:5000/app", False),
    # The key's path is a plain string prefix of the repository's path.
    ("reg.io/team", "reg.io/team2/app", True),
    ("reg.io/team", "reg.io/team/app", True),
    ("reg.io/team/", "reg.io/team2/app", False),
    ("reg.io/team/", "reg.io/team/app", True),
    ("reg.io/team/", "reg.io/team", False),
    ("reg.io/team/app", "reg.io/team", False),
    ("prefix.*.io/path:1111", "prefix.docker.io/path/subpath:1111/x", False),
    ("h.example.com/v1", "h.example.com/v1/app", True),
    ("h.example.com/v1", "h.example.com/app", False),
    # Docker Hub: the repository is always normalized with docker.io.
    ("docker.io", "docker.io/library/nginx", True),
    ("docker.io/library", "docker.io/library/nginx", True),
    ("index.docker.io", "docker.io/library/nginx", False),
    ("registry-1.docker.io", "docker.io/library/nginx", False),
    ("*.docker.io", "docker.io/library/nginx", False),
    ("*.io", "docker.io/library/nginx", True),
    # IPv6: bracketed with a port works; without a port the key is a character class.
    ("[2001:db8::1]:5000", "[2001:db8::1]:5000/app", True),
    ("[2001:db8::1]", "[2001:db8::1]/app", False),
    ("[2001:db8::1]:5000", "[2001:db8::1]:5001/app", False),
    # A key whose location no longer parses never matches.
    ("reg.io/50%", "reg.io/50%/app", False),
    # A single "*" covers every single-label host without a port.
    ("*", "localhost/app", True),
    ("*", "docker.io/library/nginx", False),
]


@pytest.mark.parametrize(("location", "repository", "expected"), MATCHES)
def test_key_matches(location: str, repository: str, expected: bool) -> None:
    assert key_matches(location, repository) is expected


@pytest.mark.parametrize(
    ("raw", "repository"),
    [
        # keyring_test's hit table, expressed as raw keys and the image path it looks up.
        ("https://hello.kubernetes.io", "hello.kubernetes.io/foo/bar"),
        ("https://*.docker.io", "prefix.docker.io/foo/bar"),
        ("https://*.docker.io/path", "prefix.docker.io/path/foo/bar"),
        ("https://prefix.*.io/path", "prefix.docker.io/path/subpath/foo/bar"),
        ("https://*.docker.io:8888", "prefix.docker.io:8888/foo/bar"),
        ("https://*.docker.io/path:1111", "prefix.docker.io/path:1111/foo/bar"),
        ("https://*.docker.io/v1/", "prefix.docker.io/path:1111/foo/bar"),
        ("https://*.docker.io/v2/", "prefix.docker.io/path:1111/foo/bar"),
        ("prefix.docker.io:1111", "prefix.docker.io:1111/path/foo/bar"),
        ("*.docker.io:1111", "prefix.docker.io:1111/path/foo/bar"),
    ],
)
def test_raw_key_hits(raw: str, repository: str) -> None:
    key = parse_registry_key(raw)
    assert key is not None
    assert lookup([key.location], repository) == [key.location]


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        ("foo/bar", True),
        ("foo", True),
        ("docker.io/foo/bar", True),
        ("docker.io/library/nginx", True),
        ("index.docker.io/foo/bar", True),
        ("localhost/app", True),
        ("MYREGISTRY/app", True),
        ("", False),
        ("/app", False),
        ("registry.tld/foo/bar", False),
        ("registry:5000/foo/bar", False),
        ("myhostdocker.io/foo/bar", False),
        ("registry-1.docker.io/library/nginx", False),
        ("[::1]/app", False),
    ],
)
def test_is_default_registry_match(repository: str, expected: bool) -> None:
    assert is_default_registry_match(repository) is expected


@pytest.mark.parametrize(
    ("locations", "repository", "expected"),
    [
        # The Hub fallback key covers Hub images only when nothing else matched.
        (["index.docker.io"], "docker.io/library/nginx", ["index.docker.io"]),
        (["index.docker.io"], "docker.io/google/docker-registry", ["index.docker.io"]),
        (["index.docker.io"], "localhost/app", ["index.docker.io"]),
        (["index.docker.io"], "world.mesos.org/foo/bar", []),
        (["index.docker.io"], "localhost:5000/app", []),
        (["index.docker.io", "docker.io"], "docker.io/library/nginx", ["docker.io"]),
        (["index.docker.io", "docker.io/library"], "docker.io/library/nginx", ["docker.io/library"]),
        (["index.docker.io/v1"], "docker.io/library/nginx", []),
        (["registry-1.docker.io", "*.docker.io"], "docker.io/library/nginx", []),
        (["docker.io"], "docker.io/library/nginx", ["docker.io"]),
        # All matches, reverse byte order: longer paths first, '*' after letters.
        (["quay.io", "quay.io/coreos"], "quay.io/coreos/etcd", ["quay.io/coreos", "quay.io"]),
        (
            ["*.example.com", "a.example.com", "a.example.com/team"],
            "a.example.com/team/app",
            ["a.example.com/team", "a.example.com", "*.example.com"],
        ),
        (["reg.io/team", "reg.io/team2"], "reg.io/team2/app", ["reg.io/team2", "reg.io/team"]),
        # Duplicates are removed.
        (["reg.io", "reg.io", "reg.io"], "reg.io/app", ["reg.io"]),
        (iter(["b.io", "a.io", "b.io"]), "b.io/app", ["b.io"]),
        # No keys, no match.
        ([], "docker.io/library/nginx", []),
        (["hello.kubernetes.io"], "world.mesos.org/foo/bar", []),
    ],
)
def test_lookup(locations: list[str], repository: str, expected: list[str]) -> None:
    assert lookup(locations, repository) == expected


def test_default_registry_key_constant() -> None:
    assert DEFAULT_REGISTRY_KEY == "index.docker.io"
    key = parse_registry_key("https://index.docker.io/v1/")
    assert key is not None and key.location == DEFAULT_REGISTRY_KEY


@given(st.text(max_size=60))
def test_parse_registry_key_never_raises(raw: str) -> None:
    parsed = parse_registry_key(raw)
    assert parsed is None or parsed.raw == raw


_URLISH = st.text(alphabet="ab.:/[]*?\\-^%25@#!{}", max_size=30)


@given(st.one_of(st.text(max_size=40), _URLISH), st.one_of(st.text(max_size=40), _URLISH))
def test_key_matches_never_raises(location: str, repository: str) -> None:
    assert key_matches(location, repository) in (True, False)


@given(st.lists(st.sampled_from(["a.io", "a.io/x", "*.io", "index.docker.io", "docker.io", "b.io:1"])))
def test_lookup_is_sorted_subset(locations: list[str]) -> None:
    result = lookup(locations, "a.io/x/y")
    assert result == sorted(set(result), reverse=True)
    assert set(result) <= set(locations)


# Go path.Match, restated (the label matcher behind key_matches).
GLOBS: list[tuple[str, str, bool | None]] = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*/b", "abc/b", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("[a-ζ]*", "α", True),
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[", "a", None),
    ("[^", "a", None),
    ("[^bc", "a", None),
    ("a[", "a", None),
    ("a[", "ab", None),
    ("*x", "xxx", True),
    ("[]a]", "]", None),
    ("[-]", "-", None),
    ("[x-]", "x", None),
    ("\\", "a", None),
    ("[a-b-c]", "a", None),
    ("a*[", "ab", None),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), GLOBS)
def test_go_path_match(pattern: str, name: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(keyring_module._BadPattern):
            keyring_module._go_match(pattern, name)
        assert keyring_module._glob_label(pattern, name) is False
    else:
        assert keyring_module._go_match(pattern, name) is expected


_KEYS = st.sampled_from(
    [
        "a.io",
        "a.io/x",
        "a.io:5000",
        "A.io",
        "*.io",
        "*.a.io",
        "a.*",
        "[ab].io",
        "b.io",
        "b.io/x/y",
        "index.docker.io",
        "docker.io",
        "docker.io/library",
        "x.a.io",
        "a.io/",
        "::bad",
    ]
)
_REPOSITORIES = st.sampled_from(
    [
        "a.io/x/y",
        "a.io:5000/x",
        "b.io/x/y/z",
        "x.a.io/team/app",
        "docker.io/library/nginx",
        "index.docker.io/library/nginx",
        "nginx",
        "c.io/a",
        "a.ioo/x",
    ]
)


@given(st.lists(_KEYS, max_size=12), _REPOSITORIES)
def test_indexed_lookup_is_the_kubelets_lookup(locations: list[str], repository: str) -> None:
    """`lookup` tries only the keys of the image's host (and wildcard keys): the same answer as
    trying every key of the keyring, as keyring.go's Lookup does."""
    unique = set(locations)
    every = [key for key in sorted(unique, reverse=True) if key_matches(key, repository)]
    if not every and DEFAULT_REGISTRY_KEY in unique and is_default_registry_match(repository):
        every = [DEFAULT_REGISTRY_KEY]
    assert lookup(locations, repository) == every


@given(st.lists(st.lists(_KEYS, max_size=4), max_size=6), _REPOSITORIES)
def test_key_holders_are_the_holders_whose_own_keyring_covers_the_image(
    keyrings: list[list[str]], repository: str
) -> None:
    """`KeyHolders.holding` indexes many secrets' keys at once: the secrets whose own `lookup`
    finds a key (the Docker Hub fallback included), in the given order."""
    holders = KeyHolders(enumerate(keyrings))
    assert holders.holding(repository) == [
        position for position, keys in enumerate(keyrings) if lookup(keys, repository)
    ]
