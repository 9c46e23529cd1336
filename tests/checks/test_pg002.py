"""PG002: referenced pull secret does not exist, judged on tests/fixtures/pg002."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, line_of, scanner

from pullguard.checks import Severity
from pullguard.inventory.model import ObjectRef
from pullguard.inventory.resolve import SecretState

CHECK = "PG002"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK, no_warnings=True)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.MEDIUM
)


def test_missing_pod_level_secret() -> None:
    path = FIXTURES / "fail" / "missing_pod_secret.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.object == ObjectRef("Deployment", "shop", "api")
    assert finding.message == (
        "Deployment 'api' in namespace 'shop' references pull secret 'acr-creds', which is not in the input "
        "(namespace 'shop'); the kubelet skips it."
    )
    assert finding.location.path == str(path)
    assert finding.location.line == line_of(path, "imagePullSecrets:")
    assert (
        "kubectl create secret docker-registry acr-creds -n shop --docker-server=myregistry.azurecr.io"
        in (finding.remediation)
    )
    (pod,) = result.resolution.pods
    assert [(r.name, r.state) for r in pod.references] == [("acr-creds", SecretState.MISSING)]


def test_missing_service_account_secret_reported_once_on_the_account() -> None:
    path = FIXTURES / "fail" / "missing_sa_secret.yaml"
    result = scan(path)
    findings = of_check(result)
    assert len(findings) == 1
    (finding,) = findings
    assert finding.object == ObjectRef("ServiceAccount", "shop", "default")
    assert finding.message.startswith(
        "ServiceAccount 'default' in namespace 'shop' lists pull secret 'team-creds', which is not in the "
        "input (namespace 'shop'); pods running as it (such as Deployment shop/"
    )
    assert finding.location.document == 1
    assert finding.location.line == 2  # the object itself, after the comment that opens its document
    assert len(result.resolution.pods) == 3
    assert all(p.by_state(SecretState.MISSING) for p in result.resolution.pods)


def test_secret_in_another_namespace_does_not_count() -> None:
    path = FIXTURES / "fail" / "other_namespace.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.object == ObjectRef("Deployment", "shop", "api")
    assert "'acr-creds', which is not in the input (namespace 'shop')" in finding.message
    assert ("shared", "acr-creds") in result.inventory.secrets
    assert finding.location.line == line_of(path, "imagePullSecrets:")


def test_present_secrets() -> None:
    result = scan(FIXTURES / "pass" / "present.yaml")
    # PG010: its secrets are plaintext; PG013: its ServiceAccount automounts a token
    assert [f for f in result.findings if f.check_id not in ("PG010", "PG013")] == []
    assert all(r.state is SecretState.USABLE for p in result.resolution.pods for r in p.references)


def test_service_account_without_pods_is_reported_on_itself() -> None:
    path = FIXTURES / "fail" / "account_without_pods.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert result.resolution.pods == []
    assert finding.object == ObjectRef("ServiceAccount", "ci", "builder")
    assert finding.message == (
        "ServiceAccount 'builder' in namespace 'ci' lists pull secret 'ci-registry', which is not in the input "
        "(namespace 'ci'); pods running as it pull without it."
    )
    assert finding.location.line == line_of(path, "kind: ServiceAccount") - 1


def test_service_account_with_its_secret_present() -> None:
    assert of_check(scan(FIXTURES / "pass" / "account_secret_present.yaml")) == []
