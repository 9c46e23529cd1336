"""PG030: a pull secret that gives the kubelet no usable credential, judged on tests/fixtures/pg030."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, scanner

from pullguard.checks import Severity
from pullguard.inventory.model import ObjectRef

CHECK = "PG030"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.MEDIUM
)


def test_desktop_config_names_its_empty_entries_and_the_pods() -> None:
    result = scan(FIXTURES / "fail" / "desktop_config.yaml")
    (finding,) = of_check(result)
    assert finding.object == ObjectRef("Secret", "apps", "desktop-login")
    assert "'ghcr.io' (empty), 'https://index.docker.io/v1/' (empty)" in finding.message
    assert "credsStore names a credential helper" in finding.message
    assert "Pods relying on it (Deployment apps/api) pull anonymously" in finding.message
    assert not [f for f in result.findings if f.check_id in ("PG001", "PG010", "PG009", "PG005")]


def test_wrapped_dockercfg_is_no_static_ecr_token_but_still_plaintext() -> None:
    result = scan(FIXTURES / "fail" / "dockercfg_wrapping_auths.yaml")
    (finding,) = of_check(result)
    assert "'auths' (a docker config.json stored as kubernetes.io/dockercfg" in finding.message
    assert "123456789012.dkr.ecr.eu-west-1.amazonaws.com) are never read by the kubelet" in finding.message
    assert of_check(result, "PG006") == []  # the kubelet holds no ECR token at all
    assert len(of_check(result, "PG010")) == 1  # but the token is readable in the file
    assert "not-a-real-token" not in finding.message + finding.remediation


def test_identity_token_only() -> None:
    result = scan(FIXTURES / "fail" / "identity_token_only.yaml")
    (finding,) = of_check(result)
    assert (
        "'registry.tools.example' (only an identitytoken, which the kubelet does not read)" in finding.message
    )
    assert "ServiceAccount tools/default" not in finding.message  # no pod in the input relies on it
    assert of_check(result, "PG010") == []


def test_empty_auths_map() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "empty_auths.yaml"))
    assert "it has no entries" in finding.message


def test_one_usable_entry_is_enough() -> None:
    result = scan(FIXTURES / "pass" / "one_usable_entry.yaml")
    assert of_check(result) == []
    assert len(of_check(result, "PG010")) == 1
