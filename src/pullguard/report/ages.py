"""How many pull secrets' credential age the input does not show, for the reports' summaries.

A secret declared in the configuration (`externalPullSecrets`) is not in the input: its age
is where it is managed, and a cluster scan reads it (managedFields, creationTimestamp). It
is counted apart, so that the unknown-age count lists only secrets whose manifests the user
can annotate with `pullguard.io/rotated-at`.
"""

from __future__ import annotations

from pullguard.inventory.age import AgeEvidence
from pullguard.inventory.model import SecretOrigin
from pullguard.result import ScanResult


def unknown_ages(result: ScanResult) -> tuple[int, int]:
    """(pull secrets in the input of unknown age, pull secrets declared in externalPullSecrets)."""
    unknown = declared = 0
    secrets = result.inventory.secrets
    for key, facts in result.facts.pull_secrets.items():
        if not facts.pull_secret_type:
            continue
        secret = secrets.get(key)
        if secret is not None and secret.origin is SecretOrigin.DECLARED:
            declared += 1
        elif facts.age.evidence is AgeEvidence.UNKNOWN:
            unknown += 1
    return unknown, declared
