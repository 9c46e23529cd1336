"""PG023: static pods cannot use pull secrets."""

from __future__ import annotations

from support import NOW, fixture_tests, fixtures_of, scanner

from pullguard.checks import Severity
from pullguard.scan import ScanOptions

CHECK = "PG023"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.HIGH
)


def test_manifest_in_the_static_pod_directory() -> None:
    path = FIXTURES / "fail" / "etc" / "kubernetes" / "manifests" / "audit-agent.yaml"
    (finding,) = of_check(scan(path))
    assert "Static pod 'audit-agent' names pull secret 'corp-pull'" in finding.message


def test_effect_follows_the_version() -> None:
    path = FIXTURES / "fail" / "mirror_pod.yaml"
    (new,) = of_check(scan(path, ScanOptions(now=NOW, kubernetes_version="v1.34")))
    assert "this kubelet rejects the static pod" in new.message
    (old,) = of_check(scan(path, ScanOptions(now=NOW, kubernetes_version="v1.33")))
    assert "cannot read Secrets for a static pod" in old.message
