"""Tests for pullguard.semantics.matchimages: which images the kubelet asks a provider about.

The table restates, as our own cases, kubernetes/kubernetes
pkg/credentialprovider/plugin/plugin_test.go (`isImageAllowed` and the `matchImages` of
`Test_ProvideWithCoordinates`: `*.registry.io:8080`, `*.*.registry.io`, exact hosts and paths)
and keyring_test.go's URLsMatch cases as they apply to matchImages entries (used as written,
without the auths-key normalization), plus the mistakes the kubelet accepts silently.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pullguard.semantics.keyring import key_matches
from pullguard.semantics.matchimages import first_match, invalid_entry, label_count_misses, never_matches

# (matchImages entry, normalized repository, asked?)
ALLOWED: list[tuple[str, str, bool]] = [
    ("test.registry.io", "test.registry.io/foo/bar", True),
    ("test.registry.io/foo/bar", "test.registry.io/foo/bar", True),
    ("test.registry.io", "test.registry.io", True),
    ("*.registry.io:8080", "test.registry.io:8080/foo", True),
    ("*.*.registry.io", "foo.bar.registry.io/foo/bar", True),
    ("*.registry.io", "test.registry.io", True),
    # one label per *, same label count
    ("*.registry.io", "foo.bar.registry.io/foo", False),
    ("*.*.registry.io", "test.registry.io/foo", False),
    ("*", "localhost/app", True),
    ("*", "docker.io/library/nginx", False),
    # ports compared as strings: no port matches no port only
    ("registry.io", "registry.io:5000/app", False),
    ("registry.io:5000", "registry.io/app", False),
    ("registry.io:5000", "registry.io:5000/app", True),
    # the path is a literal prefix, with no glob
    ("registry.io/team", "registry.io/team/app", True),
    ("registry.io/team", "registry.io/team2/app", True),  # the prefix over-matches, as upstream
    ("registry.io/*", "registry.io/team/app", False),
    ("*.registry.io/*", "a.registry.io/app", False),  # the KEP-4412 README's own example
    # label globs: filepath.Match per label
    ("app*.k8s.io", "appdev.k8s.io/x", True),
    ("k8s.*", "k8s.io/x", True),
    # '?' starts the URL query, so it is never a glob: "k8s.i?" is the host "k8s.i",
    # "k8s.?o" the host "k8s." (an empty second label)
    ("k8s.i?", "k8s.io/x", False),
    ("k8s.?o", "k8s.io/x", False),
    # '[' may only start a host since Go 1.25.2 (CVE-2025-47912): the entry does not parse
    ("k8s.[a-i]o", "k8s.io/x", False),
    ("*.dkr.ecr.*.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", True),
    ("*.dkr.ecr.*.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com.cn/app", False),
    ("*.azurecr.io", "contoso.azurecr.io/app", True),
    # written with a scheme: parsed as https://https://..., the host becomes "https:"
    ("https://registry.io", "registry.io/app", False),
]


@pytest.mark.parametrize(("entry", "repository", "asked"), ALLOWED)
def test_is_image_allowed(entry: str, repository: str, asked: bool) -> None:
    assert (first_match([entry], repository) == entry) is asked


def test_first_match_keeps_configuration_order() -> None:
    entries = ["other.io", "*.registry.io", "a.registry.io"]
    assert first_match(entries, "a.registry.io/x") == "*.registry.io"
    assert first_match(entries, "b.io/x") is None


NEVER: list[tuple[str, str | None]] = [
    ("registry.io/*", "literal prefix"),
    ("*.registry.io/team/*", "literal prefix"),
    ("registry.io/app[0-9]", "literal prefix"),
    ("registry.io/app?", None),  # '?' starts the query, which is dropped: the path is "/app"
    ("registry.io:*", None),  # an invalid port: ParseSchemelessURL fails, a validation error instead
    ("https://registry.io", "scheme"),
    ("registry..io", "empty host label"),
    ("registry.io", None),
    ("*.registry.io", None),
    ("registry.io/team", None),
    ("registry.io:5000/team", None),
]


@pytest.mark.parametrize(("entry", "why"), NEVER)
def test_never_matches(entry: str, why: str | None) -> None:
    reason = never_matches(entry)
    if why is None:
        assert reason is None
    else:
        assert reason is not None and why in reason


def test_invalid_entries_are_what_validation_rejects() -> None:
    assert invalid_entry("registry.io:*") is not None
    assert invalid_entry("[not-ipv6]") is not None
    assert invalid_entry("registry.io/*") is None  # accepted, and matches nothing
    assert invalid_entry("*.registry.io") is None


def test_label_count_misses() -> None:
    hosts = ["reg.eu.example.com", "reg.example.com", "example.com", "quay.io", "reg.eu.example.com:5000"]
    assert label_count_misses("*.example.com", hosts) == ("reg.eu.example.com", "example.com")
    assert label_count_misses("*.*.example.com", hosts) == ("reg.example.com", "example.com")
    assert label_count_misses("*.io", ["a.b.io"]) == ()  # a one-label suffix names no registry
    assert label_count_misses("*.dkr.ecr.*.amazonaws.com", ["1.dkr.ecr.eu-west-1.amazonaws.com"]) == ()


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_HOST = st.lists(_LABEL, min_size=1, max_size=4).map(".".join)
_PATH = st.lists(st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True), min_size=1, max_size=3).map("/".join)


@given(_HOST, _PATH, st.sampled_from(["*", "[a-z]", "*/x"]))
def test_a_glob_in_the_path_never_matches_any_image(host: str, path: str, glob: str) -> None:
    entry = f"{host}/{path}{glob}"
    assert never_matches(entry) is not None
    assert not key_matches(entry, f"{host}/{path}x/y")
    assert not key_matches(entry, f"{host}/{path}/x")


@given(_HOST, _PATH)
def test_an_entry_that_can_match_is_not_reported(host: str, path: str) -> None:
    for entry in (host, f"{host}/{path}", "*." + host.split(".", 1)[-1] if "." in host else host):
        assert never_matches(entry) is None


@given(st.lists(_LABEL, min_size=2, max_size=4), _PATH)
def test_star_stands_for_exactly_one_label(labels: list[str], path: str) -> None:
    host = ".".join(labels)
    entry = "*." + ".".join(labels[1:])
    assert key_matches(entry, f"{host}/{path}")
    assert not key_matches(entry, f"x.{host}/{path}")
    assert label_count_misses(entry, [f"x.{host}"]) == (f"x.{host}",) or len(labels[1:]) < 2


@given(st.text(max_size=40))
def test_matchimages_functions_never_raise(entry: str) -> None:
    never_matches(entry)
    invalid_entry(entry)
    label_count_misses(entry, ["a.b.c", "x"])
    first_match([entry], "a.b.c/x")


def test_port_misses() -> None:
    from pullguard.semantics.matchimages import port_misses

    hosts = ["registry.io:5000", "registry.io", "other.io:5000", "a.registry.io:5000"]
    assert port_misses("registry.io", hosts) == ("registry.io:5000",)
    assert port_misses("registry.io:5000", hosts) == ("registry.io",)
    assert port_misses("*.registry.io", hosts) == ("a.registry.io:5000",)
    assert port_misses("registry.io/team", ["registry.io:443"]) == ("registry.io:443",)
