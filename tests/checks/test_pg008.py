"""PG008: Pull secret broader than its consumers need, judged on the fixtures in tests/fixtures/pg008."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, scanner

CHECK = "PG008"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(CHECK, scan, of_check)


def test_unneeded_keys_are_named() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "extra_registry.yaml"))
    assert finding.severity.value == "low"
    assert (
        "has keys for ghcr.io, index.docker.io that no image of its consumers needs (Deployment shop/api"
        in finding.message
    )
    assert "they use only registry.example.com" in finding.message
    assert "--docker-server=registry.example.com" in finding.remediation


def test_service_account_secret() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "service_account_secret_unneeded_key.yaml"))
    assert "keys for legacy.example.net" in finding.message
