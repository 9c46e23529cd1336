"""PG011: Pull secret mounted into a pod, judged on the fixtures in tests/fixtures/pg011."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, scanner

CHECK = "PG011"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(CHECK, scan, of_check)


def test_volume_and_env_from() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "volume_and_env.yaml"))
    assert finding.severity.value == "medium"
    assert str(finding.object) == "Deployment shop/api"
    assert "reads pull secret 'registry-creds' (envFrom of container 'app'; volume)" in finding.message
    assert "inherited by child processes" in finding.message


def test_projected_and_env() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "projected.yaml"))
    assert "(env of container 'app'; projected volume)" in finding.message
