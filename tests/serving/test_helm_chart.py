"""deploy/helm/pullguard: the chart lints, renders exactly the objects of the kustomize overlays
(so one set of manifests is tested for least privilege and by pullguard's own scan, and the
chart cannot drift from it), passes pullguard's own checks, and its values reach `serve`'s flags."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import pullguard
from serving.shipped import assert_no_findings, kustomize

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "pullguard"
KUBE_VERSION = "1.31.0"  # helm template's built-in default (1.25) is below the chart's kubeVersion


def _helm() -> str | None:
    for candidate in (os.environ.get("PULLGUARD_HELM"), str(ROOT / ".tools" / "helm"), shutil.which("helm")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


HELM = _helm()
pytestmark = [
    pytest.mark.skipif(
        HELM is None, reason="needs helm 3 (`make tools` fetches a pinned build into .tools/)"
    ),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl (make system-deps)"),
]

# The overlay and the values that ask the chart for the same thing.
EQUIVALENT = {
    "scanner": ["namespace.create=true"],
    "webhook": ["namespace.create=true", "webhook.enabled=true"],
    "servicemonitor": ["namespace.create=true", "serviceMonitor.enabled=true", "prometheusRule.enabled=true"],
    "namespaced": ["namespace.create=true", "serve.watchNamespaces={team-a,team-b}"],
}


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM is not None
    return subprocess.run([HELM, *args], capture_output=True, text=True, timeout=60)


def template(
    *settings: str, release: str = "pullguard", namespace: str = "pullguard"
) -> list[dict[str, Any]]:
    argv = ["template", release, str(CHART), "--namespace", namespace, "--kube-version", KUBE_VERSION]
    for setting in settings:
        argv += ["--set", setting]
    result = helm(*argv)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _without_labels(document: dict[str, Any]) -> dict[str, Any]:
    """The object minus what differs by design: Helm's own labels and the selectors' instance label."""
    out = copy.deepcopy(document)
    labels = out["metadata"].pop("labels", {})
    if out["kind"] == "Namespace":  # its Pod Security Standards and admission labels are what it is for
        out["metadata"]["labels"] = {k: v for k, v in labels.items() if not k.startswith(("app.", "helm."))}
    spec = out.get("spec", {})
    if out["kind"] == "Service":
        spec["selector"].pop("app.kubernetes.io/instance", None)
    if out["kind"] == "Deployment":
        spec["selector"]["matchLabels"].pop("app.kubernetes.io/instance", None)
        spec["template"]["metadata"].pop("labels", None)
    if out["kind"] == "ServiceMonitor":
        spec["selector"]["matchLabels"].pop("app.kubernetes.io/instance", None)
    return out


def by_identity(documents: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): _without_labels(d)
        for d in documents
    }


def test_chart_lints_strictly() -> None:
    for settings in ([], EQUIVALENT["webhook"] + EQUIVALENT["servicemonitor"]):
        argv = ["lint", "--strict", str(CHART)]
        for setting in settings:
            argv += ["--set", setting]
        result = helm(*argv)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("overlay", sorted(EQUIVALENT))
def test_chart_renders_the_objects_of_the_overlay(overlay: str) -> None:
    chart = by_identity(template(*EQUIVALENT[overlay]))
    overlay_objects = by_identity(kustomize(overlay))
    assert sorted(chart) == sorted(overlay_objects)
    for identity, expected in overlay_objects.items():
        assert chart[identity] == expected, identity


def test_chart_labels_every_object_and_selects_its_own_pods() -> None:
    documents = template(*EQUIVALENT["webhook"], release="guard", namespace="tools")
    for document in documents:
        labels = document["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/instance"] == "guard"
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    for service in (d for d in documents if d["kind"] == "Service"):
        assert service["spec"]["selector"] == selector


def test_a_second_release_gets_its_own_names_and_wiring() -> None:
    documents = template(*EQUIVALENT["webhook"], release="guard", namespace="tools")
    names = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert ("Deployment", "guard-pullguard") in names and ("ClusterRole", "guard-pullguard-serve") in names
    assert all(d["metadata"].get("namespace", "tools") == "tools" for d in documents)
    binding = next(d for d in documents if d["kind"] == "ClusterRoleBinding")
    account = next(d for d in documents if d["kind"] == "ServiceAccount")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "tools"}
    ]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    webhook = next(d for d in documents if d["kind"] == "ValidatingWebhookConfiguration")
    service = webhook["webhooks"][0]["clientConfig"]["service"]
    assert ("Service", service["name"]) in names and service["namespace"] == "tools"
    certificate = next(d for d in documents if d["kind"] == "Certificate")
    assert f"{service['name']}.tools.svc" in certificate["spec"]["dnsNames"]
    volume = deployment["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"]
    assert volume == certificate["spec"]["secretName"]
    assert (
        webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
        == f"tools/{certificate['metadata']['name']}"
    )
    excluded = webhook["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
    assert "tools" in excluded and "kube-system" in excluded


def test_values_reach_serves_flags() -> None:
    from pullguard.serve.command import serve

    documents = template(
        "serve.verifyInterval=300",
        "serve.logLevel=debug",
        "serve.metricsFindings=true",
        "serve.policyReports=openreports",
        "serve.extraArgs[0]=--private-registry=registry.example.com",
        "webhook.enabled=true",
        "webhook.answerWithin=0.25",
    )
    container = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    args = container["args"]
    assert args[0] == "serve"
    params = serve.make_context("serve", list(args[1:])).params
    assert params["verify_interval"] == 300
    assert params["log_level"] == "debug"
    assert params["metrics_findings"] is True
    assert params["policy_reports"] == "openreports"
    assert params["webhook"] is True and params["webhook_timeout"] == 0.25
    assert params["private_registries"] == ("registry.example.com",)


def test_unknown_or_wrong_values_are_refused_by_the_schema() -> None:
    for setting in (
        "webhook.enable=true",
        "serve.policyReports=maybe",
        "serve.extraArgs[0]=oops",
        "serve.watchNamespaces={Team_A}",  # not a namespace name (RFC 1123 label)
    ):
        result = helm("template", "pullguard", str(CHART), "--kube-version", KUBE_VERSION, "--set", setting)
        assert result.returncode != 0, setting
        assert "schema" in result.stderr, result.stderr


def test_every_chart_rendering_passes_pullguards_own_checks(tmp_path: Path) -> None:
    everything = template(
        *EQUIVALENT["webhook"], "serviceMonitor.enabled=true", "prometheusRule.enabled=true"
    )
    assert_no_findings(everything, tmp_path / "chart.yaml")


def test_chart_versions_and_rules_follow_the_project() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == pullguard.__version__
    rules = yaml.safe_load((CHART / "files" / "pullguard-rules.yaml").read_text())
    assert rules == yaml.safe_load((ROOT / "deploy" / "prometheus" / "pullguard-rules.yaml").read_text())
    base = yaml.safe_load((ROOT / "deploy" / "base" / "kustomization.yaml").read_text())
    assert base["images"][0]["newTag"] == pullguard.__version__
    image = next(d for d in template() if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]
    assert re.fullmatch(rf"ghcr\.io/pullguard/pullguard:{re.escape(pullguard.__version__)}", image)


def test_config_values_reach_serve_with_the_kubelet_files(tmp_path: Path) -> None:
    """values config.pullguardYaml and config.files: the mounted ConfigMap that `serve --config` reads,
    kubelet: section included (a file of the ConfigMap named relative to pullguard.yaml)."""
    from pullguard.serve.command import serve_options

    providers = (
        "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n"
        "  - name: ecr-credential-provider\n    matchImages: ['*.dkr.ecr.*.amazonaws.com']\n"
        "    defaultCacheDuration: 12h\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n"
    )
    (tmp_path / "values.yaml").write_text(
        yaml.safe_dump(
            {
                "config": {
                    "pullguardYaml": "kubelet:\n  providerConfig: credential-providers.yaml\n",
                    "files": {"credential-providers.yaml": providers},
                }
            }
        )
    )
    argv = [
        "template",
        "pullguard",
        str(CHART),
        "--kube-version",
        KUBE_VERSION,
        "-f",
        str(tmp_path / "values.yaml"),
    ]
    result = helm(*argv)
    assert result.returncode == 0, result.stderr
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    config_map = next(d for d in documents if d["kind"] == "ConfigMap")
    pod = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert {"name": "config", "configMap": {"name": config_map["metadata"]["name"]}} in pod["volumes"]
    mounted = tmp_path / "etc-pullguard"
    mounted.mkdir()
    for name, text in config_map["data"].items():
        (mounted / name).write_text(text)
    options = serve_options(str(mounted / "pullguard.yaml"))
    assert options.kubelet is not None
    assert [p.name for c in options.kubelet.provider_configs for p in c.providers] == [
        "ecr-credential-provider"
    ]
    refused = helm(
        "template",
        "pullguard",
        str(CHART),
        "--kube-version",
        KUBE_VERSION,
        "--set",
        "config.files.pullguard\\.yaml=x",
    )
    assert refused.returncode != 0 and "schema" in refused.stderr
