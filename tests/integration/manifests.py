"""Kubernetes manifests that point at the test registries, with pull secrets built from given logins."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import yaml


def dockerconfigjson(auths: dict[str, tuple[str, str]]) -> str:
    doc = {
        "auths": {
            key: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
            for key, (user, password) in auths.items()
        }
    }
    return base64.b64encode(json.dumps(doc).encode()).decode()


def secret(name: str, auths: dict[str, tuple[str, str]], namespace: str = "apps") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": dockerconfigjson(auths)},
    }


@dataclass(frozen=True)
class Workload:
    name: str
    image: str
    secrets: tuple[str, ...] = ()
    container: str = "main"


def deployment(workload: Workload, namespace: str = "apps") -> dict[str, object]:
    spec: dict[str, object] = {"containers": [{"name": workload.container, "image": workload.image}]}
    if workload.secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in workload.secrets]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": workload.name, "namespace": namespace},
        "spec": {"template": {"spec": spec}},
    }


def write(path: Path, secrets: list[dict[str, object]], workloads: list[Workload]) -> Path:
    documents = [*secrets, *(deployment(w) for w in workloads)]
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path
