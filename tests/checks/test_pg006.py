"""PG006: Static credential for a registry that issues short-lived tokens, judged on the fixtures in tests/fixtures/pg006."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pullguard.checks import Finding
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG006"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # the pinned clock of time-dependent checks
OPTIONS: dict[str, ScanOptions] = {}


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


def test_ecr_token_expired_with_age() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "ecr_token.yaml"))
    assert finding.severity.value == "medium"
    assert "an Amazon ECR authorization token (valid 12 hours)" in finding.message
    assert "written 12 days ago (metadata.creationTimestamp), it expired about 12 days ago" in finding.message
    assert "aws ecr get-login-password" in finding.remediation
    assert "AmazonEC2ContainerRegistryReadOnly" in finding.remediation


def test_acr_token_about_to_expire() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "acr_token.yaml"))
    assert "written 2 hours ago" in finding.message and "expires in about 2 hours" in finding.message


def test_token_of_unknown_age() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "gcp_access_token.yaml"))
    assert "a Google OAuth2 access token (valid about 1 hour)" in finding.message
    assert "unless something rewrites this secret, it has expired" in finding.message


def test_json_key_is_high_risk() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "gcp_json_key.yaml"))
    assert finding.severity.value == "high"
    assert "a long-lived Google service-account key (_json_key)" in finding.message
    assert "high risk" in finding.message
    assert "gcloud iam service-accounts keys delete" in finding.remediation
