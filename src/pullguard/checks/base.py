"""A check is a declaration plus one small pure function over the resolved inventory.

The catalog (`pullguard checks`), the docs pages (`docs/checks/PGxxx.md`), the
SARIF rule metadata and `pullguard explain` all come from the declarations.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from pullguard.findings import Finding, Severity
from pullguard.inventory.model import ObjectRef
from pullguard.inventory.resolve import Resolution
from pullguard.sources.model import Location
from pullguard.text_safety import one_line

__all__ = ["REGISTRY", "STANDARDS", "Check", "CheckInfo", "Finding", "Hit", "Severity", "check"]


STANDARDS = {
    "CIS-5.4.1": "CIS Kubernetes Benchmark 5.4.1 (Secrets management)",
    "CWE-522": "CWE-522 Insufficiently Protected Credentials",
    "NIST-IA-5": "NIST SP 800-53 IA-5 Authenticator Management",
    "OWASP-NHI-02": "OWASP Non-Human Identity Top 10, NHI-02 Secret Leakage",
    "NIST-CSF-PR.AC-1": "NIST CSF PR.AC-1 Identities and credentials are managed",
    "CIS-5.1.2": "CIS Kubernetes Benchmark 5.1.2 Minimize access to secrets",
    "CIS-1.2.27": "CIS Kubernetes Benchmark 1.2.27 (v1.8) --encryption-provider-config is set as appropriate",
    "CIS-1.2.28": "CIS Kubernetes Benchmark 1.2.28 (v1.8) Encryption providers are appropriately configured",
    "CIS-3.2.1": "CIS Kubernetes Benchmark 3.2.1 Ensure that a minimal audit policy is created",
    "CIS-3.2.2": "CIS Kubernetes Benchmark 3.2.2 Ensure that the audit policy covers key security concerns",
    "CWE-311": "CWE-311 Missing Encryption of Sensitive Data",
    "CWE-532": "CWE-532 Insertion of Sensitive Information into Log File",
    "CWE-778": "CWE-778 Insufficient Logging",
    "NIST-AC-6": "NIST SP 800-53 AC-6 Least Privilege",
    "NIST-SC-28": "NIST SP 800-53 SC-28 Protection of Information at Rest",
    "NIST-AU-2": "NIST SP 800-53 AU-2 Event Logging",
    "NIST-AU-6": "NIST SP 800-53 AU-6 Audit Record Review, Analysis, and Reporting",
    # PART A (PG005-PG011, PG013, PG016, PG017)
    "OWASP-NHI-01": "OWASP Non-Human Identity Top 10, NHI-01 Improper Offboarding",
    "OWASP-NHI-05": "OWASP Non-Human Identity Top 10, NHI-05 Overprivileged NHI",
    "OWASP-NHI-06": "OWASP Non-Human Identity Top 10, NHI-06 Insecure Cloud Deployment Configurations",
    "OWASP-NHI-07": "OWASP Non-Human Identity Top 10, NHI-07 Long-Lived Secrets",
    "OWASP-NHI-08": "OWASP Non-Human Identity Top 10, NHI-08 Environment Isolation",
    "OWASP-NHI-09": "OWASP Non-Human Identity Top 10, NHI-09 NHI Reuse",
    "CWE-262": "CWE-262 Not Using Password Aging",
    "CWE-312": "CWE-312 Cleartext Storage of Sensitive Information",
    "CWE-798": "CWE-798 Use of Hard-coded Credentials",
    "CWE-526": "CWE-526 Cleartext Storage of Sensitive Information in an Environment Variable",
    "CIS-5.1.6": "CIS Kubernetes Benchmark 5.1.6 Ensure that Service Account Tokens are only mounted where necessary",
    "CIS-5.2.1": "CIS Kubernetes Benchmark 5.2.1 Ensure that the cluster has at least one active policy control mechanism in place",
    "NIST-AC-2": "NIST SP 800-53 AC-2 Account Management",
    "NIST-IA-5(1)": "NIST SP 800-53 IA-5(1) Password-based Authentication (lifetime, no reuse)",
    "NIST-CM-6": "NIST SP 800-53 CM-6 Configuration Settings",
    "NIST-SP-800-190": "NIST SP 800-190 Application Container Security Guide (registry access, 4.2)",
}


@dataclass(frozen=True, slots=True)
class Hit:
    """What a check observed about one object. The check never restates its own id or
    severity: `Check.findings` stamps them from the declaration (as ruff's rules report a
    violation and the framework attaches the code). `severity` is set only when this one
    observation is rated apart from the declared severity (e.g. a long-lived key)."""

    object: ObjectRef
    message: str
    location: Location
    remediation: str
    image: str | None = None
    container: str | None = None
    severity: Severity | None = None
    secret: str | None = None  # the pull secret it is about, by name (Finding.secret)


@dataclass(frozen=True, slots=True)
class CheckInfo:
    id: str
    title: str
    severity: Severity
    description: str  # why it matters, for the docs page
    remediation: str  # the general fix; findings carry the exact command
    standards: tuple[str, ...]
    seeds: tuple[str, ...] = ()


CheckFunction = Callable[[Resolution], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Check:
    info: CheckInfo
    run: CheckFunction = field(compare=False)

    def findings(self, resolution: Resolution) -> Iterator[Finding]:
        """The check's observations as findings, identified and rated by its declaration."""
        for hit in self.run(resolution):
            if not isinstance(hit, Hit):
                raise TypeError(f"check {self.info.id} yielded {type(hit).__name__}, not Hit")
            yield self.finding(hit)

    def finding(self, hit: Hit, cluster: str | None = None) -> Finding:
        """One observation as a finding: the id and default severity are the declaration's."""
        info = self.info
        return Finding(
            info.id,
            hit.severity or info.severity,
            hit.object,
            one_line(hit.message),  # a name it quotes never starts a line of its own
            hit.location,
            hit.remediation,
            image=hit.image,
            container=hit.container,
            cluster=cluster,
            secret=hit.secret,
        )


REGISTRY: dict[str, Check] = {}


def check(
    id: str,
    title: str,
    severity: Severity,
    remediation: str,
    standards: tuple[str, ...],
    seeds: tuple[str, ...] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a check; its docstring is the description on its docs page."""

    def register(function: CheckFunction) -> CheckFunction:
        if id in REGISTRY:
            raise ValueError(f"check {id} declared twice")
        description = inspect.cleandoc(function.__doc__ or "")
        REGISTRY[id] = Check(
            CheckInfo(id, title, severity, description, remediation, standards, seeds), function
        )
        return function

    return register
