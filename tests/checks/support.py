"""What every check's tests share: its fixtures, a scanner with the pinned clock, and the
pass/fail fixture tests (each fail fixture yields a finding of the check, each pass fixture none)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pullguard.checks import Finding, Severity
from pullguard.scan import ScanOptions, ScanResult, scan_paths

NOW = datetime(2026, 6, 1, tzinfo=UTC)  # the pinned clock of time-dependent checks
FIXTURE_ROOT = Path(__file__).resolve().parents[1] / "fixtures"

Scan = Callable[..., ScanResult]
OfCheck = Callable[..., list[Finding]]


def fixtures_of(check: str) -> Path:
    return FIXTURE_ROOT / check.lower()


def scanner(
    check: str, options: dict[str, ScanOptions] | None = None, *, no_warnings: bool = False
) -> tuple[Scan, OfCheck]:
    """`scan(path[, options])` (no input error allowed; with `no_warnings`, no input problem
    at all) and `of_check(result[, check])` for one check; `options` maps a fixture's file
    name to the options it needs."""
    per_file = options or {}

    def scan(path: Path, options: ScanOptions | None = None) -> ScanResult:
        result = scan_paths([str(path)], options or per_file.get(path.name, ScanOptions(now=NOW)))
        problems = (
            result.problems if no_warnings else [p for p in result.problems if p.level.value == "error"]
        )
        assert not problems, result.problems
        return result

    def of_check(result: ScanResult, other: str = check) -> list[Finding]:
        return [f for f in result.findings if f.check_id == other]

    return scan, of_check


def fixture_tests(
    check: str, scan: Scan, of_check: OfCheck, severity: Severity | None = None
) -> tuple[Callable[[Path], None], Callable[[Path], None]]:
    """The two parametrized tests over tests/fixtures/<check>/{fail,pass}/*.yaml; with
    `severity`, every finding of a fail fixture must have it."""
    fixtures = fixtures_of(check)

    @pytest.mark.parametrize("path", sorted((fixtures / "fail").glob("*.yaml")), ids=lambda p: p.name)
    def test_fail_fixture_yields_a_finding(path: Path) -> None:
        findings = of_check(scan(path))
        assert findings, f"{path.name}: expected at least one {check}"
        if severity is not None:
            assert all(f.severity is severity for f in findings)

    @pytest.mark.parametrize("path", sorted((fixtures / "pass").glob("*.yaml")), ids=lambda p: p.name)
    def test_pass_fixture_yields_none(path: Path) -> None:
        findings = of_check(scan(path))
        assert not findings, [f.message for f in findings]

    return test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)
