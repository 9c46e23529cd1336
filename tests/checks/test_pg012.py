"""PG012: subjects that can read pull secrets, judged on tests/fixtures/pg012."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pullguard.checks import Finding, Severity
from pullguard.inventory.access import SecretAccess, SecretReader
from pullguard.inventory.access import compute_secret_access as secret_access
from pullguard.inventory.model import ObjectRef
from pullguard.inventory.rbac import Subject
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG012"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()


def scan(path: Path) -> ScanResult:
    result = scan_paths([str(path)], ScanOptions())
    assert not result.problems, result.problems
    return result


def of_check(result: ScanResult) -> list[Finding]:
    return [f for f in result.findings if f.check_id == CHECK]


def readers(path: Path) -> dict[Subject, tuple[str, ...]]:
    access = secret_access(scan(path).inventory)
    return {r.subject: r.verbs for r in access.of("shop", "regcred")}


@pytest.mark.parametrize("path", sorted((FIXTURES / "fail").glob("*.yaml")), ids=lambda p: p.name)
def test_fail_fixture_yields_one_finding_per_pull_secret(path: Path) -> None:
    findings = of_check(scan(path))
    assert len(findings) == 1, findings
    assert findings[0].severity is Severity.HIGH
    assert findings[0].object == ObjectRef("Secret", "shop", "regcred")


@pytest.mark.parametrize("path", sorted((FIXTURES / "pass").glob("*.yaml")), ids=lambda p: p.name)
def test_pass_fixture_yields_none(path: Path) -> None:
    assert not of_check(scan(path))


def test_role_listing_secrets_names_every_subject() -> None:
    path = FIXTURES / "fail" / "role_lists_secrets.yaml"
    (finding,) = of_check(scan(path))
    assert finding.message == (
        "Pull secret 'regcred' in namespace 'shop' can be read by 2 subjects: ServiceAccount shop/ci "
        "(get, list, watch; via RoleBinding shop/config-reader → Role shop/config-reader); User alice@example.com "
        "(get, list, watch; via RoleBinding shop/config-reader → Role shop/config-reader). list/watch return the "
        "data of every secret in the namespace, this registry credential included."
    )
    assert (
        "kubectl auth can-i get secret/regcred -n shop --as system:serviceaccount:shop:ci"
        in finding.remediation
    )
    assert "kubectl edit role config-reader -n shop" in finding.remediation
    assert finding.location.document == 1


def test_cluster_role_through_role_binding_is_namespace_local(tmp_path: Path) -> None:
    path = FIXTURES / "fail" / "clusterrole_via_rolebinding.yaml"
    assert readers(path) == {Subject("Group", "system:serviceaccounts:shop"): ("list",)}
    (finding,) = of_check(scan(path))
    assert "[every ServiceAccount in namespace shop]" in finding.message
    # the same binding in another namespace does not reach shop
    other = tmp_path / "other_namespace.yaml"
    other.write_text(path.read_text().replace("namespace: shop\nroleRef", "namespace: ops\nroleRef"))
    assert not of_check(scan(other))


def test_aggregated_cluster_role_holds_selected_rules() -> None:
    assert readers(FIXTURES / "fail" / "aggregated_clusterrole.yaml") == {
        Subject("ServiceAccount", "prometheus", "monitoring"): ("watch",)
    }


def test_builtin_roles_and_system_masters() -> None:
    path = FIXTURES / "fail" / "builtin_edit_and_masters.yaml"
    assert readers(path) == {
        Subject("Group", "developers"): ("get", "list", "watch"),
        Subject("Group", "system:masters"): ("get", "list", "watch"),
    }
    (finding,) = of_check(scan(path))
    assert "ClusterRole edit (built-in)" in finding.message
    assert "[cluster administrators; bypasses RBAC]" in finding.message


def test_resource_names_limit_to_the_named_secret() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "resource_names.yaml"))
    assert "ServiceAccount shop/deployer (get, by name only (resourceNames)" in finding.message
    assert "list/watch return" not in finding.message


def test_aggregation_into_builtin_view_reaches_edit_and_admin(tmp_path: Path) -> None:
    """A ClusterRole labelled aggregate-to-view reading secrets makes view, edit and admin read them."""
    secret = (FIXTURES / "fail" / "resource_names.yaml").read_text().split("---\n")[0]
    path = tmp_path / "agg.yaml"
    path.write_text(
        secret
        + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: crd-view\n"
        '  labels:\n    rbac.authorization.k8s.io/aggregate-to-view: "true"\n'
        'rules:\n- apiGroups: [""]\n  resources: [secrets]\n  verbs: [list]\n'
        + "".join(
            f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {role}\n"
            f"  namespace: shop\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}\n"
            f"subjects:\n- kind: User\n  name: {role}-user\n"
            for role in ("view", "admin")
        )
    )
    got = readers(path)
    assert got[Subject("User", "view-user")] == ("list",)
    assert got[Subject("User", "admin-user")] == ("get", "list", "watch")


def test_many_namespaces_stay_fast(tmp_path: Path) -> None:
    """Bindings are indexed by namespace: 3,000 namespaces with a secret reader each scan quickly."""
    secret = (FIXTURES / "fail" / "role_lists_secrets.yaml").read_text().split("---\n")
    documents = []
    for index in range(3000):
        documents += [part.replace("namespace: shop", f"namespace: ns{index}") for part in secret]
    path = tmp_path / "many.yaml"
    path.write_text("---\n".join(documents))
    result = scan(path)
    started = time.perf_counter()
    access = secret_access(result.inventory)
    assert time.perf_counter() - started < 2.0
    assert len(access.readers) == 3000
    assert len(of_check(result)) == 3000


def test_cluster_wide_readers_are_listed_once(tmp_path: Path) -> None:
    """A ClusterRoleBinding reader reads every secret: the JSON lists it once, PG012 names it per secret."""
    import json as _json

    from pullguard.report import json_report

    secrets = "".join(
        f"---\napiVersion: v1\nkind: Secret\nmetadata: {{name: pull, namespace: ns{i}}}\n"
        "type: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '{\"auths\": {}}'}\n"
        for i in range(3)
    )
    rbac = (
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: read-secrets}\n"
        "rules: [{apiGroups: [''], resources: [secrets], verbs: [list]}]\n"
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ops}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: read-secrets}\n"
        "subjects: [{kind: User, name: ops-bot}]\n"
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: local, namespace: ns1}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: read-secrets}\n"
        "subjects: [{kind: User, name: ns1-admin}]\n"
    )
    (tmp_path / "m.yaml").write_text(secrets + rbac)
    result = scan_paths([str(tmp_path)], ScanOptions())
    pg012 = sorted((f.object.namespace, f.message) for f in result.findings if f.check_id == "PG012")
    assert [ns for ns, _ in pg012] == ["ns0", "ns1", "ns2"]
    assert all("ops-bot" in message for _, message in pg012)
    assert "ns1-admin" in pg012[1][1] and "ns1-admin" not in pg012[0][1]
    report = _json.loads(json_report.render(result))
    assert [r["name"] for r in report["clusterWideSecretReaders"]] == ["ops-bot"]
    local = {s["namespace"]: [r["name"] for r in s["readers"]] for s in report["pullSecrets"]}
    assert local == {"ns0": [], "ns1": ["ns1-admin"], "ns2": []}


def test_every_reader_of_a_secret_is_its_own_then_the_cluster_wide_ones_not_named() -> None:
    def reader(name: str, verbs: tuple[str, ...] = ("get",)) -> SecretReader:
        return SecretReader(Subject("User", name), verbs, (), False)

    everyone, ops = reader("everyone", ("list",)), reader("ops", ("list",))
    own, ops_by_name = reader("own"), reader("ops")
    access = SecretAccess(
        {("shop", "a"): (own,), ("shop", "b"): (own, ops_by_name)}, cluster_wide=(everyone, ops)
    )
    assert access.of("shop", "none") == (everyone, ops)  # no reader of its own
    assert access.of("shop", "a") == (own, everyone, ops)  # nobody named twice
    assert access.of("shop", "b") == (own, ops_by_name, everyone)  # ops only once, as the secret's own
    assert access == SecretAccess(dict(access.readers), cluster_wide=(everyone, ops))
