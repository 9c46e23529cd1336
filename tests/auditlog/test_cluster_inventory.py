"""`pullguard audit-log --kubeconfig`: pull secrets and RBAC read from a live cluster (the API server
double over real HTTP, tests/apiserver_double.py), names and types only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from apiserver_double import ApiServerDouble
from auditlog import auditgen as g
from cluster.fixtures import CANARY_PASSWORD, meta, shop_cluster
from pullguard import __version__

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    return subprocess.run(
        [sys.executable, "-m", "pullguard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def cluster() -> dict[str, list[dict[str, Any]]]:
    objects = shop_cluster()  # pull secrets shop/registry-creds and ops/ops-creds; Opaque shop/db-password
    objects["roles"] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta("secret-reader", "shop"),
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
        }
    ]
    objects["rolebindings"] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta("ci-reads-secrets", "shop"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}],
        }
    ]
    return objects


def test_pull_secrets_and_grants_from_the_cluster(tmp_path: Path) -> None:
    deployer = "system:serviceaccount:ci:deployer"
    log = g.write(
        tmp_path / "audit.log",
        [
            g.event(verb="list", user=deployer, namespace="shop"),  # allowed by the Role
            g.event(verb="get", user=deployer, namespace="ops", name="ops-creds"),  # no grant in ops
            g.event(verb="get", user="mallory", namespace="shop", name="db-password"),  # not a pull secret
        ],
    )
    with ApiServerDouble(cluster()) as api:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(api.kubeconfig("prod")))
        result = run("audit-log", str(log), "--kubeconfig", str(kubeconfig), "-f", "json")
        assert result.returncode == 1, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["summary"]["pullSecretsFromInventory"] and report["summary"]["pullSecrets"] == 2
        assert [(s["namespace"], s["name"]) for s in report["secrets"]] == [
            ("ops", "ops-creds"),
            ("shop", "registry-creds"),
        ]
        (finding,) = report["findings"]
        assert (finding["checkId"], finding["object"]["namespace"]) == ("PG040", "ops")
        shop = next(s for s in report["secrets"] if s["namespace"] == "shop")
        assert shop["readings"][0]["verdict"] == "allowed"
        # read-only, names and types only: no secret's data was asked for, and pullguard says who it is
        secret_requests = [r for r in api.requests if "/secrets" in r.path]
        assert secret_requests and all("as=Table" in r.accept for r in secret_requests)
        assert all(r.method == "GET" for r in api.requests)
        assert {r.user_agent for r in api.requests} == {f"pullguard/{__version__} (cluster scan)"}
        assert CANARY_PASSWORD not in result.stdout + result.stderr


def test_scan_cluster_with_audit_log(tmp_path: Path) -> None:
    log = g.write(
        tmp_path / "audit.log",
        [g.event(verb="get", user="mallory", namespace="ops", name="ops-creds", level="RequestResponse")],
    )
    with ApiServerDouble(cluster()) as api:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(api.kubeconfig("prod")))
        result = run(
            "scan", "--cluster", "-A", "--kubeconfig", str(kubeconfig), "--audit-log", str(log), "-f", "json"
        )
        report = json.loads(result.stdout)
        pg040 = [f for f in report["findings"] if f["checkId"] == "PG040"]
        assert [(f["object"]["namespace"], f["object"]["name"]) for f in pg040] == [("ops", "ops-creds")]
        assert any(f["checkId"] == "PG015" and f["object"]["kind"] == "AuditLog" for f in report["findings"])
        assert g.dockerconfig() not in result.stdout
        two = run(
            "scan",
            "--context",
            "a",
            "--context",
            "b",
            "--kubeconfig",
            str(kubeconfig),
            "--audit-log",
            str(log),
        )
        assert two.returncode == 2 and "one --context" in two.stderr
