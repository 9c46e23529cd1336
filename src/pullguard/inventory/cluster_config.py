"""API server configuration files found among the manifests: EncryptionConfiguration
(apiserver.config.k8s.io/v1, legacy `EncryptionConfig` v1) and the audit Policy
(audit.k8s.io/v1).

Encryption keys are never kept: a key is recorded by name, with its decoded
length or the reason it is not a key (SEMANTICS §7, §8).
"""

from __future__ import annotations

from dataclasses import dataclass

from pullguard.sources.model import Location

# Providers that hold keys, and the key lengths (bytes) the API server accepts.
KEY_LENGTHS: dict[str, tuple[int, ...]] = {
    "aescbc": (16, 24, 32),
    "aesgcm": (16, 24, 32),
    "secretbox": (32,),
}
PROVIDER_TYPES = ("aescbc", "aesgcm", "secretbox", "kms", "identity")


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    name: str
    length: int | None  # decoded length in bytes; None when the value is not base64
    problem: str | None  # why the API server rejects it; never quotes the value
    unresolved: bool = False  # an un-rendered template expression: not judged


@dataclass(frozen=True, slots=True)
class EncryptionProvider:
    type: str  # aescbc, aesgcm, secretbox, kms, identity, or what was written
    keys: tuple[EncryptionKey, ...] = ()
    name: str | None = None  # kms plugin name
    kms_api_version: str | None = None  # "v1" or "v2" for kms (v1 when not written)
    line: int = 0  # where it is written, 0 when unknown

    @property
    def label(self) -> str:
        if self.type == "kms":
            return (
                f"kms {self.kms_api_version} ('{self.name}')" if self.name else f"kms {self.kms_api_version}"
            )
        return self.type


@dataclass(frozen=True, slots=True)
class EncryptionResources:
    """One `resources[]` entry: the resources it covers, and providers in order (the first encrypts)."""

    index: int
    resources: tuple[str, ...]
    providers: tuple[EncryptionProvider, ...]

    def covers_secrets(self) -> str | None:
        """The entry's resource string that matches core `secrets`, if any."""
        for resource in self.resources:
            if resource in ("secrets", "secrets.", "*.", "*.*"):
                return resource
        return None


@dataclass(frozen=True, slots=True)
class EncryptionConfig:
    name: str  # how findings name it: metadata.name, else the file name
    location: Location
    kind: str  # EncryptionConfiguration or EncryptionConfig (legacy)
    api_version: str
    resources: tuple[EncryptionResources, ...]

    def for_secrets(self) -> tuple[EncryptionResources, str] | None:
        """The first entry that matches secrets wins (later ones are ignored for them)."""
        for entry in self.resources:
            matched = entry.covers_secrets()
            if matched is not None:
                return entry, matched
        return None


AUDIT_LEVELS = ("None", "Metadata", "Request", "RequestResponse")
AUDIT_STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")


@dataclass(frozen=True, slots=True)
class AuditGroupResources:
    group: str
    resources: tuple[str, ...] = ()  # empty: every resource of the group
    resource_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditRule:
    index: int  # 1-based, as people count rules
    level: str
    users: tuple[str, ...] = ()
    user_groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[AuditGroupResources, ...] = ()
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: tuple[str, ...] = ()
    line: int = 0  # where it is written, 0 when unknown


@dataclass(frozen=True, slots=True)
class AuditPolicy:
    name: str
    location: Location
    rules: tuple[AuditRule, ...]
    omit_stages: tuple[str, ...] = ()
