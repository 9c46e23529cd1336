"""Logins and tokens pullguard may send to a registry, and where they come from.

Values are wrapped in types whose ``repr``/``str`` never show them. Sources:

- pull secrets (their ``Credential``, decoded as the kubelet decodes them);
- a docker ``config.json`` (``--docker-config``): ``auths`` entries (``auth``,
  ``username``/``password``, ``identitytoken``), ``credHelpers`` and ``credsStore``
  run through the docker credential-helper protocol (``docker-credential-NAME get``
  with the server URL on standard input, JSON ``{"Username", "Secret"}`` on standard
  output; the username ``<token>`` marks an identity token);
- ``--username`` with the password read from standard input.

These form the node's keyring, tried after the pod's pull secrets, as the kubelet
tries its own config.json or credential provider after them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pullguard.errors import RegistryError
from pullguard.semantics.dockerconfig import Credential
from pullguard.semantics.keyring import lookup, parse_registry_key

__all__ = [
    "DockerConfigKeyring",
    "Login",
    "NodeKeyring",
    "Token",
    "credential_expiry",
    "login_from_stream",
]

_HELPER_TIMEOUT = 10.0
# A per-process key: cache keys and fingerprints can be compared, never reversed.
_FINGERPRINT_KEY = secrets.token_bytes(32)


@dataclass(frozen=True, slots=True, repr=False)
class Token:
    """A bearer, identity or refresh token. ``expires_at`` is a ``time.monotonic()`` instant."""

    value: str = field(repr=False)
    expires_at: float = float("inf")

    def __repr__(self) -> str:
        return "Token(<hidden>)"

    def __str__(self) -> str:
        return self.__repr__()

    def valid(self, margin: float = 5.0) -> bool:
        return time.monotonic() + margin < self.expires_at


@dataclass(frozen=True, slots=True, repr=False)
class Login:
    """One credential the kubelet (or the node) would present; ``source`` says where it comes from.

    Neither field is ever shown: ``source`` names a secret and key, never a username.
    A login with neither a password credential nor an identity token is anonymous.
    """

    source: str
    credential: Credential | None = None
    identity_token: Token | None = None

    @property
    def anonymous(self) -> bool:
        if self.identity_token is not None:
            return False
        return self.credential is None or not (self.credential.username or self.credential.password)

    @property
    def fingerprint(self) -> str:
        """A keyed hash of the secret material: equal logins share cached tokens."""
        if self.anonymous:
            return "anonymous"
        parts = []
        if self.credential is not None:
            parts += [self.credential.username, self.credential.password]
        if self.identity_token is not None:
            parts.append(self.identity_token.value)
        material = "\x00".join(parts).encode("utf-8", "surrogateescape")
        return hmac.new(_FINGERPRINT_KEY, material, hashlib.sha256).hexdigest()[:16]

    def secret_values(self) -> tuple[str, ...]:
        """Every secret string of this login, for scrubbing output (belt and braces)."""
        values: list[str] = []
        if self.credential is not None:
            values += [v for v in (self.credential.username, self.credential.password) if len(v) >= 4]
        if self.identity_token is not None:
            values.append(self.identity_token.value)
        return tuple(values)

    def __repr__(self) -> str:
        return f"Login({self.source!r}, {'anonymous' if self.anonymous else 'credentials hidden'})"

    def __str__(self) -> str:
        return self.source


def credential_expiry(credential: Credential) -> float | None:
    """Unix time at which a token-shaped password expires, when it says so.

    Amazon ECR passwords are base64 of a JSON envelope with ``expiration`` (seconds);
    JWTs (Azure ACR refresh tokens, many registry tokens) carry ``exp``.
    """
    password = credential.password
    if not password or len(password) > 16384:
        return None
    if password.count(".") == 2:
        payload = _b64_json(password.split(".")[1], urlsafe=True)
        if payload is not None and isinstance(payload.get("exp"), int | float):
            return float(payload["exp"])
    envelope = _b64_json(password, urlsafe=False)
    if envelope is not None and isinstance(envelope.get("expiration"), int | float):
        return float(envelope["expiration"])
    return None


def _b64_json(text: str, urlsafe: bool) -> dict[str, Any] | None:
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def login_from_stream(username: str, stream: TextIO, source: str = "--username") -> Login:
    """``--username`` with ``--password-stdin``: the first line of the stream is the password."""
    password = stream.readline().rstrip("\r\n")
    if not password:
        raise RegistryError("--password-stdin: no password on standard input")
    return Login(source, Credential(username, password))


# ---------------------------------------------------------------------------
# The node keyring: docker config.json, --username


HelperRunner = Callable[[str, str], "dict[str, Any] | None"]


def run_credential_helper(helper: str, server: str) -> dict[str, Any] | None:
    """``docker-credential-HELPER get``: the helper's JSON answer, or None when it has nothing.

    Errors name the helper and the server, never what the helper printed (it may
    be a secret).
    """
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        raise RegistryError(f"credential helper docker-credential-{helper} is not on PATH (for {server})")
    try:
        done = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=_HELPER_TIMEOUT,
            check=False,
            env=os.environ.copy(),
        )
    except subprocess.TimeoutExpired:
        raise RegistryError(
            f"credential helper docker-credential-{helper} did not answer within {_HELPER_TIMEOUT:.0f}s "
            f"(for {server})"
        ) from None
    except OSError as error:
        raise RegistryError(
            f"credential helper docker-credential-{helper} failed to start: {error.strerror}"
        ) from None
    if done.returncode != 0:
        # "credentials not found in native keychain" is the protocol's "nothing here".
        if b"credentials not found" in done.stdout.lower() or b"credentials not found" in done.stderr.lower():
            return None
        raise RegistryError(
            f"credential helper docker-credential-{helper} exited with status {done.returncode} (for {server})"
        )
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise RegistryError(
            f"credential helper docker-credential-{helper} printed no valid JSON (for {server})"
        ) from None
    return answer if isinstance(answer, dict) else None


def _list_helper(helper: str) -> list[str]:
    """``docker-credential-HELPER list``: the server URLs the store holds (no secrets)."""
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        raise RegistryError(f"credential helper docker-credential-{helper} (credsStore) is not on PATH")
    try:
        done = subprocess.run([program, "list"], capture_output=True, timeout=_HELPER_TIMEOUT, check=False)
        listed = json.loads(done.stdout) if done.returncode == 0 else {}
    except (subprocess.TimeoutExpired, OSError, ValueError):
        raise RegistryError(
            f"credential helper docker-credential-{helper} could not list its servers"
        ) from None
    return [str(key) for key in listed] if isinstance(listed, dict) else []


@dataclass(slots=True)
class _Entry:
    key: str  # as written in config.json
    resolve: Callable[[], Login | None]


@dataclass(slots=True)
class DockerConfigKeyring:
    """A docker config.json as a keyring: keys matched by the kubelet's rules, logins resolved lazily."""

    path: str
    entries: list[_Entry] = field(default_factory=list)
    _cache: dict[str, Login | None] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str, runner: HelperRunner = run_credential_helper) -> DockerConfigKeyring:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except OSError as error:
            raise RegistryError(f"cannot read docker config {path}: {error.strerror or error}") from None
        except ValueError as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else "invalid text"
            raise RegistryError(f"docker config {path} is not valid JSON: {reason}") from None
        if not isinstance(document, dict):
            raise RegistryError(f"docker config {path} must be a JSON object")
        keyring = cls(path)
        shown = Path(path).name
        helpers = document.get("credHelpers") or {}
        store = document.get("credsStore")
        if not isinstance(helpers, dict) or not (store is None or isinstance(store, str)):
            raise RegistryError(
                f"docker config {path}: credHelpers must be an object and credsStore a string"
            )
        for server, helper in helpers.items():
            keyring.entries.append(
                _Entry(str(server), _helper_login(runner, str(helper), str(server), shown))
            )
        auths = document.get("auths") or {}
        if not isinstance(auths, dict):
            raise RegistryError(f"docker config {path}: 'auths' must be an object")
        if store:
            for server in _list_helper(store):
                if server not in helpers:
                    keyring.entries.append(_Entry(server, _helper_login(runner, store, server, shown)))
        for index, (server, entry) in enumerate(auths.items(), start=1):
            if server in helpers or not isinstance(entry, dict):
                continue
            if store and not any(entry.get(k) for k in ("auth", "username", "password", "identitytoken")):
                # docker writes an empty entry for servers whose secret lives in the store
                keyring.entries.append(_Entry(str(server), _helper_login(runner, store, str(server), shown)))
                continue
            login = _auths_login(entry, f"{shown} auths '{server}'", f"{path}: auths entry #{index}")
            keyring.entries.append(_Entry(str(server), _constant(login)))
        return keyring

    def logins_for(self, repository: str) -> list[Login]:
        by_location: dict[str, list[_Entry]] = {}
        for entry in self.entries:
            key = parse_registry_key(entry.key)
            if key is not None:
                by_location.setdefault(key.location, []).append(entry)
        found: list[Login] = []
        for location in lookup(list(by_location), repository):
            for entry in by_location[location]:
                if entry.key not in self._cache:
                    self._cache[entry.key] = entry.resolve()
                login = self._cache[entry.key]
                if login is not None:
                    found.append(login)
        return found


def _auths_login(entry: dict[str, Any], source: str, where: str) -> Login:
    token = entry.get("identitytoken")
    identity = Token(token) if isinstance(token, str) and token else None
    auth = entry.get("auth")
    username, password = entry.get("username") or "", entry.get("password") or ""
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryError(f"{where}: 'auth' is not valid base64") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise RegistryError(f"{where}: 'auth' does not decode to username:password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise RegistryError(f"{where}: username and password must be strings")
    return Login(source, Credential(username, password), identity)


def _constant(login: Login) -> Callable[[], Login | None]:
    def resolve() -> Login | None:
        return login

    return resolve


def _helper_login(runner: HelperRunner, helper: str, server: str, shown: str) -> Callable[[], Login | None]:
    def resolve() -> Login | None:
        answer = runner(helper, server)
        if not answer:
            return None
        username, secret = str(answer.get("Username") or ""), str(answer.get("Secret") or "")
        source = f"{shown} credential helper '{helper}' for '{server}'"
        if username == "<token>":
            return Login(source, None, Token(secret))
        return Login(source, Credential(username, secret))

    return resolve


@dataclass(slots=True)
class NodeKeyring:
    """The credentials the nodes have, as far as pullguard was told: tried after the pod's secrets."""

    docker_configs: list[DockerConfigKeyring] = field(default_factory=list)
    # (auths-key pattern, login) from --username with --node-credentials patterns
    static: list[tuple[str, Login]] = field(default_factory=list)

    def logins_for(self, repository: str) -> list[Login]:
        found: list[Login] = []
        locations: dict[str, list[Login]] = {}
        for pattern, login in self.static:
            key = parse_registry_key(pattern)
            if key is not None:
                locations.setdefault(key.location, []).append(login)
        for location in lookup(list(locations), repository):
            found += locations[location]
        for config in self.docker_configs:
            found += config.logins_for(repository)
        return found

    def __bool__(self) -> bool:
        return bool(self.docker_configs or self.static)
