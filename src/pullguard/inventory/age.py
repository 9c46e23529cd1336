"""How old is a pull secret's credential? The best evidence the input holds, and which one it was.

In order: the `pullguard.io/rotated-at` annotation (RFC 3339, written by
`pullguard secret rotate`), the latest `metadata.managedFields` time of a
manager that wrote the data, `metadata.creationTimestamp`. A secret that the
External Secrets Operator rewrites (`refreshInterval`, default 1h, not 0) is
refreshed, not aged. With none of these the age is unknown: it is counted,
never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pullguard.inventory.model import Secret, SecretOrigin

ROTATED_AT_ANNOTATION = "pullguard.io/rotated-at"
_NO_REFRESH = {"0", "0s", "0m", "0h"}


class AgeEvidence(StrEnum):
    ROTATED_AT = "annotation pullguard.io/rotated-at"
    MANAGED_FIELDS = "metadata.managedFields"
    CREATED = "metadata.creationTimestamp"
    REFRESHED = "refreshed by External Secrets"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CredentialAge:
    evidence: AgeEvidence
    since: datetime | None = None  # when the credential was last written
    days: float | None = None
    refresh_interval: str | None = None  # for REFRESHED
    note: str | None = None  # e.g. an annotation that could not be read

    @property
    def known(self) -> bool:
        return self.since is not None


def parse_time(text: str) -> datetime | None:
    """RFC 3339 (`2025-01-31T08:00:00Z`, offsets, fractions); a bare date counts as midnight UTC."""
    value = text.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def refresh_interval(secret: Secret) -> str | None:
    """The interval a controller rewrites the secret at, or None when nothing refreshes it."""
    if secret.origin is not SecretOrigin.EXTERNAL_SECRET:
        return None
    interval = (secret.refresh_interval or "1h").strip()  # ESO's default refreshInterval is 1h
    return None if interval in _NO_REFRESH else interval


def credential_age(secret: Secret, now: datetime) -> CredentialAge:
    interval = refresh_interval(secret)
    if interval is not None:
        return CredentialAge(AgeEvidence.REFRESHED, refresh_interval=interval)
    note = None
    annotated = next((v for k, v in secret.annotations if k == ROTATED_AT_ANNOTATION), None)
    if annotated is not None:
        when = parse_time(annotated)
        if when is not None:
            return _aged(AgeEvidence.ROTATED_AT, when, now)
        note = f"the {ROTATED_AT_ANNOTATION} annotation is not an RFC 3339 time"
    for evidence, text in (
        (AgeEvidence.MANAGED_FIELDS, secret.data_written_at),
        (AgeEvidence.CREATED, secret.creation_timestamp),
    ):
        when = parse_time(text) if text else None
        if when is not None:
            return _aged(evidence, when, now, note)
    return CredentialAge(AgeEvidence.UNKNOWN, note=note)


def _aged(evidence: AgeEvidence, when: datetime, now: datetime, note: str | None = None) -> CredentialAge:
    return CredentialAge(evidence, when, (now - when).total_seconds() / 86400, note=note)
