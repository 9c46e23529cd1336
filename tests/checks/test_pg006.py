"""PG006: Static credential for a registry that issues short-lived tokens, judged on the fixtures in tests/fixtures/pg006."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, scanner

CHECK = "PG006"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(CHECK, scan, of_check)


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
