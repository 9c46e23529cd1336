"""PG013: ServiceAccount token automounted, judged on the fixtures in tests/fixtures/pg013."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pullguard.checks import Finding
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG013"
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


def test_one_finding_per_service_account() -> None:
    path = FIXTURES / "fail" / "default_token.yaml"
    (finding,) = of_check(scan(path))
    assert str(finding.object) == "ServiceAccount shop/default"
    assert finding.severity.value == "info"  # no RBAC in the input: nothing to tell either way
    assert "into 2 workloads (Deployment shop/api, Deployment shop/web)" in finding.message
    assert "automountServiceAccountToken" in finding.remediation


def test_low_when_the_input_holds_rbac(tmp_path: Path) -> None:
    path = tmp_path / "with_rbac.yaml"
    path.write_text(
        (FIXTURES / "fail" / "default_token.yaml").read_text()
        + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: x\n  namespace: shop\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n"
        "subjects:\n- kind: ServiceAccount\n  name: other\n  namespace: shop\n"
    )
    (finding,) = of_check(scan(path))
    assert finding.severity.value == "low"
    assert "no RoleBinding or ClusterRoleBinding in the input names it" in finding.message
