"""`pullguard serve` keeps the scan of a live cluster current: list+watch against the API-server double."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apiserver_double import ApiServerDouble
from cluster.fixtures import (
    CANARY_PASSWORD,
    CANARY_USER,
    deployment,
    namespace,
    pod,
    pull_secret,
    shop_cluster,
)
from pullguard.fleet import scan_cluster
from pullguard.settings import ScanOptions
from pullguard.sources.cluster import ClusterOptions, connect
from serving.support import (
    eventually,
    free_port,
    get,
    kubeconfig_file,
    metrics_port,
    probe_port,
    scrape,
    serving,
    value,
)

ROOT = Path(__file__).resolve().parents[2]


def scan_findings(api: ApiServerDouble, tmp_path: Path) -> set[tuple[str, str, str]]:
    connection = connect(kubeconfig_file(api, tmp_path / "scan-kubeconfig"))
    result = scan_cluster(connection, ClusterOptions(all_namespaces=True), ScanOptions(fingerprint_key="k"))
    assert result.result is not None
    return {(f.check_id, str(f.object), f.message) for f in result.result.findings}


def served_findings(server: object) -> set[tuple[str, str, str]]:
    snapshot = server.judge.snapshot  # type: ignore[attr-defined]
    return {(f.check_id, str(f.object), f.message) for f in snapshot.findings()}


def test_serve_judges_like_scan_and_follows_changes(tmp_path: Path) -> None:
    with (
        ApiServerDouble(shop_cluster(), max_limit=2, bookmark_interval=0.2) as api,
        serving(api, tmp_path, ScanOptions(fingerprint_key="k")) as server,
    ):
        assert served_findings(server) == scan_findings(api, tmp_path)
        port = metrics_port(server)
        before = scrape(port)
        assert value(before, "pullguard_findings", check="PG001", namespace="ops") >= 1
        covered = value(before, "pullguard_images", namespace="shop", coverage="pod_secret")
        assert covered >= 2

        # a new pod whose pull secret does not exist: PG001 in shop goes up
        api.create("pods", pod("new-0", "shop", "registry.example.com/shop/new:1", ["nowhere"]))
        pg001 = value(before, "pullguard_findings", check="PG001", namespace="shop")
        eventually(lambda: value(scrape(port), "pullguard_findings", check="PG001", namespace="shop") > pg001)
        assert served_findings(server) == scan_findings(api, tmp_path)

        # the secret appears (for the right registry): the finding goes away again
        api.create("secrets", pull_secret("nowhere", "shop", "registry.example.com"))
        eventually(
            lambda: value(scrape(port), "pullguard_findings", check="PG001", namespace="shop") == pg001
        )
        assert served_findings(server) == scan_findings(api, tmp_path)

        # deleting the pod and the secret: back to where it started
        api.delete("pods", "shop", "new-0")
        api.delete("secrets", "shop", "nowhere")
        eventually(lambda: served_findings(server) == scan_findings(api, tmp_path))
        after = scrape(port)
        assert value(after, "pullguard_images", namespace="shop", coverage="pod_secret") == covered
        assert value(after, "pullguard_change_reflect_seconds_count") >= 3


def test_a_pull_secret_beside_others_for_its_registry_judges_its_namespace_alone(tmp_path: Path) -> None:
    """Which secrets hold a registry's credential words no finding; that the registry is private
    does. One of four such secrets going judges one namespace; the last going judges all four."""
    teams = [f"team-{i}" for i in range(4)]
    cluster = {
        "namespaces": [namespace(team) for team in teams],
        "secrets": [pull_secret("regcred", team, "registry.corp.example") for team in teams],
        "deployments": [
            deployment("app", team, "registry.corp.example/team/app:1", ["regcred"]) for team in teams
        ],
    }
    with ApiServerDouble(cluster) as api, serving(api, tmp_path, ScanOptions(fingerprint_key="k")) as server:
        assert served_findings(server) == scan_findings(api, tmp_path)
        generation = server.judge.snapshot.generation
        api.delete("secrets", "team-1", "regcred")
        eventually(lambda: served_findings(server) == scan_findings(api, tmp_path))
        snapshot = server.judge.snapshot
        assert snapshot.generation > generation and snapshot.judged_namespaces == 1
        assert {f.object.namespace for f in snapshot.findings() if f.check_id == "PG002"} == {"team-1"}

        for team in ("team-0", "team-2", "team-3"):  # the registry is no longer known to be private
            api.delete("secrets", team, "regcred")
        eventually(lambda: served_findings(server) == scan_findings(api, tmp_path))
        assert server.judge.snapshot.judged_namespaces == len(teams)


def test_deleted_namespace_leaves_no_series(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster(), bookmark_interval=0.2) as api, serving(api, tmp_path) as server:
        port = metrics_port(server)
        assert value(scrape(port), "pullguard_images", namespace="ops") > 0
        for kind, name in (
            ("pods", "backup-0"),
            ("pods", "tool-0"),
            ("secrets", "ops-creds"),
            ("serviceaccounts", "default"),
            ("serviceaccounts", "builder"),
        ):
            api.delete(kind, "ops", name)
        api.delete("namespaces", None, "ops")
        eventually(lambda: not any(dict(labels).get("namespace") == "ops" for (_, labels) in scrape(port)))


def test_expired_watch_lists_again_and_sees_deletions_made_meanwhile(tmp_path: Path) -> None:
    """The watch cannot resume (history compacted while it was down): 410 Expired, LIST again,
    and objects deleted in the gap are gone (client-go Reflector + DeltaFIFO Replace)."""
    with ApiServerDouble(shop_cluster(), bookmark_interval=0.2) as api, serving(api, tmp_path) as server:
        pods = next(i for i in server.informers if i.watched.tag == "pods")
        lists = pods.lists
        api.set_watch_unavailable(True)
        api.delete("pods", "ops", "tool-0")  # PG001 for 'gone' and PG003 for 'wrong-type' go with it
        api.create("pods", pod("late-0", "ops", "registry.example.com/ops/late:1", ["missing"]))
        api.compact()
        api.set_watch_unavailable(False)
        eventually(lambda: pods.relists_expired >= 1 and pods.lists > lists, timeout=30)
        eventually(lambda: served_findings(server) == scan_findings(api, tmp_path))
        objects = {str(f.object) for f in server.judge.snapshot.findings()}
        assert "Pod ops/tool-0" not in objects and "Pod ops/late-0" in objects


def test_bookmarks_move_the_resource_version_without_events(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster(), bookmark_interval=0.1) as api, serving(api, tmp_path) as server:
        nodes = next(i for i in server.informers if i.watched.tag == "nodes")
        api.create("pods", pod("other-0", "shop", "registry.example.com/shop/x:1", ["registry-creds"]))
        current = api.current_resource_version
        # no node changed, yet the node informer's resourceVersion reaches the pod's: a BOOKMARK carried it
        eventually(lambda: nodes.resource_version == current)


def test_health_and_readiness(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster()) as api, serving(api, tmp_path) as server:
        port = probe_port(server)
        assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
        assert get(f"http://127.0.0.1:{port}/readyz") == (200, "ok\n")
        assert get(f"http://127.0.0.1:{port}/nope")[0] == 404


def test_metrics_follow_the_naming_guide(tmp_path: Path) -> None:
    """promtool's linter (the naming guide's rules) finds nothing, and nothing secret is exported."""
    with ApiServerDouble(shop_cluster()) as api, serving(api, tmp_path, per_finding=True) as server:
        status, text = get(f"http://127.0.0.1:{metrics_port(server)}/metrics")
    assert status == 200
    assert "pullguard_finding_info{" in text and "pullguard_build_info{" in text
    assert CANARY_PASSWORD not in text and CANARY_USER not in text
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_fingerprint_info_only_with_a_configured_key(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster()) as api:
        with serving(api, tmp_path) as server:
            assert value(scrape(metrics_port(server)), "pullguard_pull_secret_fingerprint_info") == 0
        with serving(api, tmp_path, ScanOptions(fingerprint_key="fleet-key")) as server:
            samples = scrape(metrics_port(server))
    prints = [dict(labels) for (name, labels) in samples if name == "pullguard_pull_secret_fingerprint_info"]
    assert {(p["namespace"], p["secret"]) for p in prints} == {
        ("shop", "registry-creds"),
        ("ops", "ops-creds"),
    }
    assert all(p["fingerprint"].startswith("hmac-sha256:") for p in prints)


def test_cli_serves_logs_json_and_stops_on_sigterm(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster()) as api:
        metrics, probes = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pullguard",
                "serve",
                "--kubeconfig",
                kubeconfig_file(api, tmp_path / "k"),
                "--metrics-bind-address",
                f"127.0.0.1:{metrics}",
                "--health-probe-bind-address",
                f"127.0.0.1:{probes}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        try:
            eventually(lambda: _ready(probes), timeout=60, interval=0.2)
            assert value(scrape(metrics), "pullguard_findings") > 0
            process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            out, err = process.communicate(timeout=20)
            stopped_in = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err
    assert stopped_in < 10
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert [entry["msg"] for entry in lines][-1] == "stopped"
    assert any(entry["msg"] == "first judgement done" for entry in lines)
    assert CANARY_PASSWORD not in err + out


def _ready(port: int) -> bool:
    try:
        return get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    except OSError:
        return False


@pytest.mark.parametrize("address", ["nonsense", "host:port"])
def test_bad_address_is_a_usage_error(address: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pullguard", "serve", "--metrics-bind-address", address],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "not an address" in result.stderr


def test_metrics_can_be_restricted_by_name(tmp_path: Path) -> None:
    """`/metrics?name[]=...` as prometheus_client's handler: only those families (cheap polling)."""
    with ApiServerDouble(shop_cluster()) as api, serving(api, tmp_path) as server:
        port = metrics_port(server)
        status, text = get(f"http://127.0.0.1:{port}/metrics?name[]=pullguard_findings")
    assert status == 200
    names = {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")
    }
    assert names == {"pullguard_findings"}
