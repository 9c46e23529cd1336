"""The input's pull secrets as evidence that a registry is private (rule: semantics/evidence.py)."""

from __future__ import annotations

from pullguard.inventory.model import Inventory, Secret, SecretOrigin
from pullguard.semantics.dockerconfig import AuthEntry, Credential
from pullguard.semantics.evidence import SecretEvidence, gives_credential
from pullguard.semantics.keyring import parse_registry_key


def readable_entries(secret: Secret) -> tuple[AuthEntry, ...]:
    """The auths entries of a plain pull secret that decodes (none for ESO, Sealed, SOPS, metadata only)."""
    payload = secret.payload
    if payload is None or payload.error is not None or secret.origin is not SecretOrigin.PLAIN:
        return ()
    return payload.entries


def credential_entries(secret: Secret) -> tuple[AuthEntry, ...]:
    """The entries that give the kubelet a credential (a username or a password)."""
    return tuple(e for e in readable_entries(secret) if gives_credential(e.credential))


def without_credential(secret: Secret) -> bool:
    """A plain pull secret that decodes, and gives the kubelet no credential at all."""
    payload = secret.payload
    return (
        secret.is_pull_secret_type
        and secret.origin is SecretOrigin.PLAIN
        and payload is not None
        and payload.error is None
        and not payload.missing
        and not credential_entries(secret)
    )


def collect(inventory: Inventory) -> SecretEvidence:
    triples: list[tuple[str, str, Credential]] = []
    for secret in inventory.secrets.values():
        declared = secret.origin is SecretOrigin.DECLARED and secret.payload is not None
        # a secret declared in the configuration (externalPullSecrets) vouches for its registries
        for entry in secret.payload.entries if declared and secret.payload else readable_entries(secret):
            key = parse_registry_key(entry.key)
            if key is not None:
                name = f"{secret.ref.namespace or 'default'}/{secret.ref.name}"
                triples.append((name, key.location, entry.credential))
    return SecretEvidence.of(triples)
