"""Tests for pullguard.semantics.dockerconfig.

The tables restate, as our own cases, what kubernetes/kubernetes
pkg/credentialprovider/config.go (DockerConfigEntry.UnmarshalJSON,
decodeDockerConfigFieldAuth), config_test.go and secrets/secrets_test.go pin
down, plus the Go encoding/json behaviour the kubelet inherits.
"""

from __future__ import annotations

import base64
import contextlib
import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.errors import DockerConfigError
from pullguard.semantics.dockerconfig import (
    AuthEntry,
    Credential,
    decode_secret_value,
    parse_dockercfg,
    parse_dockerconfigjson,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def cfgjson(entry: object, key: str = "reg.example.com") -> bytes:
    return json.dumps({"auths": {key: entry}}).encode()


def only(entries: list[AuthEntry]) -> Credential:
    assert len(entries) == 1
    return entries[0].credential


# entry object -> (username, password, email) the kubelet keeps
ENTRIES: list[tuple[object, tuple[str, str, str]]] = [
    ({"username": "foo", "password": "bar", "email": "foo@example.com"}, ("foo", "bar", "foo@example.com")),
    ({"auth": "Zm9vOmJhcg==", "email": "foo@example.com"}, ("foo", "bar", "foo@example.com")),
    # auth wins over username/password when non-empty.
    ({"username": "foo", "password": "bar", "auth": "cGluZzpwb25n"}, ("ping", "pong", "")),
    # An empty or null auth is no auth.
    ({"username": "foo", "password": "bar", "auth": ""}, ("foo", "bar", "")),
    ({"username": "foo", "password": "bar", "auth": None}, ("foo", "bar", "")),
    # Unpadded, padded, and line breaks anywhere.
    ({"auth": "Zm9vOmJhcg"}, ("foo", "bar", "")),
    ({"auth": "Zm9vOm\nJhcg==\n"}, ("foo", "bar", "")),
    ({"auth": "Zm9v\r\nOmJhcg"}, ("foo", "bar", "")),
    ({"auth": "Zm9vOmJhcg==\r\n"}, ("foo", "bar", "")),
    # Trailing bits that are not zero are ignored (non-strict decoding).
    ({"auth": "Zm9vOmJhcm=="}, ("foo", "bar", "")),
    # The split is at the first colon.
    ({"auth": b64("user:pa:ss:word")}, ("user", "pa:ss:word", "")),
    ({"auth": b64(":")}, ("", "", "")),
    ({"auth": b64("foo:bar\n")}, ("foo", "bar\n", "")),
    # Field names are matched case-insensitively, Go-style.
    ({"Username": "u", "PASSWORD": "p", "Email": "e"}, ("u", "p", "e")),
    ({"AUTH": "Zm9vOmJhcg=="}, ("foo", "bar", "")),
    ({"uſername": "u", "paſſword": "p", "emaıl": "e"}, ("u", "p", "e")),
    # Unknown members of any type are ignored.
    ({"username": "u", "password": "p", "serveraddress": 5, "x": [1, {"y": None}]}, ("u", "p", "")),
    ({}, ("", "", "")),
    (None, ("", "", "")),
]


@pytest.mark.parametrize(("entry", "expected"), ENTRIES)
def test_entry_decoding(entry: object, expected: tuple[str, str, str]) -> None:
    cred = only(parse_dockerconfigjson(cfgjson(entry)))
    assert (cred.username, cred.password, cred.email) == expected
    assert cred.identity_token_only is False


# entry objects the kubelet fails to decode
BAD_ENTRIES: list[object] = [
    {"auth": "pants"},  # not base64 of user:password
    {"auth": "cGFudHM="},  # base64, but no colon
    {"auth": "Zm9vOmJhcg== "},  # trailing space
    {"auth": "Zm9vOmJhcg==\t"},
    {"auth": " Zm9vOmJhcg=="},
    {"auth": base64.urlsafe_b64encode(b"a:\xfb\xff\xbf").decode()},  # URL-safe alphabet: "YTr7_78="
    {"auth": "Zm9vOmJhcg="},  # wrong padding
    {"auth": "Zm9vOmJhcg=x"},
    {"auth": "Zm9vO"},  # one dangling character
    {"auth": "Zm9v=OmJhcg=="},  # padding in the middle
    {"auth": "Zm9vOmJhcg\u00e9"},
    {"auth": "\n"},  # decodes to nothing: no colon
    {"email": False},
    {"email": 1},
    {"username": ["a"]},
    {"password": {"a": "b"}},
    {"auth": 5},
    "string",
    5,
    True,
    [],
]


@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_bad_entries(entry: object) -> None:
    with pytest.raises(DockerConfigError):
        parse_dockerconfigjson(cfgjson(entry))
    with pytest.raises(DockerConfigError):
        parse_dockercfg(json.dumps({"reg.example.com": entry}).encode())


def test_url_safe_alphabet_fails_where_standard_works() -> None:
    raw = "u?:p>?~"
    standard = b64(raw)
    assert "+" in standard or "/" in standard
    assert only(parse_dockerconfigjson(cfgjson({"auth": standard}))).password == "p>?~"
    urlsafe = base64.urlsafe_b64encode(raw.encode()).decode()
    with pytest.raises(DockerConfigError):
        parse_dockerconfigjson(cfgjson({"auth": urlsafe}))


# whole .dockerconfigjson documents -> keys decoded (None: error)
DOCS: list[tuple[bytes, list[str] | None]] = [
    (b'{"auths": {"a.io": {}, "b.io": {}}}', ["a.io", "b.io"]),
    (b'{"Auths": {"a.io": {}}}', ["a.io"]),
    (b'{"AUTHS": {"a.io": {}}}', ["a.io"]),
    (b'{"auth\xc5\xbf": {"a.io": {}}}', ["a.io"]),  # long s folds to s
    (b"{}", []),
    (b"null", []),
    (b'{"auths": null}', []),
    (b'{"auths": {}}', []),
    (b'{"credsStore": "desktop", "credHelpers": {"x": "y"}}', []),  # ignored members
    (b'{"auths": {"a.io": {}}, "auths": {"b.io": {}}}', ["a.io", "b.io"]),  # Go merges
    (b'{"auths": {"a.io": {}}, "auths": null}', []),
    (b'{"auths": {"a.io": {"username": "x"}, "a.io": {}}}', ["a.io"]),
    (b'{"auths": {"a.io": {}}, "HttpHeaders": {"User-Agent": "x", "n": null}}', ["a.io"]),
    (b' \t\r\n{"auths": {}} \n', []),
    (b'{"auths": {"a.io": {}}, "x": 1e400, "y": -0.5E-3, "z": 1' + b"0" * 5000 + b"}", ["a.io"]),
    # Invalid UTF-8 inside strings is replaced, not rejected.
    (b'{"auths": {"a\xff.io": {}}}', ["a\ufffd.io"]),
    (b'{"auths": {"a\xe2\x82.io": {}}}', ["a\ufffd\ufffd.io"]),
    (b'{"auths": {"a\\ud800.io": {}}}', ["a\ufffd.io"]),
    (b'{"auths": {"a\\ud83d\\ude00.io": {}}}', ["a\U0001f600.io"]),
    # Errors.
    (b'{"auths": []}', None),
    (b'{"auths": "x"}', None),
    (b'{"auths": {"a.io": "x"}}', None),
    (b'{"HttpHeaders": {"a": 1}}', None),
    (b'{"HttpHeaders": []}', None),
    (b"[]", None),
    (b'"auths"', None),
    (b"", None),
    (b"   ", None),
    (b"{", None),
    (b'{"auths": {}} x', None),
    (b'{"auths": {},}', None),
    (b"{'auths': {}}", None),
    (b'{"a": NaN}', None),
    (b'{"a": Infinity}', None),
    (b'{"a": 01}', None),
    (b'{"a": "\x01"}', None),
    (b"\xef\xbb\xbf{}", None),  # byte-order mark
    (b"\xff{}", None),
    (b'{"a": \xff}', None),
]


@pytest.mark.parametrize(("payload", "keys"), DOCS)
def test_dockerconfigjson_documents(payload: bytes, keys: list[str] | None) -> None:
    if keys is None:
        with pytest.raises(DockerConfigError):
            parse_dockerconfigjson(payload)
    else:
        assert [e.key for e in parse_dockerconfigjson(payload)] == keys


def test_duplicate_key_last_wins() -> None:
    payload = b'{"auths": {"a.io": {"username": "first"}, "b.io": {}, "a.io": {"username": "second"}}}'
    entries = parse_dockerconfigjson(payload)
    assert [e.key for e in entries] == ["a.io", "b.io"]
    assert entries[0].credential.username == "second"


@pytest.mark.parametrize(
    ("entry_json", "expected"),
    [
        # Duplicate members: the last wins; null leaves a string field unchanged.
        (b'{"username": "a", "username": null}', ("a", "")),
        (b'{"username": "a", "Username": "b"}', ("b", "")),
        (b'{"auth": "Zm9vOmJhcg==", "auth": ""}', ("", "")),
        (b'{"password": "p", "auth": null, "PassWord": "q"}', ("", "q")),
        (b'{"\\u0075sername": "escaped-name"}', ("escaped-name", "")),
    ],
)
def test_entry_member_order(entry_json: bytes, expected: tuple[str, str]) -> None:
    cred = only(parse_dockerconfigjson(b'{"auths": {"a.io": ' + entry_json + b"}}"))
    assert (cred.username, cred.password) == expected


def test_keys_kept_exactly_as_written() -> None:
    payload = cfgjson({"auth": "Zm9vOmJhcg=="}, key="https://index.docker.io/v1/")
    assert parse_dockerconfigjson(payload) == [
        AuthEntry("https://index.docker.io/v1/", Credential("foo", "bar", "", False))
    ]


# legacy .dockercfg documents -> keys (None: error)
LEGACY: list[tuple[bytes, list[str] | None]] = [
    (b'{"test.registry.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}', ["test.registry.io"]),
    (b'{"a.io": {"username": "u", "password": "p"}, "b.io": null}', ["a.io", "b.io"]),
    (b"{}", []),
    (b"null", []),
    # A docker config.json in a .dockercfg: one key named "auths", inner entries unread.
    (b'{"auths": {"a.io": {"auth": "not base64 at all!"}}}', ["auths"]),
    # ... but a non-object member (credsStore) breaks it.
    (b'{"auths": {"a.io": {}}, "credsStore": "desktop"}', None),
    (b"[]", None),
    (b'{"a.io": []}', None),
]


@pytest.mark.parametrize(("payload", "keys"), LEGACY)
def test_dockercfg_documents(payload: bytes, keys: list[str] | None) -> None:
    if keys is None:
        with pytest.raises(DockerConfigError):
            parse_dockercfg(payload)
    else:
        assert [e.key for e in parse_dockercfg(payload)] == keys


def test_legacy_auths_wrapper_has_empty_credentials() -> None:
    entry = parse_dockercfg(b'{"auths": {"a.io": {"auth": "Zm9vOmJhcg=="}}}')[0]
    assert entry.credential == Credential("", "", "", False)


def test_dockerconfigjson_format_read_as_dockercfg_and_back() -> None:
    legacy = b'{"a.io": {"auth": "Zm9vOmJhcg=="}}'
    assert parse_dockerconfigjson(legacy) == []  # no "auths": nothing, silently
    assert only(parse_dockercfg(legacy)).username == "foo"


@pytest.mark.parametrize(
    ("entry", "identity_only"),
    [
        ({"identitytoken": "tok"}, True),
        ({"IdentityToken": "tok", "email": "e"}, True),
        ({"registrytoken": "tok"}, True),
        ({"identitytoken": ""}, False),
        ({"identitytoken": 5}, False),
        ({"identitytoken": "tok", "username": "u"}, False),
        ({"identitytoken": "tok", "auth": "Zm9vOmJhcg=="}, False),
        ({"identitytoken": "tok", "auth": b64(":")}, False),
    ],
)
def test_identity_token_only(entry: dict[str, object], identity_only: bool) -> None:
    cred = only(parse_dockerconfigjson(cfgjson(entry)))
    assert cred.identity_token_only is identity_only
    if identity_only:
        assert (cred.username, cred.password) == ("", "")


def test_deep_nesting_in_ignored_members() -> None:
    # Go accepts up to 10000 levels; deeper is a syntax error.
    ok = b'{"auths": {"a.io": {}}, "x": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    assert [e.key for e in parse_dockerconfigjson(ok)] == ["a.io"]
    too_deep = b'{"x": ' + b"[" * 10000 + b"]" * 10000 + b"}"
    with pytest.raises(DockerConfigError):
        parse_dockerconfigjson(too_deep)
    limit = b'{"auths": {"b.io": {}}, "x": ' + b"[" * 9999 + b"]" * 9999 + b"}"
    assert [e.key for e in parse_dockerconfigjson(limit)] == ["b.io"]


def test_non_utf8_auth_bytes_are_preserved() -> None:
    raw = b"us\xffer:p\xfe"
    cred = only(parse_dockerconfigjson(cfgjson({"auth": base64.b64encode(raw).decode()})))
    assert cred.username.encode("utf-8", "surrogateescape") == b"us\xffer"
    assert cred.password.encode("utf-8", "surrogateescape") == b"p\xfe"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", b""),
        ("eyJhdXRocyI6e319", b'{"auths":{}}'),
        ("Zm9v", b"foo"),
        ("Zm8=", b"fo"),
        ("Zg==", b"f"),
        ("Zm9v\nYmFy", b"foobar"),
        ("Zm9v\r\n", b"foo"),
        ("Zh==", b"f"),
    ],
)
def test_decode_secret_value(value: str, expected: bytes) -> None:
    assert decode_secret_value(value) == expected


@pytest.mark.parametrize(
    "value", ["Zm8", "Zg", "Zm9v ", " Zm9v", "Zm9v\t", "Zm-_", "Zg==Zg==", "Z===", "é", "Zm9v="]
)
def test_decode_secret_value_errors(value: str) -> None:
    with pytest.raises(DockerConfigError) as info:
        decode_secret_value(value)
    assert "base64" in str(info.value)
    if value.strip():
        assert value.strip() not in str(info.value)


# ---------------------------------------------------------------------------
# Properties

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(["auths", "Auths", "auth", "username", "password", "email", "HttpHeaders", "x"])
STRUCTURED = st.recursive(
    st.none() | st.booleans() | st.text(alphabet=string.ascii_letters + "=+/:\n ", max_size=16),
    lambda children: st.dictionaries(FIELDS | st.text(max_size=6), children, max_size=4),
    max_leaves=15,
)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_dockerconfigerror(payload: bytes) -> None:
    for parse in (parse_dockerconfigjson, parse_dockercfg):
        try:
            result = parse(payload)
        except DockerConfigError:
            continue
        assert all(isinstance(e, AuthEntry) for e in result)


@settings(max_examples=300)
@given(st.one_of(JSON_VALUES, STRUCTURED))
def test_arbitrary_json_only_raises_dockerconfigerror(value: object) -> None:
    payload = json.dumps(value).encode()
    for parse in (parse_dockerconfigjson, parse_dockercfg):
        with contextlib.suppress(DockerConfigError):
            parse(payload)


@given(st.text(max_size=40))
def test_decode_secret_value_only_raises_dockerconfigerror(value: str) -> None:
    with contextlib.suppress(DockerConfigError):
        decode_secret_value(value)


PASSWORDS = st.text(
    alphabet=string.ascii_letters + string.digits + "!#$%&*+-./:;<=>?@^_~", min_size=6, max_size=40
).map(lambda s: "\u03a97" + s)  # a prefix no fixed message contains


@settings(max_examples=200)
@given(PASSWORDS, st.sampled_from(["", "\n", " ", "=", "!", "-"]), st.booleans())
def test_canary_password_never_leaks(password: str, damage: str, legacy: bool) -> None:
    """No error message and no repr()/str() ever shows the password or the auth value."""
    auth = base64.b64encode(f"canary-user:{password}".encode()).decode()
    variants = [
        {"auth": auth + damage},  # maybe broken base64
        {"auth": base64.b64encode(password.encode()).decode()},  # maybe no colon
        {"username": "canary-user", "password": password, "email": False},  # type error
        {"username": "canary-user", "password": password, "auth": auth},
        {"password": password, "auth": password},  # password used as an auth value
    ]
    for entry in variants:
        if legacy:
            payload = json.dumps({"reg.example.com": entry}).encode()
            parse = parse_dockercfg
        else:
            payload = cfgjson(entry)
            parse = parse_dockerconfigjson
        for candidate in (payload, payload[:-3], payload + b",", payload.replace(b'"auth"', b'"auth" x')):
            try:
                entries = parse(candidate)
            except DockerConfigError as exc:
                text = f"{exc} {exc.reason!r} {exc!r}"
                assert password not in text
                assert auth not in text
                continue
            for found in entries:
                for shown in (repr(found), str(found), repr(found.credential), str(found.credential)):
                    assert password not in shown
                    assert auth not in shown
    try:
        decode_secret_value(auth + damage)
    except DockerConfigError as exc:
        assert auth not in str(exc)
        assert password not in str(exc)


def test_credential_repr_is_redacted() -> None:
    cred = Credential("someone", "hunter2-secret", "a@b.c", False)
    assert repr(cred) == "Credential(username=<set>, password=<set>)"
    assert str(cred) == repr(cred)
    assert "someone" not in repr(AuthEntry("reg.io", cred))
    assert repr(Credential("", "", "", True)) == "Credential(username=<empty>, password=<empty>)"
