"""PG025 (node-cache trap) on a live cluster: the fixtures in tests/fixtures/pg025 are served by
the API-server double over HTTP and scanned with `pullguard scan --cluster`, rated per node's
kubeletVersion (KEP-2535: re-verification on by default from v1.35)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from apiserver_double import ApiServerDouble
from cluster.fixtures import namespace, service_account
from cluster.test_cluster_scan import run, write_kubeconfig

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pg025"
PLURALS = {"Node": "nodes", "Pod": "pods"}


def cluster_objects(path: Path) -> dict[str, list[dict[str, Any]]]:
    objects: dict[str, list[dict[str, Any]]] = {
        "namespaces": [namespace("shop")],
        "serviceaccounts": [service_account("default", "shop")],
    }
    for document in yaml.safe_load_all(path.read_text()):
        kind = document.pop("kind")
        document.pop("apiVersion")
        objects.setdefault(PLURALS[kind], []).append(document)
    return objects


def scan_fixture(path: Path, tmp_path: Path) -> dict[str, Any]:
    with ApiServerDouble(cluster_objects(path)) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.kubeconfig("prod"))
        result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-A", "-f", "json")
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def pg025(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["checkId"] == "PG025"]


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def test_before_v1_35_it_runs_on_someone_elses_pull(tmp: Path) -> None:
    (finding,) = pg025(scan_fixture(FIXTURES / "fail" / "v1_32_if_not_present.yaml", tmp))
    assert finding["severity"] == "high"
    assert "node 'node-a' (kubelet v1.32.3, policy NeverVerify)" in finding["message"]
    assert "a reschedule to a node without the image fails" in finding["message"]
    assert finding["object"]["kind"] == "Pod" and finding["object"]["name"] == "app-1"
    # appends to the ServiceAccount's list (a strategic-merge patch would replace it: no merge key)
    (patch,) = [
        line for line in finding["remediation"].splitlines() if "kubectl patch serviceaccount" in line
    ]
    assert "--type=json" in patch and '"path":"/imagePullSecrets' in patch


def test_from_v1_35_it_fails_on_its_next_start(tmp: Path) -> None:
    (finding,) = pg025(scan_fixture(FIXTURES / "fail" / "v1_35_never.yaml", tmp))
    assert finding["severity"] == "medium"
    assert "policy NeverVerifyPreloadedImages" in finding["message"]
    assert "ErrImageNeverPull" in finding["message"]


def test_pull_policy_always_is_no_cache_trap(tmp: Path) -> None:
    report = scan_fixture(FIXTURES / "pass" / "always.yaml", tmp)
    assert not pg025(report)
    assert any(f["checkId"] == "PG001" for f in report["findings"])


def _replica(name: str, node: str) -> dict[str, Any]:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/app:1.2"
    return {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"uid-{name}",
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": True}
            ],
        },
        "spec": {
            "nodeName": node,
            "serviceAccountName": "default",
            "containers": [{"name": "app", "image": image, "imagePullPolicy": "IfNotPresent"}],
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "app",
                    "image": image,
                    "imageID": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/app@sha256:" + "4c" * 32,
                    "state": {"running": {"startedAt": "2026-05-30T10:00:00Z"}},
                }
            ],
        },
    }


def test_every_replica_is_judged_on_its_own_node(tmp: Path) -> None:
    """Replicas are built into one pod template, but each runs on its own node: the one on the
    older kubelet (no re-verification) is the high-severity case and must not be lost."""
    nodes = [
        {"metadata": {"name": name}, "status": {"nodeInfo": {"kubeletVersion": version}}}
        for name, version in (("node-new", "v1.35.1"), ("node-old", "v1.32.3"))
    ]
    objects: dict[str, list[dict[str, Any]]] = {
        "namespaces": [namespace("shop")],
        "serviceaccounts": [service_account("default", "shop")],
        "nodes": nodes,
        "pods": [_replica("agent-a", "node-new"), _replica("agent-b", "node-old")],
    }
    with ApiServerDouble(objects) as api:
        kubeconfig = write_kubeconfig(tmp / "kubeconfig", api.kubeconfig("prod"))
        result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-A", "-f", "json")
    assert result.returncode in (0, 1), result.stderr
    found = {(f["severity"], "node-old" in f["message"]) for f in pg025(json.loads(result.stdout))}
    assert found == {("medium", False), ("high", True)}
