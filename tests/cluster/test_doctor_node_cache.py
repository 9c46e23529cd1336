"""`pullguard doctor` explains the node-cache trap (KEP-2535): the image is on the node, and a v1.35
kubelet refuses it to a pod without matching credentials. The API-server double serves the pod,
its event and the Node (status.images, nodeInfo.kubeletVersion); the registry is a closed local
port, so the live check fails fast and the node's own evidence decides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from apiserver_double import ApiServerDouble
from cluster.fixtures import meta, pod, service_account
from integration.registry_env import free_port

ROOT = Path(__file__).resolve().parents[2]


def node(version: str, images: list[str]) -> dict[str, Any]:
    return {
        "metadata": meta(
            "node-1", labels={"kubernetes.io/hostname": "node-1", "kubernetes.io/arch": "amd64"}
        ),
        "status": {
            "nodeInfo": {"architecture": "amd64", "kubeletVersion": version},
            "images": [{"names": images, "sizeBytes": 1024}],
        },
    }


def event(name: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{name}.1", "namespace": "shop", "resourceVersion": "9"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": name},
        "reason": reason,
        "message": message,
        "type": "Warning",
        "lastTimestamp": "2026-05-30T10:00:00Z",
    }


def doctor(objects: dict[str, list[dict[str, Any]]], tmp_path: Path) -> dict[str, Any]:
    with ApiServerDouble(objects) as api:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(api.kubeconfig("prod", namespace="shop")))
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG" and "proxy" not in k.lower()}
        done = subprocess.run(
            [sys.executable, "-m", "pullguard", "doctor", "app", "-n", "shop", "-f", "json",
             "--kubeconfig", str(kubeconfig), "--timeout", "3"],
            capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
        )  # fmt: skip
    assert done.returncode in (1, 2), done.stderr
    [diagnosis] = json.loads(done.stdout)
    [container] = diagnosis["containers"]
    result: dict[str, Any] = container
    return result


@pytest.mark.parametrize(
    ("waiting", "reason", "message"),
    [
        (
            "ErrImageNeverPull",
            "ErrImageNeverPull",
            'Container image "{image}" is not present with pull policy of Never',
        ),
        ("ImagePullBackOff", "Failed", 'Failed to pull image "{image}": 401 Unauthorized'),
    ],
)
def test_present_image_refused_on_v1_35(tmp_path: Path, waiting: str, reason: str, message: str) -> None:
    image = f"127.0.0.1:{free_port()}/shop/app:1.0"
    objects = {
        "pods": [pod("app", "shop", image, waiting=waiting)],
        "events": [event("app", reason, message.format(image=image))],
        "nodes": [node("v1.35.2", [image, image.rsplit(":", 1)[0] + "@sha256:" + "ab" * 32])],
        "serviceaccounts": [service_account("default", "shop")],
    }
    container = doctor(objects, tmp_path)
    assert container["cause"] == "node-cache", container
    assert "present on node 'node-1' (kubelet v1.35.2)" in container["explanation"]
    assert "KEP-2535" in container["explanation"]
    assert "preloadedImagesVerificationAllowlist" in container["fix"]
    (patch,) = [line for line in container["fix"].splitlines() if "kubectl patch serviceaccount" in line]
    assert "--type=json" in patch  # appends; a strategic-merge patch would replace the account's list


def test_absent_image_is_not_the_trap(tmp_path: Path) -> None:
    image = f"127.0.0.1:{free_port()}/shop/app:1.0"
    objects = {
        "pods": [pod("app", "shop", image, waiting="ImagePullBackOff")],
        "events": [event("app", "Failed", f'Failed to pull image "{image}": 401 Unauthorized')],
        "nodes": [node("v1.35.2", ["registry.k8s.io/pause:3.10"])],
        "serviceaccounts": [service_account("default", "shop")],
    }
    assert doctor(objects, tmp_path)["cause"] != "node-cache"


def test_pull_failure_on_an_older_kubelet_is_not_the_trap(tmp_path: Path) -> None:
    image = f"127.0.0.1:{free_port()}/shop/app:1.0"
    objects = {
        "pods": [pod("app", "shop", image, waiting="ImagePullBackOff")],
        "events": [event("app", "Failed", f'Failed to pull image "{image}": 401 Unauthorized')],
        "nodes": [node("v1.34.1", [image])],
        "serviceaccounts": [service_account("default", "shop")],
    }
    assert doctor(objects, tmp_path)["cause"] != "node-cache"
