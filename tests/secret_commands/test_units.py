"""Password sources, the payload and its masked description, the refresh schedule."""

from __future__ import annotations

import base64
import io
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.errors import ConfigError, RegistryError
from pullguard.secrets.payload import (
    Entry,
    build_payload,
    describe_entries,
    entries_of,
    masked,
    secret_object,
)
from pullguard.secrets.refresh import next_delay, retry_delay
from pullguard.secrets.sources import PasswordSource, helper_credential, read_password
from pullguard.semantics.dockerconfig import Credential

CANARY = "canary-unit-pw-3e7a"

passwords = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    min_size=1,
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(password=passwords, newline=st.sampled_from(["", "\n", "\r\n"]))
def test_stdin_password_round_trips_without_its_trailing_newline(password: str, newline: str) -> None:
    got, where = read_password(PasswordSource(stdin=True), io.StringIO(password + newline))
    assert got == password and where == "standard input"


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_read_password_errors_never_echo_the_input(text: str) -> None:
    marked = "zq9X" + text  # a marker no message contains
    try:
        read_password(PasswordSource(stdin=True), io.StringIO(marked))
    except ConfigError as error:
        assert "zq9X" not in str(error)


def test_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw").write_text(CANARY + "\n")
    assert read_password(PasswordSource(file=str(tmp_path / "pw")))[0] == CANARY
    monkeypatch.setenv("PW", CANARY)
    assert read_password(PasswordSource(env="PW"))[0] == CANARY
    with pytest.raises(ConfigError, match="exactly one"):
        read_password(PasswordSource(stdin=True, env="PW"))
    with pytest.raises(ConfigError, match="exactly one"):
        read_password(PasswordSource())
    with pytest.raises(ConfigError, match="not set"):
        read_password(PasswordSource(env="NOT_SET_ANYWHERE_1"))
    with pytest.raises(ConfigError, match="several lines"):
        read_password(PasswordSource(stdin=True), io.StringIO("a\nb\n"))
    with pytest.raises(ConfigError, match="longer than"):
        read_password(PasswordSource(stdin=True), io.StringIO("x" * 70000))


def test_helper_answers() -> None:
    new = helper_credential("fake", "r.example", lambda _h, _s: {"Username": "u", "Secret": CANARY})
    assert new.credential.password == CANARY and CANARY not in repr(new)
    with pytest.raises(RegistryError, match="identity token"):
        helper_credential("fake", "r.example", lambda _h, _s: {"Username": "<token>", "Secret": CANARY})
    with pytest.raises(RegistryError, match="no credentials"):
        helper_credential("fake", "r.example", lambda _h, _s: None)


def test_payload_is_what_kubectl_create_secret_docker_registry_writes() -> None:
    payload = json.loads(build_payload([Entry("r.example:5000", Credential("ci", CANARY))]))
    entry = payload["auths"]["r.example:5000"]
    assert entry == {
        "username": "ci",
        "password": CANARY,
        "auth": base64.b64encode(f"ci:{CANARY}".encode()).decode(),
    }
    obj = secret_object("regcred", "shop", [Entry("r.example:5000", Credential("ci", CANARY))], 0, 86400)
    assert obj["metadata"]["annotations"] == {
        "pullguard.io/rotated-at": "1970-01-01T00:00:00Z",
        "pullguard.io/expires-at": "1970-01-02T00:00:00Z",
    }
    assert [e.key for e in entries_of(obj)] == ["r.example:5000"]
    shown = json.dumps(masked(obj))
    assert CANARY not in shown and base64.b64encode(CANARY.encode()).decode()[:12] not in shown


def test_description_shows_fingerprints_only() -> None:
    old = [Entry("a.example", Credential("u", "old-" + CANARY)), Entry("b.example", Credential("u", CANARY))]
    new = [Entry("a.example", Credential("u", "new-" + CANARY)), Entry("b.example", Credential("u", CANARY))]
    lines = describe_entries(old, new)
    assert "new password, same username" in lines[0] and "(unchanged)" in lines[1]
    assert all(CANARY not in line for line in lines)


@settings(max_examples=300, deadline=None)
@given(lifetime=st.floats(1, 30 * 86400), renew_before=st.floats(0, 86400), seed=st.integers(0, 2**32))
def test_refresh_is_always_before_expiry_and_never_late_in_life(
    lifetime: float, renew_before: float, seed: int
) -> None:
    delay = next_delay(lifetime, renew_before, min_interval=0.0, rng=random.Random(seed))
    assert delay <= lifetime * 2 / 3  # never later than 2/3 of the lifetime
    assert delay >= lifetime / 3 * 0.9  # and not hammering the registry


def test_twelve_hour_ecr_token_schedule() -> None:
    delay = next_delay(12 * 3600, 30 * 60, 60, random.Random(1))
    assert 7.2 * 3600 <= delay <= 8 * 3600  # 2/3 of 12 h, minus at most 10 % jitter: never the 60-min gap


def test_retry_backoff_grows_and_stays_well_before_expiry() -> None:
    delays = [retry_delay(n, remaining=None, min_interval=1) for n in range(1, 8)]
    assert delays == sorted(delays) and delays[0] == 30 and delays[-1] == 600
    assert retry_delay(5, remaining=200, min_interval=1) == 50  # a quarter of what is left
