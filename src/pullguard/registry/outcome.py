"""What a registry said about one (image, credential) pair, in plain words with the fix.

An outcome never carries a credential or a token: details are built from status
codes, header figures and exception classes, never from response bodies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    OK = "ok"
    UNAUTHORIZED = "unauthorized"  # the credentials (or their absence) are refused
    DENIED = "denied"  # the credentials are valid but give no pull access to this repository
    NOT_FOUND = "not-found"  # repository or tag/digest unknown
    EXPIRED = "expired"  # refused, and the credential carries an expiry in the past
    RATE_LIMITED = "rate-limited"
    TLS_ERROR = "tls-error"
    UNREACHABLE = "unreachable"  # DNS, refused, timeout, no answer
    REGISTRY_ERROR = "registry-error"  # 5xx, malformed answer, redirect loop
    BROKEN_SECRET = "broken-secret"  # a malformed pull secret: the kubelet fails every pull of the pod
    INVALID_REFERENCE = "invalid-reference"
    NOT_CHECKED = "not-checked"  # the credentials cannot be known (template, ExternalSecret, node identity)

    @property
    def cause(self) -> str:
        return _CAUSES[self]

    @property
    def fix(self) -> str:
        return _FIXES[self]

    @property
    def fails(self) -> bool:
        """Would the kubelet's pull fail? (Not-checked is unknown, not a failure.)"""
        return self not in (OutcomeKind.OK, OutcomeKind.NOT_CHECKED)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Figures of the ``ratelimit-*`` headers, as sent (e.g. ``100;w=21600``)."""

    limit: str | None
    remaining: str | None
    reset: str | None
    retry_after: str | None

    def __str__(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("limit", self.limit),
                ("remaining", self.remaining),
                ("reset", self.reset),
                ("retry after", self.retry_after),
            )
            if value
        ]
        return ", ".join(parts) if parts else "no rate-limit figures sent"


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    detail: str  # what exactly happened (status, certificate problem, ...); never a secret
    digest: str | None = None
    status: int | None = None
    rate_limit: RateLimit | None = None

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.OK

    @property
    def cause(self) -> str:
        return self.kind.cause

    @property
    def fix(self) -> str:
        return self.kind.fix


_CAUSES: dict[OutcomeKind, str] = {
    OutcomeKind.OK: "the registry serves this manifest to these credentials",
    OutcomeKind.UNAUTHORIZED: "the registry refuses these credentials (wrong username or password, "
    "revoked token), or requires credentials and none were sent",
    OutcomeKind.DENIED: "the credentials are valid, but they give no pull access to this repository",
    OutcomeKind.NOT_FOUND: "the repository or the tag/digest does not exist on this registry",
    OutcomeKind.EXPIRED: "the credential is a short-lived token that has expired "
    "(e.g. an ECR token is valid for 12 hours)",
    OutcomeKind.RATE_LIMITED: "the registry is rate limiting these requests (HTTP 429)",
    OutcomeKind.TLS_ERROR: "the TLS connection failed: the registry's certificate is not trusted or "
    "does not match its name",
    OutcomeKind.UNREACHABLE: "the registry could not be reached (DNS, connection refused, or no answer in time)",
    OutcomeKind.REGISTRY_ERROR: "the registry answered with an error or a malformed response",
    OutcomeKind.BROKEN_SECRET: "a pull secret of the pod cannot be decoded, so the kubelet fails every pull "
    "of this pod",
    OutcomeKind.INVALID_REFERENCE: "the image reference is not valid, so the runtime cannot pull it",
    OutcomeKind.NOT_CHECKED: "the credentials the kubelet would use are not known to pullguard",
}

_FIXES: dict[OutcomeKind, str] = {
    OutcomeKind.OK: "nothing to do",
    OutcomeKind.UNAUTHORIZED: "recreate the pull secret with a valid credential for this registry "
    "(kubectl create secret docker-registry NAME --docker-server=REGISTRY --docker-username=USER "
    "--docker-password=...) and reference it from the pod or its ServiceAccount",
    OutcomeKind.DENIED: "grant this identity pull (read) access to the repository in the registry, or use "
    "a credential that has it",
    OutcomeKind.NOT_FOUND: "correct the image name or tag, or push the image to this registry",
    OutcomeKind.EXPIRED: "refresh the token on a schedule (a credential provider, or a CronJob that rewrites "
    "the pull secret, e.g. `pullguard secret refresh`), or use node credentials",
    OutcomeKind.RATE_LIMITED: "authenticate pulls (authenticated limits are higher), use a mirror or pull-through "
    "cache, or wait until the limit resets",
    OutcomeKind.TLS_ERROR: "install the registry's CA on the nodes (and pass it with --ca-file), or fix the "
    "registry's certificate",
    OutcomeKind.UNREACHABLE: "check the registry name, DNS, firewall and proxy settings from the nodes",
    OutcomeKind.REGISTRY_ERROR: "retry later; if it persists, check the registry's health and logs",
    OutcomeKind.BROKEN_SECRET: "fix or delete the malformed pull secret (see `pullguard scan`, check PG003)",
    OutcomeKind.INVALID_REFERENCE: "correct the image reference",
    OutcomeKind.NOT_CHECKED: "render the secret (helm template, ExternalSecret), or give pullguard the node "
    "credentials with --docker-config or --username/--password-stdin",
}
