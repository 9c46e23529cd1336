"""Pull secrets managed outside the input, declared in the configuration (`externalPullSecrets`).

Repositories that keep Secrets out of Git (the advice of CIS 5.4.1 and OWASP NHI-02)
still reference them by name. A declaration says such a secret exists at deploy time
and, when known, which registries it holds: references to it are then judged like
references to a secret in the input, instead of "not in the input". Only names
actually referenced by a pod template or ServiceAccount are added, and never over an
object the input defines.
"""

from __future__ import annotations

from collections.abc import Iterator

from pullguard.inventory.model import (
    PULL_SECRET_TYPES,
    Inventory,
    ObjectRef,
    PullSecretPayload,
    Secret,
    SecretOrigin,
)
from pullguard.semantics.dockerconfig import AuthEntry, Credential
from pullguard.settings import ExternalPullSecret
from pullguard.sources.model import Location

# what a declared secret holds in place of a credential: never sent, never fingerprinted
_DECLARED = Credential(username="(declared)", password="")


def referenced_pull_secrets(inventory: Inventory) -> Iterator[tuple[str, str]]:
    for template in inventory.pod_templates:
        for name in template.pull_secrets:
            yield template.namespace, name
    for (namespace, _), account in inventory.service_accounts.items():
        for name in account.pull_secrets:
            yield namespace, name


def add_external_pull_secrets(inventory: Inventory, declared: tuple[ExternalPullSecret, ...]) -> None:
    """Add a Secret for every referenced, absent name a declaration matches."""
    if not declared:
        return
    for namespace, name in dict.fromkeys(referenced_pull_secrets(inventory)):
        if not name or (namespace, name) in inventory.secrets:
            continue
        declaration = next((d for d in declared if d.matches(namespace, name)), None)
        if declaration is None:
            continue
        data_key = PULL_SECRET_TYPES.get(declaration.type)
        entries = tuple(AuthEntry(registry, _DECLARED) for registry in declaration.registries)
        inventory.secrets[(namespace, name)] = Secret(
            ObjectRef("Secret", namespace, name),
            Location(declaration.source or "configuration", 0, 0),
            declaration.type,
            (data_key,) if data_key else (),
            PullSecretPayload(data_key, entries) if data_key else None,
            SecretOrigin.DECLARED,
        )
