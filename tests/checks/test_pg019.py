"""PG019: kubelet credential configuration the kubelet refuses (strict decoding, validation, merge)."""

from __future__ import annotations

from pathlib import Path

from support import NOW, fixture_tests, fixtures_of, line_of, scanner

from pullguard.checks import Severity
from pullguard.scan import ScanOptions

CHECK = "PG019"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK, {"sa_mode_on_v1_33.yaml": ScanOptions(now=NOW, kubernetes_version="v1.33.4")})
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.HIGH
)


def test_token_attributes_outside_v1_is_an_unknown_field_at_its_line() -> None:
    path = FIXTURES / "fail" / "token_attributes_v1beta1.yaml"
    (finding,) = of_check(scan(path))
    assert "providers[0].tokenAttributes: unknown field (strict decoding" in finding.message
    assert finding.location.line == line_of(path, "- name: ecr-credential-provider")


def test_duplicate_name_and_missing_cache_duration() -> None:
    messages = sorted(f.message for f in of_check(scan(FIXTURES / "fail" / "duplicate_and_missing.yaml")))
    assert len(messages) == 2
    assert "providers[0].defaultCacheDuration: is required" in messages[0]
    assert "duplicate provider name 'ecr-credential-provider'" in messages[1]


def test_gate_off_on_v1_33_but_fine_on_v1_34() -> None:
    path = FIXTURES / "fail" / "sa_mode_on_v1_33.yaml"
    (finding,) = of_check(scan(path))
    assert "v1.33" in finding.message and "feature gate is disabled" in finding.message
    assert not of_check(scan(path, ScanOptions(now=NOW, kubernetes_version="v1.34.0")))


def test_refused_configuration_gives_no_coverage() -> None:
    result = scan(FIXTURES / "fail" / "sa_mode_on_v1_33.yaml")
    assert result.resolution.kubelet is not None
    assert result.resolution.kubelet.usable_providers == ()


def test_kubelet_configuration_policy_and_allowlist() -> None:
    messages = [f.message for f in of_check(scan(FIXTURES / "fail" / "bad_policy.yaml"))]
    assert any("'VerifyEverything' is not one of" in m for m in messages)
    assert any("a tag is not allowed" in m for m in messages)
    assert any("'*' is allowed only as a trailing '/*'" in m for m in messages)


def test_a_configuration_without_providers(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text("apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n")
    (finding,) = of_check(scan(path))
    assert "providers: at least 1 provider is required" in finding.message
