"""A live scan at scale (README "Scale"): the next page and the next list's first page are asked
for while the current one is judged, which must give the same result and the same requests as
reading page after page; and memory does not grow with the number of pods. Over real HTTP
against the API-server double."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path
from typing import Any

import yaml

from apiserver_double import ApiServerDouble, Denial
from cluster.fixtures import deployment, namespace, pod, pull_secret, service_account
from pullguard.fleet import scan_cluster
from pullguard.result import ScanResult
from pullguard.scan import ScanOptions
from pullguard.sources.cluster import ClusterOptions, connect


def _cluster(replicas: int = 7) -> dict[str, list[dict[str, Any]]]:
    """Replicas that are alike and replicas that are not: a rolling update (two ReplicaSets of one
    Deployment, other images), a pod given another pull secret, a pod of a CronJob's Job, a bare pod,
    a static pod's mirror, a pod with two owner references, and one with a missing secret."""
    ns = "shop"
    pods: list[dict[str, Any]] = []
    for i in range(replicas):
        pods.append(
            pod(
                f"web-aaa-{i}",
                ns,
                "registry.corp.example/web:1",
                ["regcred"],
                owner=("ReplicaSet", "web-aaa"),
                labels={"app": "web", "pod-template-hash": "aaa"},
            )
        )
        pods.append(
            pod(
                f"web-bbb-{i}",
                ns,
                "registry.corp.example/web:2",
                ["regcred"],
                owner=("ReplicaSet", "web-bbb"),
                labels={"app": "web", "pod-template-hash": "bbb"},
            )
        )
    pods.append(
        pod(
            "web-aaa-odd",
            ns,
            "registry.corp.example/web:1",
            ["other-registry"],
            owner=("ReplicaSet", "web-aaa"),
            labels={"app": "web", "pod-template-hash": "aaa"},
        )
    )
    pods.append(pod("report-1-x", ns, "ghcr.io/acme/report:3", ["missing"], owner=("Job", "report-1")))
    pods.append(pod("debug", ns, "registry.corp.example/debug:1", []))
    pods.append(pod("etcd-node-1", ns, "registry.k8s.io/etcd:3.5", [], owner=("Node", "node-1")))
    twice = pod("api-0", ns, "registry.corp.example/api:1", ["regcred"], owner=("StatefulSet", "api"))
    twice["metadata"]["ownerReferences"].append(
        {**twice["metadata"]["ownerReferences"][0], "controller": False}
    )
    pods.append(twice)
    for i in range(replicas):
        pods.append(
            pod(f"api-{i + 1}", ns, "registry.corp.example/api:1", ["regcred"], owner=("StatefulSet", "api"))
        )
    job = {
        "metadata": {
            "name": "report-1",
            "namespace": ns,
            "ownerReferences": [
                {"kind": "CronJob", "name": "report", "controller": True, "apiVersion": "batch/v1"}
            ],
        },
        "spec": {"template": {"spec": {"containers": [{"name": "r", "image": "ghcr.io/acme/report:3"}]}}},
    }
    return {
        "namespaces": [namespace(ns)],
        "secrets": [
            pull_secret("regcred", ns, "registry.corp.example"),
            pull_secret("other-registry", ns, "quay.io"),
        ],
        "serviceaccounts": [service_account("default", ns)],
        "deployments": [deployment("web", ns, "registry.corp.example/web:2", ["regcred"])],
        "jobs": [job],
        "pods": pods,
    }


def _connect(api: ApiServerDouble, tmp_path: Path) -> Any:
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump(api.kubeconfig("prod")))
    return connect(str(config), "prod")


def _essence(result: ScanResult) -> tuple[Any, ...]:
    findings = sorted(
        (f.check_id, f.severity, str(f.object), str(f.location), f.message, f.image or "", f.remediation)
        for f in result.findings
    )
    summary = result.summary
    kinds = dict(result.inventory.stats.kinds)
    return (
        findings,
        summary.headline,
        summary.pod_templates,
        summary.images,
        kinds,
        len(result.plan.by_finding),
    )


def test_same_findings_and_requests_with_and_without_page_ahead(tmp_path: Path) -> None:
    results = []
    with ApiServerDouble(_cluster()) as api:
        for ahead in (True, False):
            api.requests.clear()
            options = ClusterOptions(all_namespaces=True, page_size=3, page_ahead=ahead)
            scan = scan_cluster(_connect(api, tmp_path), options, ScanOptions())
            assert scan.result is not None
            requests = [(r.path, r.query, r.accept) for r in api.requests]
            results.append((_essence(scan.result), scan.live, scan.requests, requests))
    (with_ahead, live, count, requests), (without, live_without, count_without, requests_without) = results
    assert with_ahead == without
    assert live == live_without and live.pods == 26
    assert requests == requests_without and count == count_without == len(requests)
    assert with_ahead[0], "the cluster has findings to compare"


def _replicas(pods: int) -> dict[str, list[dict[str, Any]]]:
    objects = _cluster(replicas=1)
    objects["pods"] = [
        pod(
            f"web-aaa-{i:05d}",
            "shop",
            "registry.corp.example/web:1",
            ["regcred"],
            owner=("ReplicaSet", "web-aaa"),
            labels={"app": "web", "pod-template-hash": "aaa"},
        )
        for i in range(pods)
    ]
    return objects


def _peak_while_scanning(pods: int, tmp_path: Path) -> int:
    with ApiServerDouble(_replicas(pods), log_requests=False) as api:
        connection = _connect(api, tmp_path)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            scan = scan_cluster(connection, ClusterOptions(all_namespaces=True, page_size=250), ScanOptions())
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
    assert scan.live.pods == pods
    return peak


def test_memory_does_not_grow_with_the_number_of_pods(tmp_path: Path) -> None:
    """Pages are dropped once judged (at most the page judged, the page ahead and the next list's
    first page are held): eight times the pods, in eight times the pages, peak at about the same
    traced memory (how the in-flight pages overlap varies from run to run). Keeping every page
    took 6.5 times as much (22.8 against 3.5 MB)."""
    small = _peak_while_scanning(500, tmp_path)
    large = _peak_while_scanning(4_000, tmp_path)
    assert large < small * 2.5, (small, large)


def test_reading_ahead_asks_for_nothing_twice_where_rbac_refuses_or_namespaces_are_named(
    tmp_path: Path,
) -> None:
    """Where a cluster-wide list is refused the scan reads namespace by namespace, and with `-n`
    it reads each named namespace: the first page asked for ahead is still taken when its list
    comes, never asked for again, and the result is the one read without reading ahead."""
    objects = _cluster()
    objects["namespaces"].append(namespace("empty"))
    denials = {Denial("list", "deployments"), Denial("list", "roles")}
    for options in (
        ClusterOptions(all_namespaces=True, page_size=3),
        ClusterOptions(namespaces=("shop", "empty"), page_size=3),
    ):
        results = []
        with ApiServerDouble(objects, denials=denials) as api:
            for ahead in (True, False):
                api.requests.clear()
                scan = scan_cluster(
                    _connect(api, tmp_path), dataclasses.replace(options, page_ahead=ahead), ScanOptions()
                )
                assert scan.result is not None
                requests = [(r.path, tuple(sorted(r.query.items())), r.accept) for r in api.requests]
                assert len(requests) == len(set(requests)) == scan.requests
                results.append((_essence(scan.result), sorted(requests), scan.partial))
        assert results[0] == results[1]
        assert any("/namespaces/shop/deployments" in path for path, _, _ in results[0][1])
