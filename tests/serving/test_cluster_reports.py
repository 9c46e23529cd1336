"""The ClusterPolicyReport (openreports.io: ClusterReport): results about cluster-scoped objects,
server-side applied into the API-server double only when that kind's own CRD is installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apiserver_double import ApiServerDouble
from cluster.fixtures import CANARY_PASSWORD, namespace, shop_cluster
from pullguard.serve.command import serve_options
from pullguard.settings import ScanOptions
from serving.support import eventually, metrics_port, scrape, serving, value

WG, CLUSTER_WG = "policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io"
OPEN, CLUSTER_OPEN = "reports.openreports.io", "clusterreports.openreports.io"
# the kubelet refuses it: defaultCacheDuration is required (validateCredentialProviderConfig)
REFUSED = """\
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: ecr-credential-provider
    matchImages: ["*.dkr.ecr.*.amazonaws.com"]
    apiVersion: credentialprovider.kubelet.k8s.io/v1
"""


def options(directory: Path) -> ScanOptions:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "providers.yaml").write_text(REFUSED)
    (directory / "pullguard.yaml").write_text("kubelet:\n  providerConfig: providers.yaml\n")
    return serve_options(str(directory / "pullguard.yaml"))  # type: ignore[no-any-return]


def cluster_report(api: ApiServerDouble, plural: str = "clusterpolicyreports") -> dict[str, Any] | None:
    found = [r for r in api.objects.get(plural, []) if r["metadata"]["name"] == "pullguard"]
    return found[0] if found else None


def results(report: dict[str, Any] | None) -> set[tuple[str, str, str]]:
    if report is None:
        return set()
    return {(r["policy"], r["resources"][0]["kind"], r["resources"][0]["name"]) for r in report["results"]}


def test_cluster_scoped_results_go_into_one_cluster_policy_report(tmp_path: Path) -> None:
    with (
        ApiServerDouble(shop_cluster(), crds={WG, CLUSTER_WG}, bookmark_interval=0.2) as api,
        serving(api, tmp_path, options(tmp_path / "config"), reports="wgpolicyk8s") as server,
    ):
        expected = {
            ("PG016", "Namespace", "shop"),
            ("PG016", "Namespace", "ops"),
            ("PG019", "CredentialProviderConfig", "providers.yaml"),
        }
        eventually(lambda: expected <= results(cluster_report(api)))
        report = cluster_report(api)
        assert report is not None
        assert report["apiVersion"] == "wgpolicyk8s.io/v1alpha2" and report["kind"] == "ClusterPolicyReport"
        assert "namespace" not in report["metadata"]
        assert (
            report["metadata"]["managedFields"][0]["manager"],
            report["metadata"]["managedFields"][0]["operation"],
        ) == ("pullguard", "Apply")
        assert report["summary"]["fail"] + report["summary"]["warn"] == len(report["results"])
        refused = next(r for r in report["results"] if r["policy"] == "PG019")
        assert refused["resources"][0]["apiVersion"] == "kubelet.config.k8s.io/v1"
        assert "defaultCacheDuration" in refused["message"] and refused["source"] == "pullguard"
        # the namespaces' own reports hold only namespaced objects
        eventually(
            lambda: (
                {"shop", "ops"} <= {r["metadata"]["namespace"] for r in api.objects.get("policyreports", [])}
            )
        )
        for namespaced in api.objects["policyreports"]:
            assert all(r["resources"][0].get("namespace") for r in namespaced["results"])
        # the same findings in the metrics, under namespace "" for objects outside any namespace
        samples = scrape(metrics_port(server))
        assert value(samples, "pullguard_findings", check="PG019", namespace="") == 1
        # stale results are removed: ops gets a Pod Security level, its PG016 goes
        labelled = namespace("ops")
        labelled["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "restricted"
        api.update("namespaces", labelled)
        eventually(lambda: ("PG016", "Namespace", "ops") not in results(cluster_report(api)))
        assert ("PG016", "Namespace", "shop") in results(cluster_report(api))
        assert CANARY_PASSWORD not in json.dumps(api.objects["clusterpolicyreports"])


def test_without_its_crd_no_cluster_report_and_namespaces_keep_their_pg016(tmp_path: Path) -> None:
    with (
        ApiServerDouble(shop_cluster(), crds={WG}) as api,
        serving(api, tmp_path, reports="wgpolicyk8s") as server,
    ):
        eventually(
            lambda: (
                ("PG016", "Namespace", "ops")
                in results(
                    next(
                        (
                            r
                            for r in api.objects.get("policyreports", [])
                            if r["metadata"]["namespace"] == "ops"
                        ),
                        None,
                    )
                )
            )
        )
        assert server.reporter.cluster is False
        assert "clusterpolicyreports" not in api.objects or not api.objects["clusterpolicyreports"]


def test_openreports_cluster_report(tmp_path: Path) -> None:
    with (
        ApiServerDouble(shop_cluster(), crds={OPEN, CLUSTER_OPEN}) as api,
        serving(api, tmp_path, reports="openreports"),
    ):
        eventually(lambda: ("PG016", "Namespace", "shop") in results(cluster_report(api, "clusterreports")))
        report = cluster_report(api, "clusterreports")
    assert report is not None and report["kind"] == "ClusterReport" and report["source"] == "pullguard"
    assert report["apiVersion"] == "openreports.io/v1alpha1"
