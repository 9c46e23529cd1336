"""PG009: Unused pull secret, judged on the fixtures in tests/fixtures/pg009."""

from __future__ import annotations

from pathlib import Path

from support import fixture_tests, fixtures_of, scanner

CHECK = "PG009"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(CHECK, scan, of_check)


def test_unused_secret_is_named() -> None:
    path = FIXTURES / "fail" / "unreferenced.yaml"
    (finding,) = of_check(scan(path))
    assert str(finding.object) == "Secret shop/old-creds"
    assert finding.severity.value == "low"
    assert "is not referenced by any pod template or ServiceAccount in the input" in finding.message
    assert "No workload" not in finding.message
    assert finding.remediation.startswith("kubectl delete secret old-creds --namespace shop")


def test_secrets_alone_say_to_scan_the_workloads(tmp_path: Path) -> None:
    text = (FIXTURES / "fail" / "unreferenced.yaml").read_text().split("---\n")[0]
    path = tmp_path / "secret.yaml"
    path.write_text(text)
    (finding,) = of_check(scan(path))
    assert "No workload or ServiceAccount of namespace 'shop' is in the input" in finding.message
