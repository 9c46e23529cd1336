"""A check is a declaration plus one small pure function over the resolved inventory.

The catalog (`pullguard checks`), the docs pages (`docs/checks/PGxxx.md`), the
SARIF rule metadata and `pullguard explain` all come from the declarations.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from pullguard.inventory.model import ObjectRef
from pullguard.inventory.resolve import Resolution
from pullguard.sources.model import Location


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}

STANDARDS = {
    "CIS-5.4.1": "CIS Kubernetes Benchmark 5.4.1 (Secrets management)",
    "CWE-522": "CWE-522 Insufficiently Protected Credentials",
    "NIST-IA-5": "NIST SP 800-53 IA-5 Authenticator Management",
    "OWASP-NHI-02": "OWASP Non-Human Identity Top 10, NHI-02 Secret Leakage",
    "NIST-CSF-PR.AC-1": "NIST CSF PR.AC-1 Identities and credentials are managed",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, about one object. Never carries a credential."""

    check_id: str
    severity: Severity
    object: ObjectRef
    message: str
    location: Location
    remediation: str
    image: str | None = None
    container: str | None = None


@dataclass(frozen=True, slots=True)
class CheckInfo:
    id: str
    title: str
    severity: Severity
    description: str  # why it matters, for the docs page
    remediation: str  # the general fix; findings carry the exact command
    standards: tuple[str, ...]
    seeds: tuple[str, ...] = ()


CheckFunction = Callable[[Resolution], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Check:
    info: CheckInfo
    run: CheckFunction = field(compare=False)


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
