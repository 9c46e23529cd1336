"""PG018: credential provider matchImages entry that can never match (URLsMatch rules)."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, line_of, scanner

from pullguard.checks import Severity

CHECK = "PG018"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.MEDIUM
)


def test_path_glob_names_the_literal_prefix_and_the_fix() -> None:
    path = FIXTURES / "fail" / "path_glob.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert str(finding.object) == "CredentialProviderConfig path_glob.yaml"
    assert "'harbor.example.com/*' never matches" in finding.message
    assert "literal prefix" in finding.message
    assert "'harbor.example.com'" in finding.remediation
    assert finding.location.line == line_of(path, "- name: harbor-credential-provider")
    # the kubelet would not ask the provider: the image stays uncovered
    (image,) = result.resolution.images
    assert image.coverage.value == "none"


def test_label_count_names_the_registry_in_use() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "label_count.yaml"))
    assert "'*.example.com' never matches" in finding.message
    assert "3 host labels" in finding.message and "reg.eu.example.com" in finding.message


def test_an_entry_missing_a_host_another_entry_matches_is_not_reported() -> None:
    result = scan(FIXTURES / "pass" / "literal_prefix.yaml")
    assert {j.coverage.value for j in result.resolution.images} == {"provider"}
    assert [m.location for j in result.resolution.images for m in j.matches] == [
        "harbor.example.com/shop",
        "*.*.example.com",
    ]


def test_port_written_differently() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "port.yaml"))
    assert "ports are compared as strings" in finding.message
    assert "registry.example.com:5000" in finding.message
