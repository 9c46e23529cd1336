"""The pod index answers "which pods does this finding concern" as a walk over every pod would
(the fix plan and the breaks-pull mark ask it per finding: a walk made them quadratic)."""

from __future__ import annotations

from pathlib import Path

from pullguard.inventory.resolve import PodCredentials, Resolution, SecretsFrom
from pullguard.scan import ScanOptions, scan_paths

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def walk(resolution: Resolution, target: object) -> list[PodCredentials]:
    found = []
    for pod in resolution.pods:
        owner = pod.template.owner == target
        inherits = (
            getattr(target, "kind", None) == "ServiceAccount"
            and pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT
            and pod.service_account is not None
            and pod.service_account.ref == target
        )
        lists = (
            getattr(target, "kind", None) == "Secret"
            and pod.template.namespace == (target.namespace or "default")  # type: ignore[attr-defined]
            and any(ref.name == target.name for ref in pod.references)  # type: ignore[attr-defined]
        )
        if owner or inherits or lists:
            found.append(pod)
    return found


def test_the_index_finds_what_a_walk_finds() -> None:
    result = scan_paths([str(EXAMPLES)], ScanOptions())
    targets = {f.object for f in result.findings} | {p.template.owner for p in result.resolution.pods}
    assert len(targets) > 20
    for target in targets:
        indexed = result.resolution.pod_index.about(target)
        assert sorted(map(id, indexed)) == sorted(map(id, walk(result.resolution, target))), target
