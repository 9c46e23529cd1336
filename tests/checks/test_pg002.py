"""PG002: referenced pull secret does not exist, judged on tests/fixtures/pg002."""

from __future__ import annotations

from pathlib import Path

import pytest

from pullguard.checks import Finding, Severity
from pullguard.inventory.model import ObjectRef
from pullguard.inventory.resolve import SecretState
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG002"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()


def scan(path: Path) -> ScanResult:
    result = scan_paths([str(path)], ScanOptions())
    assert not result.problems, result.problems
    return result


def of_check(result: ScanResult) -> list[Finding]:
    return [f for f in result.findings if f.check_id == CHECK]


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


def test_missing_pod_level_secret() -> None:
    path = FIXTURES / "fail" / "missing_pod_secret.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.object == ObjectRef("Deployment", "shop", "api")
    assert finding.message == (
        "Deployment 'api' in namespace 'shop' references pull secret 'acr-creds', which does not exist in "
        "namespace 'shop'; the kubelet skips it."
    )
    assert finding.location.path == str(path)
    assert finding.location.line == line_of(path, "imagePullSecrets:")
    assert "kubectl create secret docker-registry acr-creds --namespace shop" in finding.remediation
    (pod,) = result.resolution.pods
    assert [(r.name, r.state) for r in pod.references] == [("acr-creds", SecretState.MISSING)]


def test_missing_service_account_secret_reported_once_on_the_account() -> None:
    path = FIXTURES / "fail" / "missing_sa_secret.yaml"
    result = scan(path)
    findings = of_check(result)
    assert len(findings) == 1
    (finding,) = findings
    assert finding.object == ObjectRef("ServiceAccount", "shop", "default")
    assert finding.message.startswith(
        "ServiceAccount 'default' in namespace 'shop' lists pull secret 'team-creds', which does not exist "
        "in namespace 'shop'; pods using it (such as Deployment shop/"
    )
    assert finding.location.document == 1
    assert finding.location.line == 2  # the object itself, after the comment that opens its document
    assert len(result.resolution.pods) == 3
    assert all(p.by_state(SecretState.MISSING) for p in result.resolution.pods)


def test_secret_in_another_namespace_does_not_count() -> None:
    path = FIXTURES / "fail" / "other_namespace.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.object == ObjectRef("Deployment", "shop", "api")
    assert "'acr-creds', which does not exist in namespace 'shop'" in finding.message
    assert ("shared", "acr-creds") in result.inventory.secrets
    assert finding.location.line == line_of(path, "imagePullSecrets:")


def test_present_secrets() -> None:
    result = scan(FIXTURES / "pass" / "present.yaml")
    # PG010: its secrets are plaintext; PG013: its ServiceAccount automounts a token
    assert [f for f in result.findings if f.check_id not in ("PG010", "PG013")] == []
    assert all(r.state is SecretState.USABLE for p in result.resolution.pods for r in p.references)
