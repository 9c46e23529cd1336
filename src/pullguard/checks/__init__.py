"""The check catalog. Importing this package registers every check."""

from pullguard.checks import coverage
from pullguard.checks.base import REGISTRY, Check, CheckInfo, Finding, Severity, check

__all__ = ["REGISTRY", "Check", "CheckInfo", "Finding", "Severity", "check", "coverage"]
