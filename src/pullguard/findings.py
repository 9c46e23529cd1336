"""The shared vocabulary of every layer: a finding and its severity.

Checks produce findings (through their declarations, `checks/base.py`), the pipeline
finalises them, reporters render them; each may import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pullguard.inventory.model import ObjectRef
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
    cluster: str | None = None  # the kubeconfig context, for findings read from a live cluster
    # the pod will not pull an image because of it (pullguard.breakage); a second axis next to severity
    breaks_pull: bool = False
    # the pull secret the finding is about, by name, for tools that act on it (`pullguard fix`):
    # PG002 the name that does not exist, PG004 the listed secret that matches none of the images
    secret: str | None = None
