"""`pullguard scan --cluster` against the API-server double over real HTTP (no client patching)."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from apiserver_double import ApiServerDouble, Denial
from cluster.fixtures import CANARY_PASSWORD, CANARY_USER, dockerconfig, pull_secret, shop_cluster

ROOT = Path(__file__).resolve().parents[2]
PULLGUARD = [sys.executable, "-m", "pullguard"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    full_env.update(env or {})
    return subprocess.run(
        [*PULLGUARD, *args], capture_output=True, text=True, timeout=60, env=full_env, cwd=ROOT
    )


def write_kubeconfig(path: Path, config: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(config))
    return str(path)


def assert_no_canary(text: str) -> None:
    forbidden = [
        CANARY_PASSWORD,
        CANARY_USER,
        base64.b64encode(f"{CANARY_USER}:{CANARY_PASSWORD}".encode()).decode(),
        "hunter2-canary-opaque",
        dockerconfig("registry.example.com")[:24],
    ]
    for value in forbidden:
        assert value not in text


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[ApiServerDouble, str]]:
    with ApiServerDouble(shop_cluster(), max_limit=2) as api:  # tiny pages: every list is paginated
        yield api, write_kubeconfig(tmp_path / "kubeconfig", api.kubeconfig("prod"))


def test_scan_cluster_names_owners_and_pages(shop: tuple[ApiServerDouble, str]) -> None:
    api, kubeconfig = shop
    result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-A", "-f", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["cluster"]["name"] == "prod"
    assert report["cluster"]["pods"] == 6
    assert report["summary"]["line"] == "2 of 5 private images have pull credentials configured."
    objects = {(f["checkId"], f["object"]["kind"], f["object"]["name"]) for f in report["findings"]}
    assert ("PG002", "Deployment", "idle") in objects  # a workload with no pod, judged from its template
    # a live cluster says what exists: not the "not in the input" of a file scan
    pg002 = [f["message"] for f in report["findings"] if f["checkId"] == "PG002"]
    assert pg002 and all("does not exist in namespace" in m and "not in the input" not in m for m in pg002)
    assert ("PG004", "Pod", "backup-0") in objects
    assert ("PG003", "Secret", "wrong-type") in objects
    assert all(f["cluster"] == "prod" for f in report["findings"])
    # the Deployment's three pods are one template named after the Deployment, not pod hashes
    web = [i for i in report["images"] if i["object"]["name"] == "web"]
    assert len(web) == 1 and web[0]["object"]["kind"] == "Deployment" and web[0]["coverage"] == "pod"
    assert not any("7c9f8d6b5" in i["object"]["name"] for i in report["images"])
    # paginated: limit + continue
    continued = [r for r in api.requests if r.path == "/api/v1/pods" and "continue" in r.query]
    assert len(continued) == 2 and all(r.query["limit"] == "500" for r in continued)
    # secret data is read for pull-secret types (field selector) and referenced secrets only
    secret_requests = [r for r in api.requests if "/secrets" in r.path]
    typed = {
        r.query.get("fieldSelector")
        for r in secret_requests
        if "as=Table" not in r.accept and r.path == "/api/v1/secrets"
    }
    assert typed == {"type=kubernetes.io/dockerconfigjson", "type=kubernetes.io/dockercfg"}
    gets = {r.path for r in secret_requests if r.path.count("/") > 3}
    assert gets == {"/api/v1/namespaces/ops/secrets/wrong-type"}  # referenced; db-password never read
    assert all(r.method == "GET" for r in api.requests)
    assert_no_canary(result.stdout + result.stderr)


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_canary_never_printed(shop: tuple[ApiServerDouble, str], output_format: str) -> None:
    _, kubeconfig = shop
    result = run(
        "scan", "--cluster", "--kubeconfig", kubeconfig, "-A", "-f", output_format, "--show-fixes", "--images"
    )
    assert result.returncode == 1, result.stderr
    assert_no_canary(result.stdout + result.stderr)
    assert "last-applied-configuration" not in result.stdout


def test_namespace_reads_only_that_namespace(shop: tuple[ApiServerDouble, str]) -> None:
    api, kubeconfig = shop
    result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-n", "ops", "-f", "json")
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    assert {i["object"]["namespace"] for i in report["images"]} == {"ops"}
    namespaced = [r.path for r in api.requests if r.path.startswith(("/api/v1/pods", "/api/v1/secrets"))]
    assert namespaced == []
    assert "/api/v1/namespaces/ops/pods" in api.paths()


def test_context_namespace_is_the_default(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster()) as api:
        kubeconfig = write_kubeconfig(tmp_path / "k", api.kubeconfig("prod", namespace="shop"))
        result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-f", "json")
        assert {i["object"]["namespace"] for i in json.loads(result.stdout)["images"]} == {"shop"}


def test_no_secret_data_reads_names_and_types_only(shop: tuple[ApiServerDouble, str]) -> None:
    api, kubeconfig = shop
    # without secret data no auths key tells which registries are private: declare them
    result = run(
        "scan",
        "--cluster",
        "--kubeconfig",
        kubeconfig,
        "-A",
        "--no-secret-data",
        "-f",
        "json",
        "--private-registry",
        "registry.example.com",
    )
    report = json.loads(result.stdout)
    secret_requests = [r for r in api.requests if "/secrets" in r.path]
    assert secret_requests and all("as=Table" in r.accept for r in secret_requests)
    assert report["summary"]["privateImagesUnverifiable"] == 3  # images whose pull secrets exist, data unread
    pg002 = {f["object"]["name"] for f in report["findings"] if f["checkId"] == "PG002"}
    assert pg002 == {"idle", "tool-0"}  # missing secrets are still found by name
    pg003 = {f["object"]["name"] for f in report["findings"] if f["checkId"] == "PG003"}
    assert pg003 == {"wrong-type"}  # an Opaque secret referenced as a pull secret: known from its type
    assert_no_canary(result.stdout + result.stderr)


def test_forbidden_namespace_gives_partial_result(tmp_path: Path) -> None:
    denials = {
        Denial("list", "pods"),
        Denial("list", "serviceaccounts"),
        Denial("list", "secrets"),
        Denial("list", "pods", "ops"),
        Denial("list", "secrets", "ops"),
    }
    with ApiServerDouble(shop_cluster(), denials=denials) as api:
        kubeconfig = write_kubeconfig(tmp_path / "k", api.kubeconfig("prod"))
        result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-A")
        assert result.returncode == 2
        assert "PARTIAL" in result.stdout
        assert "cannot list pods in namespace 'ops'" in result.stdout
        # shop's pods were read namespace by namespace
        assert "/api/v1/namespaces/shop/pods" in api.paths()
        json_result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-A", "-f", "json")
        report = json.loads(json_result.stdout)
        assert report["cluster"]["partial"] is True
        web = [i for i in report["images"] if i["object"]["name"] == "web"]
        assert web and web[0]["coverage"] == "pod"  # shop was read, and is covered
        problems = report["inputProblems"]
        messages = [p["message"] for p in problems if p["code"] == "forbidden" and p["level"] == "error"]
        assert any(
            '{apiGroups: [""], resources: ["pods"], verbs: ["list"]}' in m and "'ops'" in m for m in messages
        )


def test_forbidden_everywhere_is_one_line(tmp_path: Path) -> None:
    denials = {Denial("list", "pods"), Denial("list", "namespaces")}
    with ApiServerDouble(shop_cluster(), denials=denials) as api:
        kubeconfig = write_kubeconfig(tmp_path / "k", api.kubeconfig("prod"))
        result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-A")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "forbidden: cannot list pods cluster-wide" in lines[0]
    assert "ClusterRole" in lines[0] and 'verbs: ["list"]' in lines[0]


def test_expired_credentials(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster()) as api:
        kubeconfig = write_kubeconfig(tmp_path / "k", api.kubeconfig("prod", token="expired-token"))
        result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-A")
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "401 Unauthorized" in result.stderr and "expired" in result.stderr
    assert "expired-token" not in result.stderr


def test_unreachable_api_server(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
    }
    result = run("scan", "--cluster", "--kubeconfig", write_kubeconfig(tmp_path / "k", kubeconfig), "-A")
    assert result.returncode == 2
    assert "cannot reach the API server" in result.stderr and "connection refused" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_context(shop: tuple[ApiServerDouble, str]) -> None:
    _, kubeconfig = shop
    result = run("scan", "--context", "nope", "--kubeconfig", kubeconfig)
    assert result.returncode == 2 and "no context named 'nope'" in result.stderr


def _fleet_cluster(registry_password: str) -> dict[str, Any]:
    objects = shop_cluster()
    objects["secrets"][0] = pull_secret(
        "registry-creds", "shop", "registry.example.com", password=registry_password
    )
    return objects


def test_fleet_kubeconfig_files_and_cross_cluster_reuse(tmp_path: Path) -> None:
    with (
        ApiServerDouble(_fleet_cluster("shared-canary-pw-1")) as prod,
        ApiServerDouble(_fleet_cluster("shared-canary-pw-1")) as staging,
        ApiServerDouble(_fleet_cluster("own-canary-pw-2")) as dev,
    ):
        paths = [
            write_kubeconfig(tmp_path / f"{name}.yaml", api.kubeconfig(name))
            for name, api in (("prod", prod), ("staging", staging), ("dev", dev))
        ]
        env = {"KUBECONFIG": ":".join(paths), "PULLGUARD_FINGERPRINT_KEY": "test-key"}
        args = ["scan", "--context", "prod", "--context", "staging", "--context", "dev", "-A"]
        result = run(*args, "-f", "json", env=env)
        text = run(*args, "--show-fixes", env=env)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    fleet = report["fleet"]
    assert (
        fleet["line"] == "fleet (3 of 3 clusters): 6 of 15 private images have pull credentials configured."
    )
    assert [c["name"] for c in fleet["clusters"]] == ["prod", "staging", "dev"]
    reuse = fleet["findings"]
    assert {(f["cluster"], f["checkId"], f["object"]["name"]) for f in reuse} == {
        ("prod", "PG007", "registry-creds"),
        ("staging", "PG007", "registry-creds"),
        # ops-creds holds the same credential in all three clusters
        ("prod", "PG007", "ops-creds"),
        ("staging", "PG007", "ops-creds"),
        ("dev", "PG007", "ops-creds"),
    }
    prod_registry = next(
        f for f in reuse if f["cluster"] == "prod" and f["object"]["name"] == "registry-creds"
    )
    assert (
        "hmac-sha256:" in prod_registry["message"]
        and "staging: shop/registry-creds" in prod_registry["message"]
    )
    assert "dev:" not in prod_registry["message"]
    assert set(report["clusters"]) == {"prod", "staging", "dev"}
    assert "cluster staging: 2 of 5 private images" in text.stdout
    for output in (result.stdout, text.stdout, text.stderr):
        assert "shared-canary-pw-1" not in output and "own-canary-pw-2" not in output


def test_fleet_reports_a_failed_cluster_and_the_others(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster()) as prod, ApiServerDouble(shop_cluster()) as broken:
        config = prod.kubeconfig("prod")
        other = broken.kubeconfig("broken", token="wrong")
        config["clusters"] += other["clusters"]
        config["users"] += other["users"]
        config["contexts"] += other["contexts"]
        kubeconfig = write_kubeconfig(tmp_path / "k", config)
        result = run("scan", "--kubeconfig", kubeconfig, "--context", "prod", "--context", "broken", "-A")
    assert result.returncode == 2
    assert "cluster prod: 2 of 5 private images" in result.stdout
    assert "cluster broken: not scanned" in result.stdout and "401" in result.stdout
