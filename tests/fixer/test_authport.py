"""The auths-key edit itself: the port goes into the key, every credential stays byte for byte."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.fixer.authport import KeyEdit, RepairRefused, edit_config
from pullguard.semantics.dockerconfig import parse_dockercfg, parse_dockerconfigjson
from pullguard.semantics.keyring import key_matches, parse_registry_key
from pullguard.semantics.port_keys import port_candidates, with_port

IMAGE = "registry.example.com:5000/team/app"


def test_with_port_keeps_scheme_and_path() -> None:
    assert with_port("registry.example.com", "5000") == "registry.example.com:5000"
    assert with_port("https://registry.example.com/v2/", "5000") == "https://registry.example.com:5000/v2/"
    assert with_port("registry.example.com/team", "5000") == "registry.example.com:5000/team"
    assert with_port("registry.example.com:5001", "5000") is None  # another port: not "missing"
    assert with_port("[2001:db8::1]", "5000") is None
    assert with_port("user@registry.example.com", "5000") is None


def test_candidates_are_the_keys_that_match_once_the_port_is_added() -> None:
    keys = ["registry.example.com", "https://registry.example.com/v2/", "registry.example.com/other", "x.io"]
    assert port_candidates(keys, IMAGE) == [
        ("registry.example.com", "registry.example.com:5000"),
        ("https://registry.example.com/v2/", "https://registry.example.com:5000/v2/"),
    ]
    assert port_candidates(keys, "registry.example.com/team/app") == []  # no port in the image
    assert port_candidates(["registry.example.com:5001"], IMAGE) == []
    for _, new in port_candidates(keys, IMAGE):  # the kubelet's own matching agrees
        parsed = parse_registry_key(new)
        assert parsed is not None and key_matches(parsed.location, IMAGE)


def test_rename_changes_only_the_key_token() -> None:
    text = b'{"auths":{"a.io":{"auth":"dTpw"},"registry.example.com":{"username":"u","password":"p"}},"x":1}'
    out = edit_config(
        text, ".dockerconfigjson", KeyEdit("registry.example.com", "registry.example.com:5000", False)
    )
    assert out == text.replace(b'"registry.example.com"', b'"registry.example.com:5000"')


def test_add_copies_the_value_byte_for_byte_after_the_old_member() -> None:
    text = b'{\n  "auths": {\n    "registry.example.com": {\n      "auth": "dTpw"\n    }\n  }\n}\n'
    out = edit_config(
        text, ".dockerconfigjson", KeyEdit("registry.example.com", "registry.example.com:5000", True)
    )
    assert out.decode() == (
        '{\n  "auths": {\n    "registry.example.com": {\n      "auth": "dTpw"\n    },\n'
        '    "registry.example.com:5000": {\n      "auth": "dTpw"\n    }\n  }\n}\n'
    )


def test_dockercfg_keys_are_top_level() -> None:
    text = b'{"registry.example.com": {"auth": "dTpw", "email": "e@x"}}'
    out = edit_config(text, ".dockercfg", KeyEdit("registry.example.com", "registry.example.com:5000", False))
    assert [e.key for e in parse_dockercfg(out)] == ["registry.example.com:5000"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"auths":{"r.io":{"auth":"dTpw"},"r.io:5000":{"auth":"dTpw"}}}', "already has the key"),
        (
            b'{"auths":{"r.io":{"auth":"dTpw"}},"HttpHeaders":{"r.io":"x"}}',
            "not written plainly exactly once",
        ),
        (b'{"auths":{"r\\u002eio":{"auth":"dTpw"}}}', "not written plainly exactly once"),
        (b'{"auths":{"r.io":{"auth":"!!"}}}', "does not decode"),
        (b"\xff", "not UTF-8"),
    ],
)
def test_refusals_name_keys_never_credentials(text: bytes, reason: str) -> None:
    with pytest.raises(RepairRefused, match=reason) as refused:
        edit_config(text, ".dockerconfigjson", KeyEdit("r.io", "r.io:5000", False))
    assert "dTpw" not in str(refused.value)


hosts = st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8}){1,2}", fullmatch=True)
secrets = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(hosts, min_size=1, max_size=4, unique=True),
    users=st.lists(secrets, min_size=4, max_size=4),
    passwords=st.lists(secrets, min_size=4, max_size=4),
    indent=st.sampled_from([None, 2, 4]),
    keep_old=st.booleans(),
    pick=st.integers(min_value=0, max_value=3),
)
def test_every_credential_survives_any_formatting(
    keys: list[str], users: list[str], passwords: list[str], indent: int | None, keep_old: bool, pick: int
) -> None:
    auths = {k: {"username": users[i], "password": passwords[i]} for i, k in enumerate(keys)}
    text = json.dumps(
        {"auths": auths, "credsStore": "x"}, indent=indent, ensure_ascii=bool(pick % 2)
    ).encode()
    old = keys[pick % len(keys)]
    out = edit_config(text, ".dockerconfigjson", KeyEdit(old, old + ":5000", keep_old))
    before = {e.key: e.credential for e in parse_dockerconfigjson(text)}
    after = {e.key: e.credential for e in parse_dockerconfigjson(out)}
    assert after[old + ":5000"] == before[old]
    assert (old in after) is keep_old
    assert {k: v for k, v in after.items() if k != old + ":5000"} == {
        k: v for k, v in before.items() if keep_old or k != old
    }
    loaded = json.loads(out)
    assert list(loaded) == ["auths", "credsStore"]  # the other members and their order
    assert [k for k in loaded["auths"] if k != old + ":5000"] == [k for k in keys if keep_old or k != old]
