"""PG016: Namespace without Pod Security Standards enforcement, judged on the fixtures in tests/fixtures/pg016."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pullguard.checks import Finding
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG016"
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


def test_missing_label_mentions_warn_only() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "no_enforce_label.yaml"))
    assert str(finding.object) == "Namespace shop"
    assert finding.severity.value == "medium"
    assert "has no pod-security.kubernetes.io/enforce label (it only has warn=restricted" in finding.message
    assert "kubectl label --dry-run=server" in finding.remediation


def test_privileged_enforces_nothing() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "privileged.yaml"))
    assert "pod-security.kubernetes.io/enforce=privileged, which enforces nothing" in finding.message
