"""Where a new registry credential comes from: never the command line.

A password on the command line is visible to every user of the machine (``ps``,
``/proc/PID/cmdline``) and stays in shell history (CWE-214, "Invocation of Process
Using Visible Sensitive Information"). pullguard reads it from standard input, a
file, an environment variable, or a Docker credential helper
(``docker-credential-NAME get``: the server URL on standard input, JSON
``{"ServerURL", "Username", "Secret"}`` on standard output; see
https://github.com/docker/docker-credential-helpers). The value is passed to no
child process in its arguments and shown nowhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pullguard.errors import ConfigError, RegistryError
from pullguard.registry.credentials import credential_expiry, run_credential_helper
from pullguard.semantics.dockerconfig import Credential

__all__ = ["ARGV_REFUSAL", "NewCredential", "PasswordSource", "helper_credential", "read_password"]

_MAX_PASSWORD_BYTES = 64 << 10

ARGV_REFUSAL = (
    "a password on the command line is refused: every user of this machine can read it with `ps` "
    "while pullguard runs, and your shell keeps it in its history (CWE-214). Pass it with "
    "--password-stdin, --password-file PATH or --password-env VAR, or fetch it with "
    "--credential-helper NAME; and treat the value you typed as exposed: rotate it"
)

HelperRunner = Callable[[str, str], "dict[str, Any] | None"]


@dataclass(frozen=True, slots=True)
class PasswordSource:
    """Exactly one of these is set (checked by ``read_password``)."""

    stdin: bool = False
    file: str | None = None
    env: str | None = None
    helper: str | None = None

    def chosen(self) -> list[str]:
        return [
            name
            for name, on in (
                ("--password-stdin", self.stdin),
                ("--password-file", self.file is not None),
                ("--password-env", self.env is not None),
                ("--credential-helper", self.helper is not None),
            )
            if on
        ]


@dataclass(frozen=True, slots=True, repr=False)
class NewCredential:
    """A credential for one registry, with where it came from and when it expires (Unix time)."""

    registry: str
    credential: Credential = field(repr=False)
    source: str
    expires_at: float | None = None

    def __repr__(self) -> str:
        return f"NewCredential({self.registry!r}, from {self.source})"


def read_password(source: PasswordSource, stdin: TextIO | None = None) -> tuple[str, str]:
    """(password, where it came from) for a static password; helpers go through ``helper_credential``."""
    chosen = source.chosen()
    if len(chosen) != 1:
        raise ConfigError(
            "give the password with exactly one of --password-stdin, --password-file, --password-env "
            "or --credential-helper" + (f" (got {', '.join(chosen)})" if chosen else "")
        )
    if source.stdin:
        stream = stdin or sys.stdin
        text = stream.read(_MAX_PASSWORD_BYTES + 1)
        where = "standard input"
    elif source.file is not None:
        try:
            with Path(source.file).open(encoding="utf-8") as handle:
                text = handle.read(_MAX_PASSWORD_BYTES + 1)
        except OSError as error:
            raise ConfigError(f"--password-file {source.file}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"--password-file {source.file}: not UTF-8 text") from None
        where = f"file {source.file}"
    elif source.env is not None:
        if source.env not in os.environ:
            raise ConfigError(f"--password-env {source.env}: the environment variable is not set")
        text = os.environ[source.env]
        where = f"environment variable {source.env}"
    else:
        raise ConfigError("--credential-helper gives username and password together; no password to read")
    if len(text) > _MAX_PASSWORD_BYTES:
        raise ConfigError(f"the password from {where} is longer than {_MAX_PASSWORD_BYTES} bytes")
    # One trailing newline is the shell's (echo, a file's last line), not the password's.
    password = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    if not password:
        raise ConfigError(f"no password in {where}")
    if "\n" in password or "\r" in password:
        raise ConfigError(f"the password from {where} spans several lines; give one line")
    return password, where


def static_credential(
    registry: str, username: str, source: PasswordSource, stdin: TextIO | None = None
) -> NewCredential:
    if not username:
        raise ConfigError("--username is required with --password-stdin, --password-file or --password-env")
    if ":" in username:
        raise ConfigError("--username must not contain ':' (the registry's Basic auth splits on it)")
    password, where = read_password(source, stdin)
    credential = Credential(username, password)
    return NewCredential(registry, credential, where, credential_expiry(credential))


def helper_credential(
    helper: str, registry: str, runner: HelperRunner = run_credential_helper
) -> NewCredential:
    """Ask ``docker-credential-HELPER get`` for ``registry`` (the value travels on its stdout only)."""
    name = helper.removeprefix("docker-credential-")
    answer = runner(name, registry)
    if not answer:
        raise RegistryError(f"credential helper docker-credential-{name} has no credentials for {registry}")
    username, secret = answer.get("Username"), answer.get("Secret")
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        raise RegistryError(
            f"credential helper docker-credential-{name} answered for {registry} without a Username and Secret"
        )
    if username == "<token>":
        raise RegistryError(
            f"credential helper docker-credential-{name} gave an identity token for {registry}: the kubelet "
            "does not use identity tokens for pulls (it sends no credentials), so it cannot go into a pull secret"
        )
    credential = Credential(username, secret)
    return NewCredential(
        registry, credential, f"credential helper docker-credential-{name}", credential_expiry(credential)
    )
