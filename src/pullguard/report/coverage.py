"""Which credential source serves the private images first, in the words every report uses."""

from __future__ import annotations

from collections import Counter

from pullguard.inventory.resolve import Coverage, Resolution

LABELS: dict[Coverage, str] = {
    Coverage.POD: "pod secret",
    Coverage.SERVICE_ACCOUNT: "ServiceAccount secret",
    Coverage.NODE: "node config",
    Coverage.PROVIDER: "credential provider",
    Coverage.PROVIDER_SA: "provider with the pod's ServiceAccount token",
    Coverage.NONE: "none",
    Coverage.BROKEN: "broken pull secret",
    Coverage.UNVERIFIABLE: "unverifiable",
}


def coverage_counts(resolution: Resolution) -> list[tuple[str, int]]:
    """(label, private images) in the kubelet's order of sources, non-zero only."""
    counts = Counter(j.coverage for j in resolution.private_images())
    return [(label, counts[coverage]) for coverage, label in LABELS.items() if counts[coverage]]


def coverage_line(resolution: Resolution) -> str | None:
    counts = coverage_counts(resolution)
    if not counts:
        return None
    return "Private images by credential source: " + ", ".join(f"{n} {label}" for label, n in counts) + "."
