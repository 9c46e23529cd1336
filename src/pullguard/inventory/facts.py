"""Facts about pull secrets that checks and reports share, computed once per analysis.

Who can read each pull secret (PG012), how old its credential is (PG005) and the
keyed fingerprints of its credentials (PG007) are worked out here, once, and
stored on the resolution; reporters render them and never recompute them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pullguard.inventory.access import SecretAccess, compute_secret_access
from pullguard.inventory.age import CredentialAge, credential_age
from pullguard.inventory.fingerprint import secret_credentials
from pullguard.inventory.model import Inventory
from pullguard.settings import AuditSettings


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One credential of a pull secret, by its auths key and keyed fingerprint (never a value)."""

    registry: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class PullSecretFacts:
    fingerprints: tuple[Fingerprint, ...]
    age: CredentialAge
    pull_secret_type: bool = True  # False: another type holding docker config keys (PG003)


@dataclass(frozen=True, slots=True)
class Facts:
    access: SecretAccess
    # (namespace, name) of every pull secret (and of secrets of other types with docker keys)
    pull_secrets: dict[tuple[str, str], PullSecretFacts]
    fingerprint_key_configured: bool = False
    # where the objects came from: "files" / "cluster prod" -> {kind: count}
    origins: dict[str, Counter[str]] = field(default_factory=dict)
    # objects in the files that replaced the cluster's object of the same kind/namespace/name
    replaced: tuple[str, ...] = ()

    def of_secret(self, namespace: str, name: str) -> PullSecretFacts | None:
        return self.pull_secrets.get((namespace, name))


def compute_facts(inventory: Inventory, settings: AuditSettings) -> Facts:
    pull_secrets = {
        key: PullSecretFacts(
            tuple(
                Fingerprint(c.key, c.fingerprint)
                for c in secret_credentials(secret, settings.fingerprint_key)
            ),
            credential_age(secret, settings.now),
            secret.is_pull_secret_type,
        )
        for key, secret in inventory.secrets.items()
        if secret.is_pull_secret_type or secret.docker_keys_in_wrong_type
    }
    return Facts(compute_secret_access(inventory), pull_secrets, settings.fingerprint_key_configured)
