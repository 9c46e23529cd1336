"""PG013: ServiceAccount token automounted, judged on the fixtures in tests/fixtures/pg013."""

from __future__ import annotations

from pathlib import Path

from support import fixture_tests, fixtures_of, scanner

CHECK = "PG013"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(CHECK, scan, of_check)


def test_one_finding_per_service_account() -> None:
    path = FIXTURES / "fail" / "default_token.yaml"
    (finding,) = of_check(scan(path))
    assert str(finding.object) == "ServiceAccount shop/default"
    assert finding.severity.value == "info"  # no RBAC in the input: nothing to tell either way
    assert "into 2 workloads (Deployment shop/api, Deployment shop/web)" in finding.message
    assert "automountServiceAccountToken" in finding.remediation


def test_low_when_the_input_holds_rbac(tmp_path: Path) -> None:
    path = tmp_path / "with_rbac.yaml"
    path.write_text(
        (FIXTURES / "fail" / "default_token.yaml").read_text()
        + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: x\n  namespace: shop\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n"
        "subjects:\n- kind: ServiceAccount\n  name: other\n  namespace: shop\n"
    )
    (finding,) = of_check(scan(path))
    assert finding.severity.value == "low"
    assert "no RoleBinding or ClusterRoleBinding in the input names it" in finding.message
