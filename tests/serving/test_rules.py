"""The shipped Prometheus rules: unit-tested with promtool, and run by a real Prometheus that scrapes two
`pullguard serve` instances (two clusters sharing one registry credential)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from apiserver_double import ApiServerDouble
from cluster.fixtures import namespace, pull_secret, service_account, shop_cluster
from pullguard.settings import ScanOptions
from serving.support import free_port, get, metrics_port, serving

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "pullguard-rules.yaml"

needs_prometheus = pytest.mark.skipif(
    shutil.which("promtool") is None or shutil.which("prometheus") is None,
    reason="needs the Debian prometheus package (make system-deps)",
)


@needs_prometheus
def test_rules_are_valid() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_prometheus
def test_rules_unit_tests() -> None:
    result = subprocess.run(
        ["promtool", "test", "rules", str(Path(__file__).parent / "rules_test.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def second_cluster() -> dict[str, list[dict[str, object]]]:
    """Another cluster: the shop's credential copied into 'payments', and a credential of its own."""
    return {
        "namespaces": [namespace("payments")],
        "secrets": [
            pull_secret("copied-creds", "payments", "registry.example.com"),  # the same user and password
            pull_secret(
                "own-creds", "payments", "registry.example.com", user="robot-b", password="pw-b-only"
            ),
        ],
        "serviceaccounts": [service_account("default", "payments", ["copied-creds"])],
    }


def query(port: int, expr: str) -> list[dict[str, object]]:
    status, text = get(f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(expr)}")
    if status != 200:
        return []
    return list(json.loads(text)["data"]["result"])


@needs_prometheus
def test_prometheus_finds_one_credential_in_two_clusters(tmp_path: Path) -> None:
    options = ScanOptions(fingerprint_key="fleet-wide-key")
    with (
        ApiServerDouble(shop_cluster()) as api_a,
        ApiServerDouble(second_cluster()) as api_b,  # type: ignore[arg-type]
        serving(api_a, tmp_path / "a", options) as serve_a,
        serving(api_b, tmp_path / "b", options) as serve_b,
    ):
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {
                    "job_name": f"pullguard-{name}",
                    "static_configs": [
                        {"targets": [f"127.0.0.1:{metrics_port(server)}"], "labels": {"cluster": name}}
                    ],
                }
                for name, server in (("a", serve_a), ("b", serve_b))
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        prometheus = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 90
            reused: list[dict[str, object]] = []
            while time.monotonic() < deadline and not reused:
                time.sleep(0.5)
                reused = query(port, "pullguard:fingerprint_clusters:count > 1")
            assert reused, "the rule found no credential in two clusters"
            firing: list[dict[str, object]] = []
            while time.monotonic() < deadline and not firing:
                firing = query(
                    port, 'ALERTS{alertname="PullguardCredentialReusedAcrossClusters",alertstate="firing"}'
                )
                time.sleep(0.5)
        finally:
            prometheus.terminate()
            prometheus.wait(30)
        shop = next(p for p in serve_a.judge.snapshot.fingerprints if p.secret == "registry-creds")
        own = next(p for p in serve_b.judge.snapshot.fingerprints if p.secret == "own-creds")
    fingerprints = {r["metric"]["fingerprint"] for r in reused}  # type: ignore[index]
    assert fingerprints == {shop.fingerprint}
    assert own.fingerprint not in fingerprints
    assert [r["value"][1] for r in reused] == ["2"]  # type: ignore[index]
    assert {a["metric"]["fingerprint"] for a in firing} == {shop.fingerprint}  # type: ignore[index]
