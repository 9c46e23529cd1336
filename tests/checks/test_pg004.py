"""PG004: pull secret matches none of the pod's images, judged on tests/fixtures/pg004."""

from __future__ import annotations

from pathlib import Path

import pytest

from pullguard.checks import Finding, Severity
from pullguard.inventory.model import ObjectRef
from pullguard.inventory.resolve import Coverage, SecretsFrom
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG004"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def scan(path: Path) -> ScanResult:
    result = scan_paths([str(path)], ScanOptions())
    assert not result.problems, result.problems
    return result


def of_check(result: ScanResult, check: str = CHECK) -> list[Finding]:
    return [f for f in result.findings if f.check_id == check]


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("path", sorted((FIXTURES / "fail").glob("*.yaml")), ids=lambda p: p.name)
def test_fail_fixture_yields_a_finding(path: Path) -> None:
    findings = of_check(scan(path))
    assert findings, f"{path.name}: expected at least one {CHECK}"
    assert all(f.severity is Severity.MEDIUM for f in findings)


@pytest.mark.parametrize("path", sorted((FIXTURES / "pass").glob("*.yaml")), ids=lambda p: p.name)
def test_pass_fixture_yields_none(path: Path) -> None:
    assert not of_check(scan(path))


def test_pod_secret_for_another_registry() -> None:
    path = FIXTURES / "fail" / "pod_secret_other_registry.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.object == ObjectRef("Deployment", "shop", "payments")
    assert finding.message == (
        "Deployment 'payments' in namespace 'shop' lists pull secret 'registry-creds' (keys: "
        f"registry.example.com), but none of its keys matches the pod's images ({ECR}/shop/payments:v3)."
    )
    assert finding.location.path == str(path)
    assert finding.location.line == line_of(path, "imagePullSecrets:")
    assert finding.image == f"{ECR}/shop/payments:v3"
    assert len(of_check(result, "PG001")) == 1


def test_service_account_mismatch_is_pg001_only() -> None:
    result = scan(FIXTURES / "pass" / "sa_inherited_mismatch.yaml")
    (finding,) = of_check(result, "PG001")
    assert finding.object == ObjectRef("Deployment", "shop", "payments")
    (j,) = result.resolution.images
    assert j.pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT
    assert j.coverage is Coverage.NONE


def test_secret_matching_one_of_two_images() -> None:
    result = scan(FIXTURES / "pass" / "one_of_two_images.yaml")
    coverage = {j.use.name: j.coverage for j in result.resolution.images}
    assert coverage == {"api": Coverage.POD, "sidecar": Coverage.NONE}
    (finding,) = of_check(result, "PG001")
    assert finding.container == "sidecar"
