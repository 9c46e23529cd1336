"""PG015: the audit policy and secrets, judged on tests/fixtures/pg015."""

from __future__ import annotations

from pathlib import Path

import pytest

from pullguard.checks import Finding, Severity
from pullguard.inventory.model import ObjectRef
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG015"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()
METALLB = Path(__file__).resolve().parents[3] / "shared/corpus/realworld/metallb/dev-env/audit-policy.yaml"


def scan(path: Path) -> ScanResult:
    result = scan_paths([str(path)], ScanOptions())
    assert not result.problems, result.problems
    return result


def of_check(result: ScanResult) -> list[Finding]:
    return [f for f in result.findings if f.check_id == CHECK]


@pytest.mark.parametrize("path", sorted((FIXTURES / "fail").glob("*.yaml")), ids=lambda p: p.name)
def test_fail_fixture_yields_a_finding(path: Path) -> None:
    assert of_check(scan(path))


@pytest.mark.parametrize("path", sorted((FIXTURES / "pass").glob("*.yaml")), ids=lambda p: p.name)
def test_pass_fixture_yields_none(path: Path) -> None:
    assert not of_check(scan(path))


def test_seed_policy_leaks_secret_reads() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "seed_request_response.yaml"))
    assert finding.severity is Severity.HIGH
    assert finding.object == ObjectRef("Policy", None, "seed_request_response.yaml")
    assert finding.message.startswith(
        "Audit Policy 'seed_request_response.yaml': rule #1 logs secrets at level RequestResponse for get, list:"
    )
    assert finding.location.line == 5
    assert "level: Metadata" in finding.remediation


def test_users_only_policy_records_no_secret_reads() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "metallb_users_only.yaml"))
    assert finding.severity is Severity.MEDIUM
    assert "does not record get, list, watch on secrets (no rule matches them)" in finding.message


def test_none_rule_first() -> None:
    leak, unrecorded = of_check(scan(FIXTURES / "fail" / "none_first.yaml"))
    assert "rule #2 logs secrets at level Request for create, update, patch" in leak.message
    assert "(rule #1 (level None) matches them first)" in unrecorded.message


def test_omitted_response_stage_means_no_bodies(tmp_path: Path) -> None:
    text = (FIXTURES / "fail" / "seed_request_response.yaml").read_text()
    path = tmp_path / "omit.yaml"
    path.write_text(
        text.replace("      - RequestReceived", "      - RequestReceived\n      - ResponseComplete")
    )
    assert not of_check(scan(path))


@pytest.mark.skipif(not METALLB.is_file(), reason="shared corpus absent")
def test_real_world_metallb_policy() -> None:
    (finding,) = of_check(scan(METALLB))
    assert finding.severity is Severity.MEDIUM
