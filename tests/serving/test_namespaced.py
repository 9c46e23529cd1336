"""`serve --watch-namespace`: a Role per namespace instead of a ClusterRole (deploy/overlays/namespaced),
rendered with `kubectl kustomize`, scanned by pullguard itself, and run against the API-server double
whose RBAC authorizer grants exactly the rendered Roles."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from apiserver_double import ApiServerDouble, rbac_allows
from cluster.fixtures import namespace, pod, pull_secret, service_account, shop_cluster
from integration.registry_env import Pki
from pullguard.serve.command import serve
from pullguard.serve.watches import watched
from pullguard.serve.webhook import WebhookSettings
from pullguard.settings import ScanOptions
from serving.admission import Client, review
from serving.shipped import assert_no_findings, kustomize
from serving.support import eventually, metrics_port, scrape, serving, value

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl (make system-deps)")
ACCOUNT = ("pullguard", "pullguard")  # (namespace, name) of serve's ServiceAccount


def grants_of(documents: list[dict[str, Any]]) -> list[tuple[str | None, dict[str, Any]]]:
    """The rules bound to serve's ServiceAccount: a RoleBinding's Role in its namespace, a
    ClusterRoleBinding's ClusterRole everywhere (as the RBAC authorizer resolves them)."""
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in documents}
    grants: list[tuple[str | None, dict[str, Any]]] = []
    for binding in documents:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        subjects = {
            (s.get("namespace"), s["name"]) for s in binding["subjects"] if s["kind"] == "ServiceAccount"
        }
        if ACCOUNT not in subjects:
            continue
        scope = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        ref = binding["roleRef"]
        role = roles[(ref["kind"], scope if ref["kind"] == "Role" else None, ref["name"])]
        grants += [(scope, rule) for rule in role["rules"]]
    return grants


def namespaces_flag(documents: list[dict[str, Any]]) -> tuple[str, ...]:
    args = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][
        0
    ]["args"]
    params = serve.make_context("serve", list(args[1:])).params
    return tuple(n for value in params["namespaces"] for n in value.split(","))


def test_overlay_has_no_cluster_role_and_passes_pullguards_own_checks(tmp_path: Path) -> None:
    documents = kustomize("namespaced")
    kinds = {d["kind"] for d in documents}
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds
    assert namespaces_flag(documents) == ("team-a", "team-b")
    assert_no_findings(documents, tmp_path / "namespaced.yaml")


def test_roles_grant_exactly_what_serve_requests_in_its_namespaces() -> None:
    documents = kustomize("namespaced")
    namespaces = namespaces_flag(documents)
    grants = grants_of(documents)
    needed = {
        (w.namespace, w.resource.group, w.resource.plural, verb)
        for w in watched(namespaces)
        for verb in ("list", "watch")
    }
    for scope in namespaces:
        needed |= {
            (scope, "", "secrets", "get"),
            (scope, "wgpolicyk8s.io", "policyreports", "patch"),
            (scope, "openreports.io", "reports", "patch"),
        }
    assert all(rbac_allows(grants, verb, group, plural, ns) for ns, group, plural, verb in needed)
    granted = {
        (scope, group, resource, verb)
        for scope, rule in grants
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    leases = {("pullguard", "coordination.k8s.io", "leases", v) for v in ("get", "create", "update")}
    reports = {
        (ns, g, r, v)
        for ns in namespaces
        for g, r in (("wgpolicyk8s.io", "policyreports"), ("openreports.io", "reports"))
        for v in ("get", "create")
    }
    assert granted - needed == leases | reports  # nothing beyond: reading, and writing its own reports
    assert all(scope is not None for scope, _ in grants)  # nothing at the cluster scope
    assert not rbac_allows(grants, "list", "", "nodes", None)
    assert not rbac_allows(grants, "list", "", "secrets", None)  # every namespace's secrets: no
    assert not rbac_allows(grants, "list", "", "secrets", "kube-system")


def cluster() -> dict[str, list[dict[str, Any]]]:
    objects = shop_cluster()  # shop and ops: not watched, and not readable with the Roles
    for name in ("team-a", "team-b"):
        objects["namespaces"].append(namespace(name))
        objects["serviceaccounts"].append(service_account("default", name))
    objects["secrets"].append(pull_secret("regcred", "team-a", "registry.example.com"))
    objects["pods"] += [
        pod("ok-0", "team-a", "registry.example.com/a/app:1", ["regcred"]),
        pod("broken-0", "team-b", "registry.example.com/b/app:1", ["nowhere"]),
    ]
    return objects


def test_serve_runs_with_only_the_rendered_roles(tmp_path: Path, pki: Pki) -> None:
    documents = kustomize("namespaced")
    namespaces = namespaces_flag(documents)
    crds = {"policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io"}
    settings = WebhookSettings.from_cert_path(("127.0.0.1", 0), str(tmp_path / "certs"), 0.5)
    with (
        ApiServerDouble(cluster(), crds=crds, grants=grants_of(documents), bookmark_interval=0.2) as api,
        serving(
            api, tmp_path, ScanOptions(), namespaces=namespaces, reports="wgpolicyk8s", webhook=settings
        ) as server,
    ):
        eventually(
            lambda: {r["metadata"]["namespace"] for r in api.objects.get("policyreports", [])} >= {"team-b"}
        )
        assert api.forbidden == []  # every request serve made, the Roles allow
        assert set(server.judge.snapshot.views) == {"team-a", "team-b"}
        found = {(f.check_id, f.object.name) for f in server.judge.snapshot.findings()}
        assert ("PG002", "broken-0") in found and not any(name == "ok-0" for _, name in found)
        written = {r["metadata"]["namespace"] for r in api.objects.get("policyreports", [])}
        assert written <= {"team-a", "team-b"} and not api.objects.get("clusterpolicyreports")
        samples = scrape(metrics_port(server))
        assert value(samples, "pullguard_watch_synced", resource="pods") == 1
        assert value(samples, "pullguard_watch_lists_total", resource="pods") == 2  # one per namespace
        # the webhook judges only the watched namespaces (elsewhere it knows no secret)
        client = Client(server.webhook_server.port, pki.ca_pem)
        elsewhere = client.send(
            review("Pod", pod("x-0", "shop", "registry.example.com/s:1", ["nope"]), "shop")
        )
        assert elsewhere[1]["response"] == {"uid": elsewhere[1]["response"]["uid"], "allowed": True}
        here = client.send(
            review("Pod", pod("x-0", "team-b", "registry.example.com/b:1", ["nope"]), "team-b")
        )
        assert any(w.startswith("pullguard PG002:") for w in here[1]["response"]["warnings"])
        api.create("pods", pod("late-0", "team-a", "registry.example.com/a/app:1", ["gone"]))
        eventually(
            lambda: (
                ("PG002", "late-0") in {(f.check_id, f.object.name) for f in server.judge.snapshot.findings()}
            )
        )
    assert api.forbidden == []


def test_the_double_refuses_what_the_roles_do_not_grant(tmp_path: Path) -> None:
    """The authorizer can fail: the whole-cluster serve under the namespaced Roles is refused."""
    grants = grants_of(kustomize("namespaced"))
    with ApiServerDouble(cluster(), grants=grants) as api, serving(api, tmp_path, ScanOptions()):
        pass
    assert ("list", "pods", None) in api.forbidden and ("list", "nodes", None) in api.forbidden


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--watch-namespace", "Shop"], "not a namespace name"),
        (["--watch-namespace", ",".join(f"n{i}" for i in range(65))], "at most 64"),
    ],
)
def test_bad_namespaces_are_usage_errors(flags: list[str], message: str) -> None:
    result = CliRunner().invoke(serve, flags)
    assert result.exit_code == 2 and message in result.output
