"""Objects shaped like kube-apiserver returns them (uid, resourceVersion, managedFields, status)."""

from __future__ import annotations

import base64
import json
from typing import Any

CANARY_USER = "canary-user-7f3a"
CANARY_PASSWORD = "canary-pw-Zq8r-do-not-print"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def dockerconfig(registry: str, user: str = CANARY_USER, password: str = CANARY_PASSWORD) -> str:
    entry = {"username": user, "password": password, "auth": _b64(f"{user}:{password}")}
    return _b64(json.dumps({"auths": {registry: entry}}))


def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{namespace}-{name}",
        "resourceVersion": "4711",
        "creationTimestamp": "2025-01-10T08:00:00Z",
        "managedFields": [
            {
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2025-01-10T08:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:annotations": {}}},
            }
        ],
    }
    if namespace:
        metadata["namespace"] = namespace
    metadata.update(extra)
    return metadata


def namespace(name: str) -> dict[str, Any]:
    return {
        "metadata": meta(name, labels={"kubernetes.io/metadata.name": name}),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": meta(name, labels={"kubernetes.io/hostname": name, **(labels or {})}),
        "status": {"nodeInfo": {"architecture": "amd64", "kubeletVersion": "v1.32.3"}},
    }


def pull_secret(
    name: str, ns: str, registry: str, user: str = CANARY_USER, password: str = CANARY_PASSWORD
) -> dict[str, Any]:
    config = dockerconfig(registry, user, password)
    last_applied = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "data": {".dockerconfigjson": config},
            "metadata": {"name": name, "namespace": ns},
        }
    )
    return {
        "metadata": meta(
            name, ns, annotations={"kubectl.kubernetes.io/last-applied-configuration": last_applied}
        ),
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": config},
    }


def opaque_secret(name: str, ns: str, data: dict[str, str]) -> dict[str, Any]:
    return {"metadata": meta(name, ns), "type": "Opaque", "data": {k: _b64(v) for k, v in data.items()}}


def service_account(name: str, ns: str, pull_secrets: list[str] | None = None) -> dict[str, Any]:
    account: dict[str, Any] = {"metadata": meta(name, ns)}
    if pull_secrets:
        account["imagePullSecrets"] = [{"name": s} for s in pull_secrets]
    return account


def pod_spec(
    image: str, pull_secrets: list[str] | None = None, service_account: str = "default"
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "app",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
            }
        ],
        "serviceAccountName": service_account,
        "serviceAccount": service_account,
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
    }
    if pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in pull_secrets]
    return spec


def deployment(
    name: str, ns: str, image: str, pull_secrets: list[str] | None = None, replicas: int = 2
) -> dict[str, Any]:
    return {
        "metadata": meta(name, ns, generation=1),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(image, pull_secrets)},
        },
        "status": {"replicas": replicas},
    }


def pod(
    name: str,
    ns: str,
    image: str,
    pull_secrets: list[str] | None = None,
    owner: tuple[str, str] | None = None,
    labels: dict[str, str] | None = None,
    waiting: str | None = None,
    node_name: str = "node-1",
) -> dict[str, Any]:
    extra: dict[str, Any] = {"labels": labels or {}}
    if owner:
        api = "apps/v1" if owner[0] in ("ReplicaSet", "StatefulSet", "DaemonSet") else "batch/v1"
        extra["ownerReferences"] = [
            {
                "apiVersion": api,
                "kind": owner[0],
                "name": owner[1],
                "uid": "uid-owner",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    state: dict[str, Any] = {"running": {"startedAt": "2025-01-10T08:01:00Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting, "message": f'Back-off pulling image "{image}"'}}
    return {
        "metadata": meta(name, ns, **extra),
        "spec": {**pod_spec(image, pull_secrets), "nodeName": node_name},
        "status": {
            "phase": "Pending" if waiting else "Running",
            "containerStatuses": [
                {
                    "name": "app",
                    "image": image,
                    "ready": waiting is None,
                    "restartCount": 0,
                    "state": state,
                    "imageID": "",
                }
            ],
        },
    }


def shop_cluster() -> dict[str, list[dict[str, Any]]]:
    """Two namespaces: a Deployment with 3 pods covered by a pod secret, one by the SA's secret (copied
    into the pod by admission), one with a secret for the wrong registry, one with a missing secret."""
    objects: dict[str, list[dict[str, Any]]] = {
        "namespaces": [namespace("shop"), namespace("ops")],
        "nodes": [
            node("node-1", {"eks.amazonaws.com/nodegroup": "ng-1"}),
            node("node-2", {"eks.amazonaws.com/nodegroup": "ng-1"}),
        ],
        "secrets": [
            pull_secret("registry-creds", "shop", "registry.example.com"),
            pull_secret("ops-creds", "ops", "other.example.com"),
            opaque_secret("db-password", "shop", {"password": "hunter2-canary-opaque"}),
            opaque_secret("wrong-type", "ops", {".dockerconfigjson": "{}"}),
        ],
        "serviceaccounts": [
            service_account("default", "shop", ["registry-creds"]),
            service_account("default", "ops"),
            service_account("builder", "ops"),
        ],
        "deployments": [
            deployment("web", "shop", "registry.example.com/shop/web:1.0", ["registry-creds"], replicas=3),
            deployment("idle", "shop", "registry.example.com/shop/idle:1.0", ["missing-creds"], replicas=0),
        ],
        "statefulsets": [],
        "daemonsets": [],
        "jobs": [],
        "cronjobs": [],
        "pods": [
            *(
                pod(
                    f"web-7c9f8d6b5-{s}",
                    "shop",
                    "registry.example.com/shop/web:1.0",
                    ["registry-creds"],
                    owner=("ReplicaSet", "web-7c9f8d6b5"),
                    labels={"app": "web", "pod-template-hash": "7c9f8d6b5"},
                )
                for s in ("a1b2c", "d3e4f", "g5h6i")
            ),
            # admitted: the SA's secret was copied in by the admission plugin
            pod("api-0", "shop", "registry.example.com/shop/api:2.0", ["registry-creds"]),
            pod("backup-0", "ops", "registry.example.com/ops/backup:1", ["ops-creds"]),
            pod("tool-0", "ops", "registry.example.com/ops/tool:1", ["wrong-type", "gone"]),
        ],
        "roles": [],
        "rolebindings": [],
        "clusterroles": [],
        "clusterrolebindings": [],
    }
    return objects
