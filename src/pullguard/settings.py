"""What the user told pullguard about the audit, as plain frozen data.

`config.py` reads `.pullguard.yaml` into these; the CLI merges its flags in;
`scan.py` hands `AuditSettings` to the checks (through the resolution) and
applies the suppressions to their findings. Nothing here reads files.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pullguard.findings import Severity
    from pullguard.inventory.kubelet_config import KubeletInputs
    from pullguard.semantics.evidence import SecretEvidence

FINGERPRINT_KEY_ENV = "PULLGUARD_FINGERPRINT_KEY"
DEFAULT_MAX_AGE_DAYS = 90


@dataclass(frozen=True, slots=True)
class NodeCredential:
    """A registry pattern the nodes pull from with their own identity, and how."""

    registry: str  # auths-key syntax: `*.dkr.ecr.*.amazonaws.com`, `reg.io:5000/team`
    via: str = "node credentials (--node-credentials)"


@dataclass(frozen=True, slots=True)
class Suppression:
    """Silence one check on matching objects, with a reason; an expired one stops silencing.

    `object` is a glob over the finding's object as printed (`Secret shop/legacy-*`,
    `*/payments`, `Deployment ops/*`); `check` is a check id or `*`.
    """

    check: str
    object: str
    reason: str
    expires: date | None = None
    source: str = ""  # where it was declared: `.pullguard.yaml line 12`, `annotation pullguard.io/ignore`

    def applies_to(self, check_id: str, object_name: str) -> bool:
        return (self.check in ("*", check_id)) and fnmatch.fnmatchcase(object_name, self.object)

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today


@dataclass(frozen=True, slots=True)
class ExternalPullSecret:
    """Pull secrets managed outside the scanned files (created at deploy time, by a
    controller, or in the cluster), declared so that references to them are judged.

    `registries` are the auths keys the secret holds (auths-key syntax); with none, the
    secret is known to exist but what it covers is not (coverage "unverifiable").
    """

    name: str  # glob over the secret's name
    namespace: str = "*"  # glob over the namespace
    type: str = "kubernetes.io/dockerconfigjson"
    registries: tuple[str, ...] = ()
    source: str = ""  # where it was declared: `.pullguard.yaml line 12`

    def matches(self, namespace: str, name: str) -> bool:
        return fnmatch.fnmatchcase(namespace, self.namespace) and fnmatch.fnmatchcase(name, self.name)


@dataclass(frozen=True, slots=True)
class AuditLogSettings:
    """How `audit-log` and `scan --audit-log` judge who read a pull secret: `auditLog:` in
    `.pullguard.yaml`, with the flags added (lists) or winning (single values). Validated
    where it is read; empty lists judge nothing."""

    user_agents: tuple[str, ...] = ()  # globs, e.g. 'kubectl/*'
    sources: tuple[str, ...] = ()  # CIDRs or addresses
    business_hours: str | None = None  # HH:MM-HH:MM
    business_days: str | None = None  # e.g. mon-fri (the default)
    timezone: str | None = None  # IANA name; UTC by default
    expect: tuple[str, ...] = ()  # user names (globs) whose reads are expected
    scanners: tuple[str, ...] = ()  # user names (globs) pullguard's scanner runs as

    def with_flags(
        self,
        *,
        user_agents: tuple[str, ...] = (),
        sources: tuple[str, ...] = (),
        business_hours: str | None = None,
        business_days: str | None = None,
        timezone: str | None = None,
        expect: tuple[str, ...] = (),
        scanners: tuple[str, ...] = (),
    ) -> AuditLogSettings:
        def added(configured: tuple[str, ...], flagged: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(dict.fromkeys((*configured, *flagged)))

        return AuditLogSettings(
            user_agents=added(self.user_agents, user_agents),
            sources=added(self.sources, sources),
            business_hours=business_hours or self.business_hours,
            business_days=business_days or self.business_days,
            timezone=timezone or self.timezone,
            expect=added(self.expect, expect),
            scanners=added(self.scanners, scanners),
        )


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """The one configuration of every command: `.pullguard.yaml` with the command-line flags
    merged in (config.py), resolved once. Node credentials come in one form only."""

    default_namespace: str = "default"
    private_patterns: tuple[str, ...] = ()
    public_patterns: tuple[str, ...] = ()
    assume_private: bool = False
    disabled_checks: frozenset[str] = frozenset()
    # registries the nodes pull from with their own identity, and how (flag or configuration)
    node_credentials: tuple[NodeCredential, ...] = ()
    max_age_days: int = DEFAULT_MAX_AGE_DAYS
    fingerprint_key: str | None = None  # PULLGUARD_FINGERPRINT_KEY wins; random per run when neither is set
    severity_overrides: tuple[tuple[str, Severity], ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    external_pull_secrets: tuple[ExternalPullSecret, ...] = ()
    now: datetime | None = None  # the clock of time-dependent checks (PG005, PG006); tests pin it
    audit_log: AuditLogSettings = AuditLogSettings()  # who may read pull secrets (PG040)
    # what every pull secret of a cluster proves private, when the inventory is one namespace of it
    # (serve judges namespace by namespace); None: the inventory's own pull secrets
    evidence: SecretEvidence | None = None
    # node files and version from `.pullguard.yaml` `kubelet:`, and --kubernetes-version (wins)
    kubelet: KubeletInputs | None = None
    kubernetes_version: str | None = None

    @property
    def node_patterns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n.registry for n in self.node_credentials))

    def with_node_patterns(self, patterns: tuple[str, ...], via: str) -> ScanOptions:
        """These options with more node-credential registries (a flag, or a detected platform)."""
        from dataclasses import replace

        known = set(self.node_patterns)
        added = tuple(NodeCredential(p, via) for p in dict.fromkeys(patterns) if p not in known)
        return replace(self, node_credentials=(*self.node_credentials, *added))


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """What the checks need besides the inventory: the clock, limits, keys, node credentials."""

    now: datetime
    max_age_days: int = DEFAULT_MAX_AGE_DAYS
    # HMAC key of credential fingerprints (PG007, JSON pullSecrets); never shown
    fingerprint_key: bytes = field(default=b"", repr=False)
    # True when the key was configured: fingerprints then compare across runs and clusters
    fingerprint_key_configured: bool = False
    node_credentials: tuple[NodeCredential, ...] = ()

    @classmethod
    def current(cls) -> AuditSettings:
        """Defaults for callers that configure nothing: now, a random per-run key."""
        return cls(now=datetime.now(UTC), fingerprint_key=os.urandom(32))

    def node_via(self, pattern: str) -> str | None:
        """How the nodes authenticate to a registry pattern, as configured."""
        return next((n.via for n in self.node_credentials if n.registry == pattern), None)


def fingerprint_key(configured: str | None) -> tuple[bytes, bool]:
    """The HMAC key: PULLGUARD_FINGERPRINT_KEY, else the configuration's, else random for this run."""
    value = os.environ.get(FINGERPRINT_KEY_ENV) or configured
    if value:
        return value.encode("utf-8"), True
    from pullguard.inventory.fingerprint import fingerprint_key as process_key  # one random key per process

    return process_key(), False
