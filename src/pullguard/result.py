"""What the pipeline hands to reporters: plain results, every fact already computed.

Reporters render these and never analyse: who can read each pull secret (PG012),
credential ages (PG005) and keyed fingerprints (PG007) are computed once during
analysis and stored here, so a report shows exactly what the checks judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pullguard.checks.base import Finding, Severity
from pullguard.inventory.access import SecretAccess
from pullguard.inventory.facts import Facts
from pullguard.inventory.live import LiveStats, Platform
from pullguard.inventory.model import Inventory
from pullguard.inventory.resolve import Resolution
from pullguard.remediation.plan import Plan
from pullguard.sources.model import InputProblem
from pullguard.suppress import SuppressedFinding


@dataclass(frozen=True, slots=True)
class Summary:
    """The exact counts every report starts with."""

    files: int
    documents: int
    documents_skipped: dict[str, int]
    objects: int
    lists: int
    pod_templates: int
    images: int
    images_judged: int
    invalid_references: int
    unresolved_references: int
    private_images: int
    private_images_covered: int
    private_images_unverifiable: int
    public_images: int
    unknown_images: int
    unanalysed_workloads: int
    input_errors: int
    input_warnings: int
    findings: dict[str, int]
    suppressed: int = 0
    # valid bare names that are no Docker Official Image (`image: myapp`): build-time placeholders
    placeholder_references: int = 0

    @property
    def headline(self) -> str:
        """The report's first line. Images whose secrets cannot be read (ExternalSecret,
        SealedSecret, SOPS) are neither counted as covered nor as failures."""
        judged = self.private_images - self.private_images_unverifiable
        return f"{self.private_images_covered} of {judged} private images have pull credentials configured."


@dataclass(slots=True)
class ScanResult:
    inventory: Inventory
    resolution: Resolution
    findings: list[Finding]
    summary: Summary
    problems: list[InputProblem] = field(default_factory=list)
    # findings silenced by a suppression or a pullguard.io/ignore annotation, with the reason
    suppressed: list[SuppressedFinding] = field(default_factory=list)
    # one coherent fix plan per namespace for the findings that break pulls (remediation/plan.py)
    plan: Plan = field(default_factory=lambda: Plan([]))

    @property
    def facts(self) -> Facts:
        return self.resolution.facts

    def worst_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    @property
    def access(self) -> SecretAccess:
        return self.resolution.facts.access


@dataclass(slots=True)
class ClusterScan:
    name: str
    result: ScanResult | None = None
    error: str | None = None  # the cluster could not be scanned at all
    server: str = ""
    partial: bool = False  # some namespaces or resources could not be read
    platform: Platform | None = None
    live: LiveStats = field(default_factory=LiveStats)
    requests: int = 0
    elapsed: float = 0.0
    scope: str = ""  # "all namespaces" or the namespaces read

    @property
    def headline(self) -> str:
        if self.result is None:
            return f"cluster {self.name}: not scanned: {self.error}"
        marker = " (PARTIAL: some namespaces could not be read)" if self.partial else ""
        return f"cluster {self.name}: {self.result.summary.headline}{marker}"


@dataclass(slots=True)
class FleetResult:
    clusters: list[ClusterScan]
    reuse: list[Finding] = field(default_factory=list)
    reuse_suppressed: list[SuppressedFinding] = field(default_factory=list)
    fingerprints_keyed: bool = False

    @property
    def scanned(self) -> list[ClusterScan]:
        return [c for c in self.clusters if c.result is not None]

    @property
    def private_images(self) -> int:
        return sum(_judged(c.result) for c in self.scanned if c.result is not None)

    @property
    def covered(self) -> int:
        return sum(c.result.summary.private_images_covered for c in self.scanned if c.result is not None)

    @property
    def headline(self) -> str:
        failed = len(self.clusters) - len(self.scanned)
        note = f"; {failed} could not be scanned" if failed else ""
        return (
            f"fleet ({len(self.scanned)} of {len(self.clusters)} clusters{note}): "
            f"{self.covered} of {self.private_images} private images have pull credentials configured."
        )

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.scanned if c.result is not None for f in c.result.findings] + self.reuse

    @property
    def incomplete(self) -> bool:
        return any(c.result is None or c.partial or c.result.summary.input_errors for c in self.clusters)


def _judged(result: ScanResult) -> int:
    return result.summary.private_images - result.summary.private_images_unverifiable
