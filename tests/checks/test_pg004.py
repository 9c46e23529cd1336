"""PG004: pull secret matches none of the pod's images, judged on tests/fixtures/pg004."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, line_of, scanner

from pullguard.checks import Severity
from pullguard.inventory.model import ObjectRef
from pullguard.inventory.resolve import Coverage, SecretsFrom

CHECK = "PG004"
FIXTURES = fixtures_of(CHECK)
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
scan, of_check = scanner(CHECK, no_warnings=True)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.MEDIUM
)


def test_pod_secret_for_another_registry() -> None:
    path = FIXTURES / "fail" / "pod_secret_other_registry.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.object == ObjectRef("Deployment", "shop", "payments")
    assert finding.message == (
        "Deployment 'payments' in namespace 'shop' lists pull secret 'registry-creds' (keys: "
        f"registry.example.com), but none of its keys matches the pod's images ({ECR}/shop/payments:v3)."
    )
    assert finding.location.path == str(path)
    assert finding.location.line == line_of(path, "imagePullSecrets:")
    assert finding.image == f"{ECR}/shop/payments:v3"
    assert len(of_check(result, "PG001")) == 1


def test_service_account_mismatch_is_pg001_only() -> None:
    result = scan(FIXTURES / "pass" / "sa_inherited_mismatch.yaml")
    (finding,) = of_check(result, "PG001")
    assert finding.object == ObjectRef("Deployment", "shop", "payments")
    (j,) = result.resolution.images
    assert j.pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT
    assert j.coverage is Coverage.NONE


def test_secret_matching_one_of_two_images() -> None:
    result = scan(FIXTURES / "pass" / "one_of_two_images.yaml")
    coverage = {j.use.name: j.coverage for j in result.resolution.images}
    assert coverage == {"api": Coverage.POD, "sidecar": Coverage.NONE}
    (finding,) = of_check(result, "PG001")
    assert finding.container == "sidecar"
