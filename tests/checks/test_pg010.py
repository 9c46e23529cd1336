"""PG010: Registry credentials committed in plaintext, judged on the fixtures in tests/fixtures/pg010."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pullguard.checks import Finding
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG010"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # the pinned clock of time-dependent checks
OPTIONS: dict[str, ScanOptions] = {}
SCRIPTS = FIXTURES / "scripts"


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


def test_manifest_finding_never_quotes_the_password() -> None:
    path = FIXTURES / "fail" / "plaintext_secret.yaml"
    (finding,) = of_check(scan(path))
    assert finding.severity.value == "high"
    assert str(finding.object) == "Secret shop/registry-creds"
    assert (
        "holds registry credentials in plaintext (.dockerconfigjson; base64 is not encryption)"
        in finding.message
    )
    assert "example-password-1" not in finding.message + finding.remediation
    assert "sops --encrypt" in finding.remediation


def test_literal_passwords_in_scripts_and_ci() -> None:
    result = scan_paths([str(SCRIPTS)], ScanOptions(now=NOW))
    findings = sorted(of_check(result), key=lambda f: f.location.path)
    assert [(f.location.path.rsplit("/", 1)[1], f.location.line, str(f.object)) for f in findings] == [
        ("deploy.yml", 8, "Secret ops/ci-creds"),
        ("deploy.sh", 4, "Secret shop/regcred"),
    ]
    for f in findings:
        assert "with a literal --docker-password" in f.message and "value not shown" in f.message
        assert "s3cr3tP@ssw0rd" not in f.message + f.remediation + repr(result.inventory)
        assert "hunter2-literal" not in f.message + f.remediation + repr(result.inventory)


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("s3cr3t", True),
        ("'s3cr3t'", True),
        ("$REGISTRY_PASSWORD", False),
        ('"${PASS}"', False),
        ("$(cat /run/secrets/x)", False),
        ("`cat x`", False),
        ("${{ secrets.X }}", False),
        ("<your-password>", False),
        ("", False),
        ("****", False),
    ],
)
def test_what_counts_as_a_literal(value: str, literal: bool) -> None:
    from pullguard.sources.scripts import is_literal

    assert is_literal(value) is literal
