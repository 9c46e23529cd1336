"""PG016: Namespace without Pod Security Standards enforcement, judged on the fixtures in tests/fixtures/pg016."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, scanner

CHECK = "PG016"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(CHECK, scan, of_check)


def test_missing_label_mentions_warn_only() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "no_enforce_label.yaml"))
    assert str(finding.object) == "Namespace shop"
    assert finding.severity.value == "medium"
    assert "has no pod-security.kubernetes.io/enforce label (it only has warn=restricted" in finding.message
    assert "kubectl label --dry-run=server" in finding.remediation


def test_privileged_enforces_nothing() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "privileged.yaml"))
    assert "pod-security.kubernetes.io/enforce=privileged, which enforces nothing" in finding.message
