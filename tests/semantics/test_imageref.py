"""Tests for pullguard.semantics.imageref.

The tables restate, as our own cases, the behaviour pinned down by the test vectors of
github.com/distribution/reference (reference_test.go, normalize_test.go, regexp_test.go)
and github.com/opencontainers/go-digest v1.0.0, plus inputs seen in real manifests.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pullguard.errors import InvalidImageReference
from pullguard.semantics.imageref import MAX_REFERENCE_LENGTH, ImageRef, parse_image

SHA256 = "sha256:" + "f" * 64
SHA256_B = "sha256:" + "86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
SHA384 = "sha384:" + "a" * 96
SHA512 = "sha512:" + "0" * 128
HEX64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"

# input -> (domain, path, tag, digest)
VALID: list[tuple[str, tuple[str, str, str | None, str | None]]] = [
    # Docker Hub: familiar names get docker.io and, with one component, library/.
    ("nginx", ("docker.io", "library/nginx", None, None)),
    ("nginx:1.25", ("docker.io", "library/nginx", "1.25", None)),
    ("library/nginx", ("docker.io", "library/nginx", None, None)),
    ("bitnami/redis:7.2", ("docker.io", "bitnami/redis", "7.2", None)),
    ("docker.io/nginx", ("docker.io", "library/nginx", None, None)),
    ("docker.io/library/nginx:latest", ("docker.io", "library/nginx", "latest", None)),
    ("docker.io/bitnami/redis", ("docker.io", "bitnami/redis", None, None)),
    ("index.docker.io/nginx", ("docker.io", "library/nginx", None, None)),
    ("index.docker.io/library/debian", ("docker.io", "library/debian", None, None)),
    ("index.docker.io/docker/docker", ("docker.io", "docker/docker", None, None)),
    ("library/foo/bar", ("docker.io", "library/foo/bar", None, None)),
    ("store/foo/bar", ("docker.io", "store/foo/bar", None, None)),
    ("other/library", ("docker.io", "other/library", None, None)),
    ("ubuntu-12.04-base", ("docker.io", "library/ubuntu-12.04-base", None, None)),
    # registry-1.docker.io is a plain host: no rewrite, no library/.
    ("registry-1.docker.io/nginx", ("registry-1.docker.io", "nginx", None, None)),
    ("registry-1.docker.io/library/nginx:1", ("registry-1.docker.io", "library/nginx", "1", None)),
    # A name without "/" is always a Docker Hub name, even when it looks like a host.
    ("localhost:5000", ("docker.io", "library/localhost", "5000", None)),
    ("test.com:5000", ("docker.io", "library/test.com", "5000", None)),
    ("192.168.1.1", ("docker.io", "library/192.168.1.1", None, None)),
    ("192.168.0.1:80", ("docker.io", "library/192.168.0.1", "80", None)),
    ("foo_bar.com:8080", ("docker.io", "library/foo_bar.com", "8080", None)),
    ("test_com", ("docker.io", "library/test_com", None, None)),
    # localhost, with and without port.
    ("localhost/fooo", ("localhost", "fooo", None, None)),
    ("localhost/fooo/bar:dev", ("localhost", "fooo/bar", "dev", None)),
    ("localhost:5000/team/app:v2", ("localhost:5000", "team/app", "v2", None)),
    # Hosts and ports.
    ("gcr.io/project/app", ("gcr.io", "project/app", None, None)),
    ("test:5000/repo", ("test:5000", "repo", None, None)),
    ("test.com/repo:tag", ("test.com", "repo", "tag", None)),
    ("127.0.0.1:5000/docker/docker", ("127.0.0.1:5000", "docker/docker", None, None)),
    ("192.168.1.1:5000/repo:5050", ("192.168.1.1:5000", "repo", "5050", None)),
    (
        "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        ("sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", None),
    ),
    (
        "b.gcr.io/test.example.com/my-app:test.example.com",
        ("b.gcr.io", "test.example.com/my-app", "test.example.com", None),
    ),
    ("xn--n3h.com/myimage:xn--n3h.com", ("xn--n3h.com", "myimage", "xn--n3h.com", None)),
    ("foo/foo_bar.com:8080", ("docker.io", "foo/foo_bar.com", "8080", None)),
    # IPv6 in brackets.
    ("[2001:db8::1]/repo", ("[2001:db8::1]", "repo", None, None)),
    ("[2001:db8:1:2:3:4:5:6]/repo:tag", ("[2001:db8:1:2:3:4:5:6]", "repo", "tag", None)),
    ("[::1]:5000/repo", ("[::1]:5000", "repo", None, None)),
    ("[2001:db8::]:5000/repo", ("[2001:db8::]:5000", "repo", None, None)),
    ("[fc00:1:2:3:4:5:6:7]:5000/library/debian", ("[fc00:1:2:3:4:5:6:7]:5000", "library/debian", None, None)),
    # An upper-case first component is taken as a host; upper case in a host is kept.
    ("Foo/bar", ("Foo", "bar", None, None)),
    ("DOCKER/docker", ("DOCKER", "docker", None, None)),
    ("LOCALDOMAIN/fooo/bar", ("LOCALDOMAIN", "fooo/bar", None, None)),
    ("GCR.IO/project/app", ("GCR.IO", "project/app", None, None)),
    ("INDEX.DOCKER.IO/foo", ("INDEX.DOCKER.IO", "foo", None, None)),
    # Tags: case as written, up to 128 characters.
    ("lowercase:Uppercase", ("docker.io", "library/lowercase", "Uppercase", None)),
    ("app:_x", ("docker.io", "library/app", "_x", None)),
    ("app:" + "t" * 128, ("docker.io", "library/app", "t" * 128, None)),
    # Path separators: ".", "_", "__", runs of "-".
    ("docker---rules/docker", ("docker.io", "docker---rules/docker", None, None)),
    ("dock__er/docker", ("docker.io", "dock__er/docker", None, None)),
    ("d/docker", ("docker.io", "d/docker", None, None)),
    # A 64-hex string is fine once it is not the whole reference.
    ("docker.io/" + HEX64, ("docker.io", "library/" + HEX64, None, None)),
    (HEX64 + ":v1", ("docker.io", "library/" + HEX64, "v1", None)),
    (
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        ("docker.io", "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", None, None),
    ),
    # Digests, alone and with a tag.
    ("test:5000/repo@" + SHA256, ("test:5000", "repo", None, SHA256)),
    ("test:5000/repo:tag@" + SHA256, ("test:5000", "repo", "tag", SHA256)),
    ("busybox:latest@" + SHA256_B, ("docker.io", "library/busybox", "latest", SHA256_B)),
    ("[2001:db8::1]:5000/repo:tag@" + SHA256, ("[2001:db8::1]:5000", "repo", "tag", SHA256)),
    ("xn--7o8h.com/myimage:xn--7o8h.com@" + SHA256, ("xn--7o8h.com", "myimage", "xn--7o8h.com", SHA256)),
    ("app@" + SHA384, ("docker.io", "library/app", None, SHA384)),
    ("app@" + SHA512, ("docker.io", "library/app", None, SHA512)),
    # Length: the 255 limit counts the path only, not the domain.
    ("example.com/" + "a" * 255 + ":tag", ("example.com", "a" * 255, "tag", None)),
    (
        "a/" * 127 + "a:tag-puts-this-over-max",
        ("docker.io", "a/" * 127 + "a", "tag-puts-this-over-max", None),
    ),
    ("library/" + "a" * 247, ("docker.io", "library/" + "a" * 247, None, None)),
    # First component looks like a host but is not one, yet the whole is a valid path:
    # upstream keeps it as a domain-less name.
    ("my_registry.example.com/app", ("", "my_registry.example.com/app", None, None)),
]

# input -> substring expected in the reason
INVALID: list[tuple[str, str]] = [
    ("", "empty reference"),
    (" ", "whitespace"),
    ("nginx ", "whitespace"),
    ("\tnginx", "whitespace"),
    ("ngi nx", "invalid character ' '"),
    ("nginx\x00", "invalid character '\\x00'"),
    ("ñginx", "invalid character 'ñ'"),
    ("ko://github.com/org/app", "URL scheme"),
    ("https://github.com/docker/docker", "URL scheme"),
    ("<your-private-image>", "placeholder"),
    ("{{ .Values.image }}", "placeholder"),
    ("{{.Values.image.repository}}:{{.Values.image.tag}}", "placeholder"),
    ("${IMAGE}", "placeholder"),
    ("registry.example.com/app:${TAG}", "placeholder"),
    (HEX64, "64-character hexadecimal identifier"),
    (":justtag", "no repository name"),
    ("@" + SHA256, "no repository name"),
    ("/nginx", "empty path component"),
    ("nginx:", "empty tag"),
    ("nginx:-dev", "invalid tag"),
    ("nginx:.dev", "invalid tag"),
    ("nginx:" + "t" * 129, "tag longer than 128"),
    ("nginx:a:b", "invalid"),
    ("Uppercase:tag", "upper-case"),
    ("NGINX", "upper-case"),
    ("docker/Docker", "upper-case"),
    ("docker.io/docker/Docker", "upper-case"),
    ("test:5000/Uppercase/lowercase:tag", "upper-case"),
    ("localhost/Foo", "upper-case"),
    ("Foo_bar/x", "upper-case"),
    ("-docker", "invalid path component"),
    ("-docker/docker", "invalid path component"),
    ("docker-/docker", "invalid path component"),
    ("____/____", "invalid path component"),
    ("_docker/_docker", "invalid path component"),
    ("dock_.er/docker", "invalid"),
    ("dock..er/docker", "invalid"),
    ("-docker.io/docker/docker", "invalid registry host"),
    ("foo_bar.com:8080/x", "invalid registry host"),
    ("aa/asdf$$^/aa", "invalid character '$'"),
    ("docker/", "empty path component"),
    ("docker///docker", "empty path component"),
    ("docker.io/docker///docker", "empty path component"),
    ("gcr.io/", "empty"),
    ("[fc00::1]", "invalid"),
    ("[fc00::1]:5000", "invalid"),
    ("[2001:db8::1]:tag", "invalid"),
    ("fc00::1:5000/debian", "invalid registry host"),
    ("[fe80::1%eth0]:5000/debian", "invalid character '%'"),
    ("[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid registry host"),
    ("repo@sha256:" + "f" * 34, "invalid digest length"),
    ("repo@sha256:" + "f" * 65, "invalid digest length"),
    ("repo@sha512:" + "f" * 64, "invalid digest length"),
    ("repo@sha256:" + "F" * 64, "upper-case hex"),
    ("repo@sha256:" + "f" * 31, "invalid digest"),
    ("repo@sha256:" + "g" * 64, "invalid digest"),
    ("repo@sha256", "invalid digest"),
    ("repo@", "invalid digest"),
    ("validname@invaliddigest:" + "f" * 64, "unsupported digest algorithm"),
    ("repo@md5:" + "f" * 32, "unsupported digest algorithm"),
    ("repo@SHA256:" + "f" * 64, "unsupported digest algorithm"),
    ("repo@sha256+b64:" + "f" * 64, "unsupported digest algorithm"),
    ("repo@" + SHA256 + "@" + SHA256, "invalid digest"),
    ("domain/" + "a" * 256 + ":tag", "longer than 255"),
    ("a" * 248, "longer than 255"),
    ("example.com/" + "a" * 256, "longer than 255"),
    (
        "_".join(["this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255"] * 4) + "/docker",
        "longer than 255",
    ),
    ("x" * (MAX_REFERENCE_LENGTH + 1), f"longer than {MAX_REFERENCE_LENGTH}"),
]


@pytest.mark.parametrize(("reference", "expected"), VALID, ids=[c[0][:60] for c in VALID])
def test_valid(reference: str, expected: tuple[str, str, str | None, str | None]) -> None:
    ref = parse_image(reference)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == expected


@pytest.mark.parametrize(("reference", "reason"), INVALID, ids=[c[0][:60] for c in INVALID])
def test_invalid(reference: str, reason: str) -> None:
    with pytest.raises(InvalidImageReference) as info:
        parse_image(reference)
    assert reason in info.value.reason
    assert info.value.reference == reference


def test_tables_are_big_enough() -> None:
    assert len(VALID) + len(INVALID) >= 60


@pytest.mark.parametrize(
    ("reference", "repository", "host", "port", "pull", "text"),
    [
        (
            "nginx",
            "docker.io/library/nginx",
            "docker.io",
            None,
            "docker.io/library/nginx:latest",
            "docker.io/library/nginx:latest",
        ),
        (
            "localhost:5000/app:v1",
            "localhost:5000/app",
            "localhost",
            "5000",
            "localhost:5000/app:v1",
            "localhost:5000/app:v1",
        ),
        (
            "[::1]:5000/app",
            "[::1]:5000/app",
            "[::1]",
            "5000",
            "[::1]:5000/app:latest",
            "[::1]:5000/app:latest",
        ),
        (
            "[2001:db8::1]/app",
            "[2001:db8::1]/app",
            "[2001:db8::1]",
            None,
            "[2001:db8::1]/app:latest",
            "[2001:db8::1]/app:latest",
        ),
        (
            "gcr.io/p/app@" + SHA256,
            "gcr.io/p/app",
            "gcr.io",
            None,
            "gcr.io/p/app@" + SHA256,
            "gcr.io/p/app@" + SHA256,
        ),
        (
            "busybox:1.36@" + SHA256,
            "docker.io/library/busybox",
            "docker.io",
            None,
            "docker.io/library/busybox@" + SHA256,
            "docker.io/library/busybox:1.36@" + SHA256,
        ),
        (
            "my_registry.example.com/app",
            "my_registry.example.com/app",
            "",
            None,
            "my_registry.example.com/app:latest",
            "my_registry.example.com/app:latest",
        ),
    ],
)
def test_derived_properties(
    reference: str, repository: str, host: str, port: str | None, pull: str, text: str
) -> None:
    ref = parse_image(reference)
    assert ref.repository == repository
    assert ref.host == host
    assert ref.port == port
    assert ref.pull_reference == pull
    assert str(ref) == text


def test_frozen_and_hashable() -> None:
    ref = parse_image("nginx")
    with pytest.raises(AttributeError):
        ref.tag = "x"  # type: ignore[misc]
    assert hash(ref) == hash(ImageRef("docker.io", "library/nginx", None, None))
    assert not hasattr(ref, "__dict__")


def test_cache_returns_same_object_and_errors_repeat() -> None:
    assert parse_image("gcr.io/p/cached:1") is parse_image("gcr.io/p/cached:1")
    for _ in range(2):
        with pytest.raises(InvalidImageReference):
            parse_image("NOT/Valid")


def test_non_string_is_rejected_cleanly() -> None:
    with pytest.raises(InvalidImageReference):
        parse_image(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidImageReference):
        parse_image(["nginx"])  # type: ignore[arg-type]


def test_huge_input_is_cheap() -> None:
    for text in ("a" * 10_000_000, "a-" * 2000, "a." * 2000, "x.com/" + "a_" * 1990 + "!", "[" + ":" * 4000):
        with pytest.raises(InvalidImageReference):
            parse_image(text)


# --- property tests -------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.text(max_size=80))
@example("\ud800")
@example("a" * 5000)
def test_arbitrary_text_only_raises_invalid_image_reference(text: str) -> None:
    try:
        ref = parse_image(text)
    except InvalidImageReference as err:
        assert err.reason
    else:
        assert isinstance(ref, ImageRef)


_alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_separator = st.sampled_from([".", "_", "__", "-", "--", "---"])
_path_component = st.builds(
    lambda head, rest: head + "".join(s + a for s, a in rest),
    _alnum,
    st.lists(st.tuples(_separator, _alnum), max_size=2),
)
_path = st.lists(_path_component, min_size=1, max_size=4).map("/".join)
_domain_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?", fullmatch=True)
_port = st.one_of(st.just(""), st.integers(0, 65535).map(lambda p: f":{p}"))
_domain_name = st.lists(_domain_label, min_size=1, max_size=3).map(".".join)
_ipv6 = st.from_regex(r"\[[a-fA-F0-9:]{1,20}\]", fullmatch=True)
_domain = st.one_of(
    st.just(""),
    st.just("localhost"),
    st.just("docker.io"),
    st.just("index.docker.io"),
    st.builds(str.__add__, _domain_name, _port),
    st.builds(str.__add__, _ipv6, _port),
)
_tag = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True))
_digest = st.one_of(
    st.none(),
    st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "sha256:" + h),
    st.text("0123456789abcdef", min_size=128, max_size=128).map(lambda h: "sha512:" + h),
)


@st.composite
def grammar_references(draw: st.DrawFn) -> str:
    domain, path, tag, digest = draw(_domain), draw(_path), draw(_tag), draw(_digest)
    text = f"{domain}/{path}" if domain else path
    if tag is not None:
        text += ":" + tag
    if digest is not None:
        text += "@" + digest
    return text


def _parse_or_skip(text: str) -> ImageRef:
    try:
        return parse_image(text)
    except InvalidImageReference:
        # The grammar can still produce the few strings that normalization refuses
        # (say "Abc/x" read as host "Abc" is fine, but a bare 64-hex name is not).
        assume(False)
        raise


@SETTINGS
@given(grammar_references())
def test_normalized_text_is_a_fixed_point(text: str) -> None:
    ref = _parse_or_skip(text)
    again = parse_image(str(ref))
    assert str(again) == str(ref)
    if ref.tag is None and ref.digest is None:
        # str() spells out the implied tag, so only that field may change.
        assert again == dataclasses.replace(ref, tag="latest")
    else:
        assert again == ref


@SETTINGS
@given(grammar_references())
def test_normalization_is_idempotent(text: str) -> None:
    once = str(_parse_or_skip(text))
    twice = str(parse_image(once))
    assert once == twice
    # The pulled reference is itself a valid reference naming the same repository.
    pulled = parse_image(_parse_or_skip(text).pull_reference)
    assert pulled.repository == _parse_or_skip(text).repository


# --- differential test against a literal transcription of the grammar --------------------
#
# The module applies the grammar piece by piece for speed and for precise reasons. Here the
# whole grammar is one regular expression, the normalization is restated step by step,
# and both must agree on acceptance and on every field.

_COMP = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DCOMP = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DCOMP}(?:\.{_DCOMP})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_ORACLE = re.compile(
    rf"(?:({_HOST})/)?({_COMP}(?:/{_COMP})*)"
    r"(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}))?"
)
_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128}


def _oracle(text: str) -> tuple[str, str, str | None, str | None] | None:
    if not text or re.fullmatch(r"[a-f0-9]{64}", text):
        return None
    head, slash, tail = text.partition("/")
    if not slash:
        domain, rest = "docker.io", "library/" + text
    elif head in ("localhost",) or "." in head or ":" in head or head.lower() != head:
        domain, rest = ("docker.io" if head == "index.docker.io" else head), tail
    else:
        domain, rest = "docker.io", text
    if domain == "docker.io" and "/" not in rest:
        rest = "library/" + rest
    remote = rest.split(":", 1)[0]
    if remote.lower() != remote:
        return None
    m = _ORACLE.fullmatch(domain + "/" + rest)
    if m is None:
        return None
    host, path, tag, digest = m.groups()
    if len(path) > 255:
        return None
    if digest is not None:
        algorithm, _, encoded = digest.partition(":")
        if _SIZES.get(algorithm) != len(encoded) or not re.fullmatch(r"[a-f0-9]+", encoded):
            return None
    return host or "", path, tag, digest


_pieces = st.sampled_from(
    [
        "a",
        "b",
        "z9",
        "A",
        "Q",
        ".",
        "_",
        "__",
        "-",
        "/",
        ":",
        "@",
        "[",
        "]",
        "::1",
        "5000",
        "localhost",
        "docker.io",
        "index.docker.io",
        "library",
        "x.com",
        "sha256:",
        "sha512:",
        "f" * 32,
        "f" * 64,
        "F" * 64,
        "0" * 128,
        "+",
        "latest",
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.lists(_pieces, max_size=10).map("".join), grammar_references()))
def test_agrees_with_whole_grammar_oracle(text: str) -> None:
    expected = _oracle(text)
    try:
        ref = parse_image(text)
    except InvalidImageReference:
        assert expected is None, f"rejected {text!r}, oracle accepts {expected}"
    else:
        assert expected == (ref.domain, ref.path, ref.tag, ref.digest), text
