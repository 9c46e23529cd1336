"""PG027: eks.amazonaws.com/ecr-role-arn on a ServiceAccount whose ECR images the node's identity pulls."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, scanner

from pullguard.checks import Severity

CHECK = "PG027"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.LOW
)


def test_says_the_role_is_never_used() -> None:
    result = scan(FIXTURES / "fail" / "node_mode_provider.yaml")
    (finding,) = of_check(result)
    assert "role/payments-pull" in finding.message
    assert "provider ecr-credential-provider (node identity)" in finding.message
    (image,) = result.resolution.images
    assert image.coverage.value == "provider"
