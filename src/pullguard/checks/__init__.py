"""The check catalog. Importing this package registers every check."""

from pullguard.checks import (
    audit_reads,
    cluster_config,
    coverage,
    exposure,
    handling,
    identity,
    kubelet,
    lifecycle,
    nocredential,
)
from pullguard.checks.base import REGISTRY, Check, CheckInfo, Finding, Hit, Severity, check

__all__ = [
    "REGISTRY",
    "Check",
    "CheckInfo",
    "Finding",
    "Hit",
    "Severity",
    "audit_reads",
    "check",
    "cluster_config",
    "coverage",
    "exposure",
    "handling",
    "identity",
    "kubelet",
    "lifecycle",
    "nocredential",
]
