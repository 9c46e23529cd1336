"""PG022: enforce-mountable-secrets ServiceAccount with a pod pull secret it does not list."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, scanner

from pullguard.checks import Severity

CHECK = "PG022"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.HIGH
)


def test_rejection_is_explained_with_a_dry_run_fix() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "not_listed.yaml"))
    assert "'other-pull' that ServiceAccount 'locked' does not list" in finding.message
    assert "rejects its pods (Forbidden)" in finding.message and "deprecated since v1.32" in finding.message
    assert finding.remediation.startswith("kubectl patch serviceaccount locked -n shop --dry-run=server")
    assert '"value":{"name":"other-pull"}' in finding.remediation
