"""Keyed fingerprints of registry credentials: tell equal credentials apart without showing them.

HMAC-SHA256 over the username and password, keyed by ``PULLGUARD_FINGERPRINT_KEY``
(any string; set the same key everywhere to compare reports over time or across
runs). Without it a random key is drawn per process: fingerprints then compare
within one run only (one fleet scan), and mean nothing outside it. Without the
key a fingerprint cannot be tested against a guessed password.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from pullguard.inventory.model import Secret, SecretOrigin
from pullguard.semantics.dockerconfig import Credential

KEY_ENV = "PULLGUARD_FINGERPRINT_KEY"
_DOMAIN = b"pullguard-credential-v1\x00"


@cache
def _process_key() -> bytes:
    return os.urandom(32)


def fingerprint_key() -> bytes:
    configured = os.environ.get(KEY_ENV)
    return configured.encode("utf-8") if configured else _process_key()


def keyed() -> bool:
    """Whether fingerprints are stable across runs (a key was configured)."""
    return bool(os.environ.get(KEY_ENV))


def credential_fingerprint(credential: Credential, key: bytes | None = None) -> str | None:
    """`hmac-sha256:<16 hex>`, or None for an entry with no credential (an anonymous pull)."""
    if credential.identity_token_only or not (credential.username or credential.password):
        return None
    material = _DOMAIN + "\x00".join((credential.username, credential.password)).encode(
        "utf-8", "surrogateescape"
    )
    digest = hmac.new(key if key is not None else fingerprint_key(), material, hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest[:16]}"


@dataclass(frozen=True, slots=True)
class SecretCredential:
    """One credential held by one pull secret, under one auths key."""

    secret: Secret
    key: str  # the auths key as written
    fingerprint: str


def secret_credentials(secret: Secret, key: bytes | None = None) -> Iterator[SecretCredential]:
    """The fingerprinted credentials of a readable pull secret (none for malformed or unreadable ones)."""
    payload = secret.payload
    if payload is None or payload.error is not None or secret.origin is not SecretOrigin.PLAIN:
        return
    for entry in payload.entries:
        fingerprint = credential_fingerprint(entry.credential, key)
        if fingerprint is not None:
            yield SecretCredential(secret, entry.key, fingerprint)
