"""PolicyReports written by `serve` with server-side apply into the API-server double."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from apiserver_double import ApiServerDouble
from cluster.fixtures import CANARY_PASSWORD, CANARY_USER, pod, shop_cluster
from pullguard.serve.kube import KubeClient
from pullguard.serve.policyreport import detect
from pullguard.settings import ScanOptions
from pullguard.sources.cluster import connect
from serving.support import eventually, kubeconfig_file, metrics_port, scrape, serving, value

WG = "policyreports.wgpolicyk8s.io"
OPEN = "reports.openreports.io"


def reports(api: ApiServerDouble, plural: str = "policyreports") -> dict[str, dict[str, Any]]:
    return {r["metadata"]["namespace"]: r for r in api.objects.get(plural, [])}


def objects_of(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["policy"], r["resources"][0]["name"]) for r in report["results"]}


def test_one_report_per_namespace_with_the_crd_fields(tmp_path: Path) -> None:
    with (
        ApiServerDouble(shop_cluster(), crds={WG}) as api,
        serving(api, tmp_path, ScanOptions(fingerprint_key="k"), reports="wgpolicyk8s") as server,
    ):
        eventually(lambda: set(reports(api)) == {"shop", "ops"})
        ops = reports(api)["ops"]
        served = {
            (f.check_id, f.object.name)
            for n, f in server.judge.snapshot.findings_by_namespace()
            if n == "ops"
        }
    assert ops["apiVersion"] == "wgpolicyk8s.io/v1alpha2" and ops["kind"] == "PolicyReport"
    assert ops["metadata"]["name"] == "pullguard"
    assert objects_of(ops) == served and ("PG001", "tool-0") in served
    for result in ops["results"]:
        assert result["source"] == "pullguard" and result["category"] == "Image Pull Credentials"
        assert result["severity"] in ("critical", "high", "medium", "low", "info")
        assert result["result"] in ("fail", "warn") and result["scored"] is True
        assert set(result["timestamp"]) == {"seconds", "nanos"}
        assert all(isinstance(v, str) for v in result["properties"].values())
        resource = result["resources"][0]
        assert (
            resource.get("namespace", resource["name"]) == "ops"
            and resource["kind"]
            and resource["apiVersion"]
        )
    tool = next(r for r in ops["results"] if r["policy"] == "PG001" and r["resources"][0]["name"] == "tool-0")
    assert tool["properties"] == {
        "image": "registry.example.com/ops/tool:1",
        "registry": "registry.example.com",
        "container": "app",
    }
    summary = ops["summary"]
    assert summary["fail"] + summary["warn"] == len(ops["results"]) and summary["pass"] == 0
    entry = ops["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"]) == ("pullguard", "Apply")
    text = json.dumps(api.objects["policyreports"])
    assert CANARY_PASSWORD not in text and CANARY_USER not in text


def test_stale_results_are_removed_and_unchanged_reports_not_rewritten(tmp_path: Path) -> None:
    with (
        ApiServerDouble(shop_cluster(), crds={WG}, bookmark_interval=0.2) as api,
        serving(api, tmp_path, reports="wgpolicyk8s") as server,
    ):
        eventually(lambda: ("PG001", "tool-0") in objects_of(reports(api).get("ops", {"results": []})))
        api.delete("pods", "ops", "tool-0")
        eventually(lambda: ("PG001", "tool-0") not in objects_of(reports(api)["ops"]))
        assert not any(r["resources"][0]["name"] == "tool-0" for r in reports(api)["ops"]["results"])
        written = api.patches
        server.store.mark_all_dirty()  # a resync judges everything again; nothing changed
        runs = server.judge.runs
        eventually(lambda: server.judge.runs > runs)
        eventually(lambda: not server.reporter._pending)
        assert api.patches == written


def test_a_new_finding_reaches_the_report(tmp_path: Path) -> None:
    with (
        ApiServerDouble(shop_cluster(), crds={WG}, bookmark_interval=0.2) as api,
        serving(api, tmp_path, reports="wgpolicyk8s"),
    ):
        eventually(lambda: "shop" in reports(api))
        api.create("pods", pod("new-0", "shop", "registry.example.com/shop/new:1", ["nowhere"]))
        eventually(lambda: ("PG002", "new-0") in objects_of(reports(api)["shop"]))


@pytest.mark.parametrize(
    ("crds", "mode", "expected"),
    [
        (set(), "auto", "off"),
        ({WG}, "auto", "wgpolicyk8s"),
        ({OPEN}, "auto", "off"),
        ({OPEN}, "openreports", "openreports"),
        ({WG}, "openreports", "off"),
        ({WG}, "off", "off"),
    ],
)
def test_reports_only_when_the_crd_is_installed(
    tmp_path: Path, crds: set[str], mode: str, expected: str
) -> None:
    with ApiServerDouble(shop_cluster(), crds=crds) as api:
        client = KubeClient(connect(kubeconfig_file(api, tmp_path / "k")))
        assert detect(client, mode) == expected


def test_openreports_switch(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster(), crds={OPEN}) as api, serving(api, tmp_path, reports="openreports"):
        eventually(lambda: set(reports(api, "reports")) == {"shop", "ops"})
        report = reports(api, "reports")["ops"]
    assert report["apiVersion"] == "openreports.io/v1alpha1" and report["kind"] == "Report"
    assert report["source"] == "pullguard" and report["results"]


# -- the double's server-side apply, as the API server answers ------------------------------------


def apply(
    api: ApiServerDouble,
    body: dict[str, Any],
    manager: str | None,
    force: bool = False,
    content_type: str = "application/apply-patch+yaml",
) -> tuple[int, dict[str, Any]]:
    query = "&".join(
        filter(None, (f"fieldManager={manager}" if manager else "", "force=true" if force else ""))
    )
    request = urllib.request.Request(
        f"{api.url}/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports/x?{query}",
        data=json.dumps(body).encode(),
        method="PATCH",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_double_server_side_apply() -> None:
    def body(**fields: Any) -> dict[str, Any]:
        return {
            "apiVersion": "wgpolicyk8s.io/v1alpha2",
            "kind": "PolicyReport",
            "metadata": {"name": "x", "namespace": "shop"},
            **fields,
        }

    with ApiServerDouble({}, crds={WG}) as api:
        assert apply(api, body(results=[]), None)[0] == 400  # fieldManager is required
        # other patch types need the object to exist (no upsert), unknown ones are 415
        assert apply(api, body(results=[]), "a", content_type="application/merge-patch+json")[0] == 404
        assert apply(api, body(results=[]), "a", content_type="text/plain")[0] in (404, 415)
        status, created = apply(api, body(results=[{"policy": "PG001"}], summary={"fail": 1}), "a")
        assert status == 201 and created["metadata"]["managedFields"][0]["fieldsV1"] == {
            "f:results": {},
            "f:summary": {},
        }
        status, conflict = apply(api, body(results=[]), "b")
        assert (
            status == 409
            and conflict["reason"] == "Conflict"
            and 'conflict with "a": .results' in conflict["message"]
        )
        assert apply(api, body(results=[]), "b", force=True)[0] == 200
        # "a" applies again without results: its summary is dropped? no: it still lists summary; results now b's
        status, updated = apply(api, body(summary={"fail": 0}), "a")
        assert status == 200 and updated["results"] == [] and updated["summary"] == {"fail": 0}
        status, updated = apply(
            api, body(scope={"kind": "Namespace"}), "a"
        )  # a's summary is no longer applied
        assert (
            "summary" not in updated
            and updated["results"] == []
            and updated["scope"] == {"kind": "Namespace"}
        )
    with ApiServerDouble({}) as api:
        assert apply(api, body(results=[]), "a")[0] == 404  # no CRD, no resource


def test_only_the_leader_writes_and_another_takes_over(tmp_path: Path) -> None:
    """Two replicas with --leader-elect: one Lease holder writes the reports; when it stops (and
    releases the Lease), the other takes over and writes."""
    # lease duration, renew deadline, retry period (seconds): generous enough that a leader starved
    # of CPU on a loaded machine still renews in time (the hand-over below is a release, not expiry)
    timings = (8.0, 6.0, 0.1)
    with ApiServerDouble(shop_cluster(), crds={WG}, bookmark_interval=0.2) as api:
        with (
            serving(
                api,
                tmp_path / "a",
                reports="wgpolicyk8s",
                leader_elect=True,
                lease_timings=timings,
                leader_election_namespace="ops",
            ) as first,
            serving(
                api,
                tmp_path / "b",
                reports="wgpolicyk8s",
                leader_elect=True,
                lease_timings=timings,
                leader_election_namespace="ops",
            ) as second,
        ):
            eventually(lambda: first.elector.leader.is_set() != second.elector.leader.is_set())
            leader, follower = (first, second) if first.elector.leader.is_set() else (second, first)
            eventually(lambda: set(reports(api)) == {"shop", "ops"})
            lease = next(
                o
                for o in api.objects["leases"]
                if o["metadata"]["name"] == "pullguard-serve" and o["metadata"]["namespace"] == "ops"
            )
            assert lease["spec"]["holderIdentity"] == leader.elector.identity
            # a write is counted once its answer is back, which may be just after the report is visible
            eventually(lambda: leader.reporter.writes >= 2)
            assert follower.reporter.writes == 0
            assert value(scrape(metrics_port(leader)), "pullguard_leader") == 1
            assert value(scrape(metrics_port(follower)), "pullguard_leader") == 0
            leader.stop()  # graceful: releases the Lease
            eventually(lambda: follower.elector.leader.is_set(), timeout=10)
            api.create("pods", pod("after-0", "ops", "registry.example.com/ops/after:1", ["nowhere"]))
            eventually(lambda: ("PG002", "after-0") in objects_of(reports(api)["ops"]))
            assert follower.reporter.writes >= 1
        lease = next(
            o
            for o in api.objects["leases"]
            if o["metadata"]["name"] == "pullguard-serve" and o["metadata"]["namespace"] == "ops"
        )
        assert lease["spec"]["leaseTransitions"] >= 1


def test_double_optimistic_concurrency(tmp_path: Path) -> None:
    """PUT with a stale resourceVersion is 409 Conflict; POST of an existing object 409 AlreadyExists."""
    with ApiServerDouble({}) as api:
        client = KubeClient(connect(kubeconfig_file(api, tmp_path / "k")))
        path = "/apis/coordination.k8s.io/v1/namespaces/pullguard/leases"
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "x"},
            "spec": {},
        }
        status, created = client.request(
            "POST", path, body=lease, content_type="application/json", allow=(409,)
        )
        assert status == 201
        assert (
            client.request("POST", path, body=lease, content_type="application/json", allow=(409,))[1][
                "reason"
            ]
            == "AlreadyExists"
        )
        fresh = {**created, "spec": {"holderIdentity": "a"}}
        assert (
            client.request("PUT", f"{path}/x", body=fresh, content_type="application/json", allow=(409,))[0]
            == 200
        )
        stale = {**created, "spec": {"holderIdentity": "b"}}  # the resourceVersion of before
        status, conflict = client.request(
            "PUT", f"{path}/x", body=stale, content_type="application/json", allow=(409,)
        )
        assert status == 409 and conflict["reason"] == "Conflict"
