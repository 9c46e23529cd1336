"""Before its first judgement `serve` exports no coverage: a covered ratio of 1 (or counts of 0) while the API
server is unreachable would read as "all covered" and hide the outage. The shipped rules alert on it instead.
The scrape is real HTTP against `serve`; the rules are evaluated by the real promtool on the scraped series."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from apiserver_double import ApiServerDouble
from cluster.fixtures import deployment, namespace, service_account, shop_cluster
from pullguard.serve.command import Server
from pullguard.serve.kube import KubeClient
from pullguard.settings import ScanOptions
from pullguard.sources.cluster import connect
from serving.support import eventually, get, kubeconfig_file, metrics_port, probe_port, scrape, serving, value

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "pullguard-rules.yaml"

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="needs the Debian prometheus package (make system-deps)"
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@contextmanager
def serving_unreachable(tmp_path: Path) -> Iterator[Server]:
    """`serve` whose kubeconfig names an API server that is gone (its port closed): every list fails."""
    with ApiServerDouble(shop_cluster()) as api:
        kubeconfig = kubeconfig_file(api, tmp_path / "kubeconfig")
    client = KubeClient(connect(kubeconfig))
    server = Server(client, ScanOptions(), ("127.0.0.1", 0), ("127.0.0.1", 0), watch_timeout=5.0)
    server.start()
    try:
        # every informer has tried and failed at least once: the state a user scrapes during an outage
        eventually(lambda: all(i.errors > 0 for i in server.informers), timeout=30)
        yield server
    finally:
        server.stop()


def test_no_coverage_is_exported_before_the_first_judgement(tmp_path: Path) -> None:
    with serving_unreachable(tmp_path) as server:
        status, why = get(f"http://127.0.0.1:{probe_port(server)}/readyz")
        samples = scrape(metrics_port(server))
    assert status == 500 and "waiting for the first list" in why
    names = {name for name, _ in samples}
    assert "pullguard_private_images_covered_ratio" not in names
    assert "pullguard_private_images" not in names
    assert "pullguard_scan_duration_seconds" not in names
    assert samples[("pullguard_last_scan_timestamp_seconds", ())] == 0
    assert value(samples, "pullguard_watch_errors_total") >= len(server.informers)


def test_coverage_is_exported_once_judged(tmp_path: Path) -> None:
    """The shop cluster: 3 covered web pods of 4 private images judged → 0.75, and the counts agree."""
    with ApiServerDouble(shop_cluster()) as api, serving(api, tmp_path) as server:
        samples = scrape(metrics_port(server))
    covered = value(samples, "pullguard_private_images", state="covered")
    uncovered = value(samples, "pullguard_private_images", state="uncovered")
    assert covered > 0 and uncovered > 0
    assert samples[("pullguard_private_images_covered_ratio", ())] == covered / (covered + uncovered)
    assert samples[("pullguard_last_scan_timestamp_seconds", ())] > 0


def test_no_private_image_is_a_ratio_of_one(tmp_path: Path) -> None:
    """Judged namespaces with only public images (0 of 0): nothing is uncovered, so the ratio is 1."""
    cluster = {
        "namespaces": [namespace("web")],
        "serviceaccounts": [service_account("default", "web")],
        "deployments": [deployment("nginx", "web", "docker.io/library/nginx:1.27", [], replicas=1)],
    }
    with ApiServerDouble(cluster) as api, serving(api, tmp_path) as server:  # type: ignore[arg-type]
        samples = scrape(metrics_port(server))
    assert samples[("pullguard_namespaces", ())] == 1
    assert value(samples, "pullguard_private_images") == 0
    assert samples[("pullguard_private_images_covered_ratio", ())] == 1.0


def _series(samples: Samples) -> list[dict[str, str]]:
    """The scraped gauges as promtool input series, each held for 40 minutes."""
    series = []
    for (name, labels), sample in sorted(samples.items()):
        if not name.startswith("pullguard_") or name.startswith("pullguard_change_reflect"):
            continue
        selector = ",".join(f'{k}="{v}"' for k, v in labels)
        selector = f'{{instance="pullguard:8080",job="pullguard",{selector}}}'.replace(",}", "}")
        series.append({"series": name + selector, "values": f"{sample:g}x40"})
    return series


@needs_promtool
def test_shipped_rules_alert_while_nothing_is_judged(tmp_path: Path) -> None:
    """The series `serve` exports during an outage, fed to promtool: the coverage alert stays silent (there is
    no ratio to compare), and PullguardNotJudging fires after its 15 minutes."""
    with serving_unreachable(tmp_path) as server:
        samples = scrape(metrics_port(server))
    fired = {"severity": "warning", "instance": "pullguard:8080", "job": "pullguard"}
    rules = yaml.safe_load(RULES.read_text())["groups"]
    rule = next(r for g in rules for r in g["rules"] if r.get("alert") == "PullguardNotJudging")
    annotations = {
        "summary": "pullguard on pullguard:8080 has not judged the cluster yet",
        "description": rule["annotations"]["description"],  # no template in it
    }
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _series(samples),
                "alert_rule_test": [
                    {"eval_time": "14m", "alertname": "PullguardNotJudging", "exp_alerts": []},
                    {
                        "eval_time": "16m",
                        "alertname": "PullguardNotJudging",
                        "exp_alerts": [{"exp_labels": fired, "exp_annotations": annotations}],
                    },
                    {"eval_time": "40m", "alertname": "PullguardPrivateImagesCoverageLow", "exp_alerts": []},
                ],
            }
        ],
    }
    (tmp_path / "outage_test.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run(
        ["promtool", "test", "rules", str(tmp_path / "outage_test.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
