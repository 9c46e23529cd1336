"""deploy/: the kustomize base and overlays render with `kubectl kustomize`, pass pullguard's own scan,
grant exactly what `serve` asks the API for, and ship the same rules as the plain rule file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from pullguard.serve.watches import watched
from serving.shipped import assert_no_findings, kustomize

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("scanner", "webhook", "servicemonitor")

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl (make system-deps)")


def one(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in documents if d["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_passes_pullguards_own_checks(overlay: str, tmp_path: Path) -> None:
    documents = kustomize(overlay)
    kinds = {d["kind"] for d in documents}
    assert {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
    } <= kinds
    assert_no_findings(documents, tmp_path / f"{overlay}.yaml")
    deployment = one(documents, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    args = container["args"]
    assert (
        args[0] == "serve"
        and "--metrics-bind-address=:8080" in args
        and "--health-probe-bind-address=:8081" in args
    )


def test_cluster_role_grants_what_serve_requests() -> None:
    role = one(kustomize("scanner"), "ClusterRole")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    needed = {(w.resource.group, w.resource.plural, verb) for w in watched() for verb in ("list", "watch")}
    needed |= {
        ("", "secrets", "get"),
        ("wgpolicyk8s.io", "policyreports", "patch"),
        ("wgpolicyk8s.io", "clusterpolicyreports", "patch"),
        ("openreports.io", "reports", "patch"),
        ("openreports.io", "clusterreports", "patch"),
    }
    assert needed <= granted
    # nothing beyond reading, and writing its own reports
    assert {verb for _, _, verb in granted} <= {"get", "list", "watch", "create", "patch"}
    assert {resource for _, resource, verb in granted if verb in ("create", "patch")} == {
        "policyreports",
        "clusterpolicyreports",
        "reports",
        "clusterreports",
    }


def test_webhook_overlay_is_safe_by_default() -> None:
    documents = kustomize("webhook")
    config = one(documents, "ValidatingWebhookConfiguration")
    webhook = config["webhooks"][0]
    assert webhook["failurePolicy"] == "Ignore" and webhook["sideEffects"] == "None"
    assert webhook["admissionReviewVersions"] == ["v1"]
    assert webhook["timeoutSeconds"] <= 5
    excluded = next(
        e
        for e in webhook["namespaceSelector"]["matchExpressions"]
        if e["key"] == "kubernetes.io/metadata.name"
    )
    assert {"kube-system", "pullguard"} <= set(excluded["values"])
    resources = {r for rule in webhook["rules"] for r in rule["resources"]}
    assert {"pods", "deployments", "cronjobs"} <= resources
    args = one(documents, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--webhook" in args and "--webhook-cert-path=/tls" in args


def test_prometheus_rule_matches_the_rule_file() -> None:
    rule = one(kustomize("servicemonitor"), "PrometheusRule")
    plain = yaml.safe_load((ROOT / "deploy" / "prometheus" / "pullguard-rules.yaml").read_text())
    assert rule["spec"] == plain
    monitor = one(kustomize("servicemonitor"), "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_args_are_serve_flags(overlay: str) -> None:
    """Every flag the manifests pass is one `pullguard serve` takes (parsed, not run)."""
    from pullguard.serve.command import serve

    args = one(kustomize(overlay), "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "serve"
    context = serve.make_context("serve", list(args[1:]))
    assert context.params["metrics_bind_address"] == ":8080"
    assert context.params["leader_elect"] is True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_serve_reads_its_configuration_from_the_mounted_config_map(overlay: str, tmp_path: Path) -> None:
    """--config names a file of the ConfigMap volume; the file loads as `scan --config` loads it."""
    from pullguard.serve.command import serve_options

    documents = kustomize(overlay)
    config_map = one(documents, "ConfigMap")
    pod = one(documents, "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    path = next(a.split("=", 1)[1] for a in container["args"] if a.startswith("--config="))
    volume = next(
        v for v in pod["volumes"] if v.get("configMap", {}).get("name") == config_map["metadata"]["name"]
    )
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    directory, _, key = path.rpartition("/")
    assert directory == mount["mountPath"] and key in config_map["data"]
    for name, text in config_map["data"].items():  # as the kubelet projects the ConfigMap
        (tmp_path / name).write_text(text)
    options = serve_options(str(tmp_path / key))
    assert options.kubelet is None  # the shipped file describes no kubelet until it is filled in
