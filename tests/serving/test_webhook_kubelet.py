"""The admission webhook with the nodes' kubelet: credential providers from `--config`, the Kubernetes
version from the watched Nodes. Real HTTPS AdmissionReviews; the same ScanOptions judge the cluster."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from apiserver_double import ApiServerDouble
from cluster.fixtures import meta, namespace, node, pod, service_account, shop_cluster
from integration.registry_env import Pki
from pullguard.serve.command import Server, serve, serve_options
from pullguard.serve.webhook import WebhookSettings
from pullguard.settings import ScanOptions
from serving.admission import Client, review
from serving.support import eventually, serving

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
ROLE = "arn:aws:iam::123456789012:role/payments-pull"
PROVIDERS = """\
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: ecr-credential-provider
    matchImages: ["*.dkr.ecr.*.amazonaws.com"]
    defaultCacheDuration: 12h
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    tokenAttributes:
      serviceAccountTokenAudience: sts.amazonaws.com
      cacheType: ServiceAccount
      requireServiceAccount: true
      requiredServiceAccountAnnotationKeys: [eks.amazonaws.com/ecr-role-arn]
  - name: harbor-credential-provider
    matchImages: ["harbor.example.com"]
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1
"""
# only an identitytoken: the kubelet sends empty credentials (no canary value needed)
IDENTITY_TOKEN_ONLY = base64.b64encode(
    json.dumps({"auths": {"harbor.example.com": {"identitytoken": "opaque-refresh"}}}).encode()
).decode()


def write_config(directory: Path) -> str:
    """A .pullguard.yaml with a kubelet: section, as a ConfigMap mounts it (two keys, one directory)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "credential-providers.yaml").write_text(PROVIDERS)
    (directory / "pullguard.yaml").write_text(
        'privateRegistries: ["harbor.example.com"]\nkubelet:\n  providerConfig: credential-providers.yaml\n'
    )
    return str(directory / "pullguard.yaml")


def account(name: str, ns: str, annotations: dict[str, str], pull_secrets: list[str] | None = None) -> Any:
    body = service_account(name, ns, pull_secrets)
    body["metadata"]["annotations"] = annotations
    return body


def cluster() -> dict[str, list[dict[str, Any]]]:
    objects = shop_cluster()
    objects["nodes"] = [
        {**node(n), "status": {"nodeInfo": {"kubeletVersion": "v1.34.2"}}} for n in ("node-1", "node-2")
    ]
    objects["namespaces"].append(namespace("payments"))
    objects["serviceaccounts"] += [
        account("irsa-only", "payments", {"eks.amazonaws.com/role-arn": ROLE}),
        account("ecr-role", "payments", {"eks.amazonaws.com/ecr-role-arn": ROLE}),
        account("strict", "payments", {"kubernetes.io/enforce-mountable-secrets": "true"}, ["listed"]),
    ]
    objects["secrets"].append(
        {
            "metadata": meta("harbor-login", "payments"),
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": IDENTITY_TOKEN_ONLY},
        }
    )
    # already in the cluster: judged by the periodic judging with the same options
    objects["pods"].append(with_account(pod("batch-0", "payments", f"{ECR}/payments/batch:1"), "irsa-only"))
    return objects


def with_account(body: dict[str, Any], name: str) -> dict[str, Any]:
    body["spec"]["serviceAccountName"] = body["spec"]["serviceAccount"] = name
    return body


def new_pod(name: str, image: str, account_name: str, pull_secrets: list[str] | None = None) -> Any:
    body = with_account(pod(name, "payments", image, pull_secrets), account_name)
    del body["status"], body["spec"]["nodeName"]  # as created: not scheduled, no status
    return body


@pytest.fixture
def webhook(tmp_path: Path, pki: Pki) -> Iterator[tuple[ApiServerDouble, Server, Client]]:
    options = serve_options(write_config(tmp_path / "config"))
    settings = WebhookSettings.from_cert_path(("127.0.0.1", 0), str(tmp_path / "certs"), 0.5)
    with (
        ApiServerDouble(cluster(), bookmark_interval=0.2) as api,
        serving(api, tmp_path, options, webhook=settings) as server,
    ):
        yield api, server, Client(server.webhook_server.port, pki.ca_pem)


def warnings(client: Client, body: dict[str, Any], kind: str = "Pod") -> list[str]:
    status, answer = client.send(review(kind, body, "payments"))
    assert status == 200 and answer["response"]["allowed"] is True
    return list(answer["response"].get("warnings", []))


def checks(found: list[str]) -> set[str]:
    return {w.split(":", 1)[0].removeprefix("pullguard ") for w in found}


def test_provider_that_matches_but_gives_nothing_warns_pg020(
    webhook: tuple[ApiServerDouble, Server, Client],
) -> None:
    _, _, client = webhook
    found = warnings(client, new_pod("pay-0", f"{ECR}/payments/api:3", "irsa-only"))
    assert checks(found) == {"PG001", "PG020"}, found  # as `scan` reports it: uncovered, and why
    pg020 = next(w for w in found if w.startswith("pullguard PG020:"))
    assert "credential provider matches it" in pg020 and "'irsa-only' lacks the annotation" in pg020
    # the ServiceAccount carries what the token-mode provider reads: covered, no warning
    assert warnings(client, new_pod("pay-1", f"{ECR}/payments/api:3", "ecr-role")) == []


def test_periodic_judging_uses_the_same_options(webhook: tuple[ApiServerDouble, Server, Client]) -> None:
    _, server, _ = webhook
    view = server.judge.snapshot.views["payments"]
    assert {(f.check_id, f.object.name) for f in view.findings if f.check_id == "PG020"} == {
        ("PG020", "batch-0")
    }


def test_without_the_kubelet_configuration_the_provider_is_unknown(tmp_path: Path, pki: Pki) -> None:
    """Regression: the webhook judged PG001-PG004 only, without the providers: a wrong PG001."""
    settings = WebhookSettings.from_cert_path(("127.0.0.1", 0), str(tmp_path / "certs"), 0.5)
    with (
        ApiServerDouble(cluster()) as api,
        serving(api, tmp_path, ScanOptions(), webhook=settings) as server,
    ):
        client = Client(server.webhook_server.port, pki.ca_pem)
        found = checks(warnings(client, new_pod("pay-0", f"{ECR}/payments/api:3", "irsa-only")))
    assert "PG020" not in found and "PG001" in found


def test_broken_pod_secret_masked_by_a_provider_warns_pg021(
    webhook: tuple[ApiServerDouble, Server, Client],
) -> None:
    _, _, client = webhook
    found = warnings(client, new_pod("web-0", "harbor.example.com/shop/web:1.4", "default", ["harbor-login"]))
    assert "PG021" in checks(found), found
    assert "opaque-refresh" not in json.dumps(found)


def test_enforce_mountable_secrets_warns_for_a_template(
    webhook: tuple[ApiServerDouble, Server, Client],
) -> None:
    _, _, client = webhook
    body = {
        "metadata": {"name": "report", "namespace": "payments"},
        "spec": {
            "selector": {"matchLabels": {"app": "report"}},
            "template": {
                "metadata": {"labels": {"app": "report"}},
                "spec": {
                    "serviceAccountName": "strict",
                    "imagePullSecrets": [{"name": "harbor-login"}],
                    "containers": [{"name": "report", "image": "harbor.example.com/shop/report:1"}],
                },
            },
        },
    }
    found = warnings(client, body, "Deployment")
    assert "PG022" in checks(found), found
    assert any("harbor-login" in w and "strict" in w for w in found if w.startswith("pullguard PG022"))


def test_image_volume_follows_the_watched_nodes_kubelet_version(
    webhook: tuple[ApiServerDouble, Server, Client],
) -> None:
    api, _, client = webhook
    body = new_pod("model-0", "registry.example.com/ml/server:1", "default")
    body["spec"]["volumes"] = [
        {
            "name": "model",
            "image": {"reference": "registry.example.com/ml/weights:1", "pullPolicy": "IfNotPresent"},
        }
    ]
    found = warnings(client, body)
    assert "PG024" in checks(found) and any("v1.34" in w for w in found), found
    for name in ("node-1", "node-2"):  # the nodes are upgraded: ImageVolume is on by default from v1.35
        api.update("nodes", {**node(name), "status": {"nodeInfo": {"kubeletVersion": "v1.35.0"}}})
    eventually(lambda: "PG024" not in checks(warnings(client, body)))


def test_kubelet_flags_are_checked_before_connecting(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(serve, ["--kubernetes-version", "one.thirty"])
    assert result.exit_code == 2 and "--kubernetes-version" in result.output
    result = runner.invoke(serve, ["--config", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "missing.yaml: configuration file not found" in result.output
    config = tmp_path / "pullguard.yaml"
    config.write_text("kubelet:\n  providerConfig: nowhere/\n")
    result = runner.invoke(serve, ["--config", str(config)])
    assert result.exit_code == 2
    assert str(config) in result.output and f"{config}:2: kubelet.providerConfig: " in result.output


def test_node_status_reports_judge_nothing_a_version_change_judges_all(tmp_path: Path) -> None:
    """Regression: Nodes were watched as metadata only (no kubeletVersion), and every Node status
    report (a new resourceVersion) marked the whole cluster for judging."""
    with ApiServerDouble(cluster(), bookmark_interval=0.2) as api, serving(api, tmp_path) as server:
        runs, events = server.judge.runs, server.store.events
        heartbeat = {**node("node-1"), "status": {"nodeInfo": {"kubeletVersion": "v1.34.2"}}}
        heartbeat["status"]["conditions"] = [{"type": "Ready", "status": "True", "lastHeartbeatTime": "now"}]
        api.update("nodes", heartbeat)
        eventually(lambda: server.store.events > events)
        time.sleep(1.0)  # a judging round would have run by now
        assert server.judge.runs == runs
        api.update("nodes", {**node("node-1"), "status": {"nodeInfo": {"kubeletVersion": "v1.35.0"}}})
        eventually(lambda: server.judge.runs > runs)
        stored = server.store.get("nodes", None, "node-1") or {}
        assert stored["status"] == {"nodeInfo": {"kubeletVersion": "v1.35.0"}}


def test_running_pods_keep_what_the_node_cache_check_reads(tmp_path: Path) -> None:
    """Regression: serve dropped every pod's status and nodeName, so PG025 (a private image that runs
    only from the node's cache) never held in serve, while `scan --cluster` reported it."""
    objects = cluster()
    cached = pod("cache-0", "ops", "registry.example.com/ops/cached:1")
    cached["status"]["containerStatuses"][0]["imageID"] = "registry.example.com/ops/cached@sha256:" + "a" * 64
    objects["pods"].append(cached)
    with ApiServerDouble(objects) as api, serving(api, tmp_path) as server:
        found = [f for f in server.judge.snapshot.views["ops"].findings if f.check_id == "PG025"]
    assert [(f.object.name, f.severity.value) for f in found] == [("cache-0", "high")], (
        found
    )  # v1.34: no re-verification
    assert "node-1" in found[0].message and "v1.34.2" in found[0].message
