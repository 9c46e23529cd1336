"""PG017: Pod cloud identity on a workload without pull credentials, judged on the fixtures in tests/fixtures/pg017."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pullguard.checks import Finding
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG017"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # the pinned clock of time-dependent checks
from pullguard.settings import NodeCredential  # noqa: E402

OPTIONS: dict[str, ScanOptions] = {
    # Artifact Registry hosts public repositories too: its visibility is declared
    "gke_workload_identity.yaml": ScanOptions(now=NOW, private_patterns=("europe-docker.pkg.dev",)),
    "node_credentials_declared.yaml": ScanOptions(
        now=NOW, node_credentials=(NodeCredential("*.dkr.ecr.*.amazonaws.com", "node IAM role"),)
    ),
}


def scan(path: Path, options: ScanOptions | None = None) -> ScanResult:
    result = scan_paths([str(path)], options or OPTIONS.get(path.name, ScanOptions(now=NOW)))
    assert not [p for p in result.problems if p.level.value == "error"], result.problems
    return result


def of_check(result: ScanResult) -> list[Finding]:
    return [f for f in result.findings if f.check_id == CHECK]


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("path", sorted((FIXTURES / "fail").glob("*.yaml")), ids=lambda p: p.name)
def test_fail_fixture_yields_a_finding(path: Path) -> None:
    assert of_check(scan(path)), f"{path.name}: expected at least one {CHECK}"


@pytest.mark.parametrize("path", sorted((FIXTURES / "pass").glob("*.yaml")), ids=lambda p: p.name)
def test_pass_fixture_yields_none(path: Path) -> None:
    findings = of_check(scan(path))
    assert not findings, [f.message for f in findings]


def test_irsa_explains_node_identity() -> None:
    path = FIXTURES / "fail" / "irsa_ecr.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.severity.value == "medium"
    assert str(finding.object) == "Deployment production/app"
    assert "arn:aws:iam::123456789012:role/ECRPullRole" in finding.message
    assert "IRSA (eks.amazonaws.com/role-arn)" in finding.message
    assert "with the node's identity or a kubelet credential provider" in finding.message
    assert "AmazonEC2ContainerRegistryReadOnly" in finding.message
    assert "nodeCredentials" in finding.remediation
    assert finding.location.line == line_of(path, "image: 123456789012")
    assert any(f.check_id == "PG001" for f in result.findings)


def test_node_credentials_are_credited_and_said() -> None:
    result = scan(FIXTURES / "pass" / "node_credentials_declared.yaml")
    assert not [f for f in result.findings if f.check_id == "PG001"]
    (image,) = result.resolution.images
    assert image.coverage.value == "node"
    import json

    from pullguard.report import json_report

    (entry,) = json.loads(json_report.render(result))["images"]
    assert entry["credentials"] == [
        {
            "key": "*.dkr.ecr.*.amazonaws.com",
            "secret": None,
            "node": True,
            "anonymous": False,
            "via": "node IAM role",
        }
    ]
