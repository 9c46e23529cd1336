"""PG020: a ServiceAccount-token credential provider matches the image but gives the pod nothing."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, scanner

from pullguard.checks import Severity

CHECK = "PG020"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.MEDIUM
)


def test_missing_required_annotation_is_silent_in_the_kubelet() -> None:
    result = scan(FIXTURES / "fail" / "ecr_role_arn_missing.yaml")
    (finding,) = of_check(result)
    assert str(finding.object) == "Deployment shop/payments"
    assert "lacks the annotation eks.amazonaws.com/ecr-role-arn" in finding.message
    assert "silently gets no credential" in finding.message
    # PG020 explains it; PG017 stays quiet rather than saying it twice
    assert not of_check(result, "PG017")
    assert any(f.check_id == "PG001" for f in result.findings)


def test_annotation_the_plugin_reads_must_be_listed() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "annotation_not_passed.yaml"))
    assert "never sees it" in finding.message
    assert "from v1.35.0 it falls back to the node's IAM role" in finding.message


def test_present_annotation_covers_through_the_pods_token() -> None:
    result = scan(FIXTURES / "pass" / "ecr_role_arn_present.yaml")
    (image,) = result.resolution.images
    assert image.coverage.value == "provider-sa-token"
    assert image.matches[0].via == "provider ecr-credential-provider with ServiceAccount 'payments' token"
    assert not [f for f in result.findings if f.check_id in ("PG001", "PG017")]
