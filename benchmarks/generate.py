"""Generate a large, deterministic, multi-namespace corpus of Kubernetes manifests.

    python benchmarks/generate.py OUTDIR --documents N [--seed S] [--files-per-namespace K] [--force]

The corpus looks like a big GitOps repository / ``kubectl get -o yaml`` dump: per namespace a
Namespace, dockerconfigjson and Opaque Secrets, ServiceAccounts, Roles and RoleBindings and, for
the bulk, workloads (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod, ReplicaSet); cluster
RBAC (ClusterRole, ClusterRoleBinding) in ``cluster/``. Most files are multi-document YAML; about
5% of the documents are JSON files (one object or a ``kind: List``); one namespace in 50 also
carries a YAML ``kind: List`` file.

A *document* is one top-level YAML document or one JSON file; a List counts as one document.
Exactly N documents are written. Every credential is fake (user ``bench``, password
``bench-password-<n>``). The output depends only on (N, seed, files-per-namespace): the same
arguments give a byte-identical tree.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

import yaml

GENERATOR_VERSION = 1
MARKER_NAME = ".pullguard-bench-corpus"
DOCS_PER_NAMESPACE = 20
# --shape small: 10 documents per namespace and fewer lines per object (about 360 bytes a
# document instead of 2,500): per-document costs dominate, as in many small GitOps repositories.
SHAPES = ("large", "small")
SMALL_DOCS_PER_NAMESPACE = 10
NAMESPACES_PER_YAML_LIST = 50
JSON_SHARE = 0.05

Obj = dict[str, Any]

# --------------------------------------------------------------------------------------------
# A small, fast YAML emitter for the plain data built here (dict / list / str / int / bool /
# None). yaml.dump would take minutes for 100,000 documents; this produces block-style YAML
# that PyYAML's safe loader reads back to exactly the same data.
# --------------------------------------------------------------------------------------------

_PLAIN_OK = re.compile(r"[A-Za-z][A-Za-z0-9_./:@+=%-]*\Z")
_PLAIN_MAYBE = re.compile(r"[0-9/][A-Za-z0-9_./:@+=%-]*\Z")
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"})
_RESOLVER = yaml.resolver.Resolver()


@functools.lru_cache(maxsize=65536)
def _resolves_as_str(text: str) -> bool:
    """True when a plain scalar `text` loads back as a string (not int/float/timestamp/...)."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    return bool(tag == "tag:yaml.org,2002:str")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text.endswith(":"):
        return json.dumps(text)
    if _PLAIN_OK.match(text):
        if text.lower() not in _YAML11_WORDS:
            return text
    elif _PLAIN_MAYBE.match(text) and _resolves_as_str(text):
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def _key(key: str) -> str:
    return _scalar(key)


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Append the block-style lines of a dict or list (non-empty) at the given indent."""
    if isinstance(value, dict):
        for k, v in value.items():
            head = f"{indent}{_key(k)}:"
            if isinstance(v, dict):
                if v:
                    out.append(head)
                    _emit(v, indent + "  ", out)
                else:
                    out.append(head + " {}")
            elif isinstance(v, list):
                if v:
                    out.append(head)
                    _emit(v, indent, out)  # kubectl style: list items at the key's indent
                else:
                    out.append(head + " []")
            elif isinstance(v, str) and "\n" in v:
                out.append(head + " |" + ("" if v.endswith("\n") else "-"))
                for line in v.rstrip("\n").split("\n"):
                    out.append(f"{indent}  {line}" if line else "")
            else:
                out.append(f"{head} {_scalar(v)}")
    else:
        for item in value:
            if isinstance(item, dict) and item:
                sub: list[str] = []
                _emit(item, indent + "  ", sub)
                first = sub[0]
                sub[0] = indent + "- " + first[len(indent) + 2 :]
                out.extend(sub)
            elif isinstance(item, list) and item:
                sub = []
                _emit(item, indent + "  ", sub)
                sub[0] = indent + "- " + sub[0][len(indent) + 2 :]
                out.extend(sub)
            elif isinstance(item, dict):
                out.append(indent + "- {}")
            elif isinstance(item, list):
                out.append(indent + "- []")
            else:
                out.append(f"{indent}- {_scalar(item)}")


def to_yaml(obj: Obj) -> str:
    lines: list[str] = []
    _emit(obj, "", lines)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

TEAMS = [
    "payments",
    "checkout",
    "search",
    "identity",
    "ledger",
    "billing",
    "catalog",
    "shipping",
    "analytics",
    "platform",
    "observability",
    "ingest",
    "notifications",
    "risk",
    "pricing",
    "inventory",
    "media",
    "gateway",
    "ml",
    "data",
]
ENVS = ["prod", "staging", "dev", "qa", "sandbox"]
APP_WORDS = [
    "api",
    "worker",
    "web",
    "frontend",
    "backend",
    "consumer",
    "scheduler",
    "proxy",
    "cache",
    "indexer",
    "exporter",
    "sync",
    "router",
    "auth",
    "reporter",
    "batch",
    "controller",
    "agent",
]
PULL_REGISTRIES = [
    "registry.example.com",
    "*.corp.example",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "myreg.azurecr.io",
    "https://index.docker.io/v1/",
]
PUBLIC_IMAGES = [
    "nginx:1.25",
    "registry.k8s.io/pause:3.9",
    "quay.io/prometheus/node-exporter:v1.8.0",
    "busybox:1.36",
    "redis:7.2-alpine",
    "docker.io/library/postgres:16.2",
    "ghcr.io/fluxcd/source-controller:v1.2.4",
    "registry.k8s.io/ingress-nginx/controller:v1.10.0",
    "alpine",
    "gcr.io/distroless/static:nonroot",
]
PRIVATE_IMAGE_TEMPLATES = [
    "registry.example.com/{team}/{app}:v{major}.{minor}.{patch}",
    "registry.example.com/team/app:v1",
    "build.corp.example/{team}/{app}:{major}.{minor}",
    "artifacts.corp.example/{team}/{app}:release-{patch}",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/{team}/{app}:{major}.{minor}.{patch}",
    "myreg.azurecr.io/{team}/{app}:build-{build}",
    "localhost:5000/x",
    "localhost:5000/{app}:dev",
    "{team}/{app}:{major}.{minor}",
    "docker.io/{team}/{app}:latest",
]
WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"]
WORKLOAD_WEIGHTS = [40, 10, 6, 8, 8, 10, 6]
POD_SECURITY_LEVELS = ["restricted", "baseline", "privileged"]


@dataclass
class Namespace:
    index: int
    name: str
    team: str
    env: str
    dump_style: bool  # objects carry uid / resourceVersion / status like `kubectl get -o yaml`
    pull_secrets: list[str] = field(default_factory=list)
    opaque_secrets: list[str] = field(default_factory=list)
    service_accounts: list[str] = field(default_factory=list)
    make_yaml_list: bool = False


def slim(obj: Obj) -> Obj:
    """The object with the lines a credential audit does not read dropped: what stays is what
    pullguard reads (identity, pod spec credentials, images, secret references, secret data)."""
    obj = dict(obj)
    obj.pop("status", None)
    if obj.get("kind") == "List":
        obj["items"] = [slim(item) for item in obj["items"]]
        return obj
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        obj["metadata"] = {
            k: v for k, v in metadata.items() if k in ("name", "namespace", "creationTimestamp")
        }
    if obj.get("kind") == "Namespace":
        obj.pop("spec", None)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    spec = obj["spec"] = dict(spec)
    for key in ("strategy", "revisionHistoryLimit", "volumeClaimTemplates", "successfulJobsHistoryLimit"):
        spec.pop(key, None)
    if "selector" in spec:
        spec["selector"] = {"matchLabels": _first(spec["selector"]["matchLabels"])}
    if "jobTemplate" in spec:
        job = spec["jobTemplate"]["spec"]
        spec["jobTemplate"] = {"spec": {"template": _slim_template(job["template"])}}
    elif "template" in spec:
        spec["template"] = _slim_template(spec["template"])
    elif "containers" in spec:
        obj["spec"] = _slim_pod_spec(spec)
    return obj


def _slim_template(template: Obj) -> Obj:
    return {
        "metadata": {"labels": _first(template["metadata"]["labels"])},
        "spec": _slim_pod_spec(template["spec"]),
    }


def _first(labels: dict[str, str]) -> dict[str, str]:
    return dict(list(labels.items())[:1])


def _slim_pod_spec(spec: Obj) -> Obj:
    kept = {
        k: v
        for k, v in spec.items()
        if k in ("serviceAccountName", "imagePullSecrets", "restartPolicy", "automountServiceAccountToken")
    }
    for field_name in ("initContainers", "containers"):
        if field_name in spec:
            kept[field_name] = [_slim_container(c) for c in spec[field_name]]
    volumes = [v for v in spec.get("volumes", ()) if "secret" in v]
    if volumes:
        kept["volumes"] = volumes
    return kept


def _slim_container(container: Obj) -> Obj:
    kept = {k: v for k, v in container.items() if k in ("name", "image", "imagePullPolicy")}
    env = [e for e in container.get("env", ()) if "secretKeyRef" in e.get("valueFrom", {})]
    if env:
        kept["env"] = env
    return kept


class Generator:
    def __init__(self, documents: int, seed: int, files_per_namespace: int, shape: str = "large") -> None:
        if documents < 1:
            raise ValueError("--documents must be at least 1")
        if files_per_namespace < 1:
            raise ValueError("--files-per-namespace must be at least 1")
        self.documents = documents
        self.seed = seed
        self.files_per_namespace = files_per_namespace
        if shape not in SHAPES:
            raise ValueError(f"--shape must be one of {', '.join(SHAPES)}")
        self.small = shape == "small"
        self.rng = Random(seed)
        self.password_counter = 0
        self.workload_counter = 0

    # ---- small helpers -------------------------------------------------------------------

    def uid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def timestamp(self) -> str:
        # 2024-01-01 .. 2024-12-27, deterministic (no clock).
        day = self.rng.randrange(0, 361)
        month, mday = divmod(day, 30)
        return (
            f"2024-{month + 1:02d}-{mday + 1:02d}T{self.rng.randrange(24):02d}:"
            f"{self.rng.randrange(60):02d}:{self.rng.randrange(60):02d}Z"
        )

    def digest(self) -> str:
        return f"sha256:{self.rng.getrandbits(256):064x}"

    def b64(self, text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    def metadata(self, ns: Namespace | None, name: str, labels: dict[str, str]) -> Obj:
        meta: Obj = {"name": name}
        if ns is not None:
            meta["namespace"] = ns.name
        if labels:
            meta["labels"] = labels
        if ns is not None and ns.dump_style:
            meta["uid"] = self.uid()
            meta["resourceVersion"] = str(self.rng.randrange(1000, 99_999_999))
            meta["creationTimestamp"] = self.timestamp()
        return meta

    def std_labels(self, ns: Namespace, app: str) -> dict[str, str]:
        labels = {
            "app.kubernetes.io/name": app,
            "app.kubernetes.io/instance": f"{app}-{ns.env}",
            "app.kubernetes.io/part-of": ns.team,
            "app.kubernetes.io/managed-by": self.rng.choice(["Helm", "kustomize", "argocd"]),
        }
        if self.rng.random() < 0.5:
            labels["app.kubernetes.io/version"] = f"{self.rng.randrange(1, 5)}.{self.rng.randrange(20)}.0"
        if self.rng.random() < 0.3:
            labels["helm.sh/chart"] = (
                f"{app}-{self.rng.randrange(0, 3)}.{self.rng.randrange(30)}.{self.rng.randrange(9)}"
            )
        return labels

    # ---- cluster-scoped and namespace plumbing -------------------------------------------

    def namespace_obj(self, ns: Namespace) -> Obj:
        labels = {"kubernetes.io/metadata.name": ns.name, "team": ns.team, "environment": ns.env}
        if self.rng.random() < 0.6:
            labels["pod-security.kubernetes.io/enforce"] = self.rng.choice(POD_SECURITY_LEVELS)
            labels["pod-security.kubernetes.io/enforce-version"] = "latest"
            if self.rng.random() < 0.5:
                labels["pod-security.kubernetes.io/warn"] = "restricted"
        obj: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": self.metadata(None, ns.name, labels)}
        obj["metadata"]["annotations"] = {
            "owner": f"team-{ns.team}@example.com",
            "argocd.argoproj.io/sync-wave": str(self.rng.randrange(-5, 1)),
        }
        if ns.dump_style:
            obj["metadata"]["uid"] = self.uid()
            obj["metadata"]["resourceVersion"] = str(self.rng.randrange(1000, 9_999_999))
            obj["metadata"]["creationTimestamp"] = self.timestamp()
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
        return obj

    def dockerconfig_secret(self, ns: Namespace, name: str) -> Obj:
        auths: dict[str, Obj] = {}
        for registry in self.rng.sample(PULL_REGISTRIES, self.rng.randrange(1, 4)):
            self.password_counter += 1
            password = f"bench-password-{self.password_counter}"
            entry: Obj = {}
            style = self.rng.random()
            if style < 0.5:
                entry = {"username": "bench", "password": password, "auth": self.b64(f"bench:{password}")}
            elif style < 0.8:
                entry = {"auth": self.b64(f"bench:{password}")}
            else:
                entry = {"username": "bench", "password": password, "email": "bench@example.com"}
            auths[registry] = entry
        payload = json.dumps({"auths": auths}, separators=(",", ":"), sort_keys=False)
        obj: Obj = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.metadata(ns, name, {"app.kubernetes.io/part-of": ns.team}),
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": self.b64(payload)},
        }
        if self.rng.random() < 0.3:
            obj["metadata"]["annotations"] = {
                "reflector.v1.k8s.emberstack.com/reflection-allowed": "true",
                "managed-by": "external-secrets",
            }
        return obj

    def opaque_secret(self, ns: Namespace, name: str) -> Obj:
        data = {}
        for key in self.rng.sample(
            ["DB_PASSWORD", "API_KEY", "token", "config.json", "REDIS_URL", "tls.key"], 3
        ):
            self.password_counter += 1
            data[key] = self.b64(f"bench-password-{self.password_counter}")
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.metadata(ns, name, {"app.kubernetes.io/part-of": ns.team}),
            "type": "Opaque",
            "data": data,
        }

    def service_account(self, ns: Namespace, name: str) -> Obj:
        obj: Obj = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": self.metadata(
                ns, name, {} if name == "default" else {"app.kubernetes.io/part-of": ns.team}
            ),
        }
        if name != "default" and self.rng.random() < 0.2:
            obj["metadata"]["annotations"] = {
                "eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{ns.name}-{name}"
            }
        roll = self.rng.random()
        if ns.pull_secrets and roll < 0.55:
            names = self.rng.sample(ns.pull_secrets, self.rng.randrange(1, len(ns.pull_secrets) + 1))
            if self.rng.random() < 0.1:
                names.append(f"{ns.team}-missing-pull-secret")
            obj["imagePullSecrets"] = [{"name": n} for n in names]
        if self.rng.random() < 0.2:
            obj["automountServiceAccountToken"] = False
        return obj

    def role(self, ns: Namespace, name: str, secrets: bool) -> Obj:
        rules: list[Obj] = []
        if secrets:
            rule: Obj = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}
            if self.rng.random() < 0.4:
                rule["verbs"].append("watch")
            if self.rng.random() < 0.3:
                rule["resourceNames"] = self.rng.sample(ns.pull_secrets or ["app-config"], 1)
            rules.append(rule)
        rules.append(
            {"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list", "watch"]}
        )
        if self.rng.random() < 0.4:
            rules.append({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]})
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": self.metadata(ns, name, {"app.kubernetes.io/part-of": ns.team}),
            "rules": rules,
        }

    def role_binding(self, ns: Namespace, name: str, role: str) -> Obj:
        subjects: list[Obj] = [
            {"kind": "ServiceAccount", "name": sa, "namespace": ns.name}
            for sa in self.rng.sample(
                ns.service_accounts, min(len(ns.service_accounts), self.rng.randrange(1, 3))
            )
        ]
        if self.rng.random() < 0.2:
            subjects.append(
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": f"team-{ns.team}"}
            )
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": self.metadata(ns, name, {"app.kubernetes.io/part-of": ns.team}),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": subjects,
        }

    def cluster_role(self, index: int) -> Obj:
        secrets = index % 2 == 0
        rules: list[Obj] = []
        if secrets:
            rules.append(
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "verbs": ["get", "list", "watch"][: self.rng.randrange(2, 4)],
                }
            )
        rules.append(
            {
                "apiGroups": [""],
                "resources": ["pods", "nodes", "namespaces"],
                "verbs": ["get", "list", "watch"],
            }
        )
        if self.rng.random() < 0.5:
            rules.append(
                {
                    "apiGroups": ["apps"],
                    "resources": ["deployments", "statefulsets", "daemonsets"],
                    "verbs": ["get", "list"],
                }
            )
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {
                "name": f"bench-{'secret-reader' if secrets else 'viewer'}-{index}",
                "labels": {"rbac.example.com/aggregate": "true"},
            },
            "rules": rules,
        }

    def cluster_role_binding(self, index: int, role: str, namespaces: list[Namespace]) -> Obj:
        subjects: list[Obj] = []
        for ns in self.rng.sample(namespaces, min(len(namespaces), self.rng.randrange(1, 4))):
            sa = self.rng.choice(ns.service_accounts) if ns.service_accounts else "default"
            subjects.append({"kind": "ServiceAccount", "name": sa, "namespace": ns.name})
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{role}-binding-{index}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects,
        }

    # ---- workloads ------------------------------------------------------------------------

    def image(self, ns: Namespace) -> str:
        rng = self.rng
        if rng.random() < 0.35:
            image = rng.choice(PUBLIC_IMAGES)
        else:
            image = rng.choice(PRIVATE_IMAGE_TEMPLATES).format(
                team=ns.team,
                app=rng.choice(APP_WORDS),
                major=rng.randrange(1, 4),
                minor=rng.randrange(30),
                patch=rng.randrange(50),
                build=rng.randrange(1000, 9999),
            )
        roll = rng.random()
        if roll < 0.1:  # tag and digest
            image = f"{image}@{self.digest()}"
        elif roll < 0.15:  # digest only
            slash, colon = image.rfind("/"), image.rfind(":")
            image = f"{image[:colon] if colon > slash else image}@{self.digest()}"
        return image

    def container(self, ns: Namespace, name: str, main: bool) -> Obj:
        rng = self.rng
        c: Obj = {"name": name, "image": self.image(ns)}
        if rng.random() < 0.5:
            c["imagePullPolicy"] = rng.choice(["IfNotPresent", "Always", "Never"])
        if rng.random() < 0.3:
            c["command"] = ["/bin/sh", "-c"]
            c["args"] = [f"exec /app/{name} --config /etc/{name}/config.yaml --log-level=info"]
        elif rng.random() < 0.4:
            c["args"] = [f"--port={8080 + rng.randrange(10)}", "--metrics-bind-address=:9090", "--v=2"]
        if main:
            c["ports"] = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
            if rng.random() < 0.5:
                c["ports"].append({"name": "metrics", "containerPort": 9090, "protocol": "TCP"})
        env: list[Obj] = [
            {"name": "LOG_LEVEL", "value": rng.choice(["info", "debug", "warn"])},
            {"name": "ENVIRONMENT", "value": ns.env},
        ]
        if rng.random() < 0.7:
            env.append({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
        if ns.opaque_secrets and rng.random() < 0.6:
            env.append(
                {
                    "name": "DB_PASSWORD",
                    "valueFrom": {
                        "secretKeyRef": {
                            "name": rng.choice(ns.opaque_secrets),
                            "key": "DB_PASSWORD",
                            "optional": rng.random() < 0.2,
                        }
                    },
                }
            )
        if rng.random() < 0.4:
            env.append(
                {
                    "name": "FEATURE_FLAGS",
                    "valueFrom": {"configMapKeyRef": {"name": f"{name}-config", "key": "flags"}},
                }
            )
        if rng.random() < 0.3:
            env.append({"name": "GOMAXPROCS", "value": "2"})
        c["env"] = env
        cpu = rng.choice([50, 100, 250, 500, 1000])
        mem = rng.choice([64, 128, 256, 512, 1024, 2048])
        c["resources"] = {
            "requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"},
            "limits": {"cpu": f"{cpu * 2}m", "memory": f"{mem * 2}Mi"},
        }
        if main and rng.random() < 0.8:
            c["livenessProbe"] = {
                "httpGet": {"path": "/healthz", "port": "http"},
                "initialDelaySeconds": rng.choice([5, 10, 15, 30]),
                "periodSeconds": 10,
                "timeoutSeconds": 2,
                "failureThreshold": 3,
            }
            c["readinessProbe"] = {
                "httpGet": {"path": "/ready", "port": "http"},
                "periodSeconds": 5,
            }
        c["volumeMounts"] = [{"name": "config", "mountPath": f"/etc/{name}", "readOnly": True}]
        if rng.random() < 0.5:
            c["volumeMounts"].append({"name": "tmp", "mountPath": "/tmp"})
        if rng.random() < 0.6:
            c["securityContext"] = {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
            }
        return c

    def pod_spec(self, ns: Namespace, app: str, kind: str) -> Obj:
        rng = self.rng
        n_containers = rng.choices([1, 2, 3], weights=[65, 28, 7])[0]
        names = [
            app,
            *rng.sample(["sidecar", "envoy", "log-shipper", "oauth-proxy", "metrics"], n_containers - 1),
        ]
        spec: Obj = {}
        roll = rng.random()
        if roll < 0.6 and ns.service_accounts:
            spec["serviceAccountName"] = rng.choice(ns.service_accounts)
        elif roll < 0.65:
            spec["serviceAccountName"] = f"{app}-missing-sa"
        if rng.random() < 0.3:
            spec["initContainers"] = [
                self.container(ns, "init-" + rng.choice(["migrate", "wait-for-db", "chown"]), False)
            ]
        spec["containers"] = [self.container(ns, n, i == 0) for i, n in enumerate(names)]
        roll = rng.random()
        if roll < 0.4 and ns.pull_secrets:
            spec["imagePullSecrets"] = [
                {"name": n} for n in rng.sample(ns.pull_secrets, rng.randrange(1, len(ns.pull_secrets) + 1))
            ]
        elif roll < 0.5:
            spec["imagePullSecrets"] = [{"name": f"{app}-registry-creds"}]  # missing
        if kind in ("Job", "CronJob"):
            spec["restartPolicy"] = rng.choice(["OnFailure", "Never"])
        if rng.random() < 0.3:
            spec["nodeSelector"] = {
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/pool": rng.choice(["general", "compute", "memory"]),
            }
        if kind == "DaemonSet" or rng.random() < 0.15:
            spec["tolerations"] = [
                {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}
            ]
        if rng.random() < 0.4:
            spec["securityContext"] = {
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        volumes: list[Obj] = [
            {"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}},
            {"name": "tmp", "emptyDir": {}},
        ]
        if ns.opaque_secrets and rng.random() < 0.3:
            volumes.append({"name": "credentials", "secret": {"secretName": rng.choice(ns.opaque_secrets)}})
        spec["volumes"] = volumes
        spec["terminationGracePeriodSeconds"] = rng.choice([10, 30, 60])
        return spec

    def workload(self, ns: Namespace, kind: str) -> Obj:
        rng = self.rng
        self.workload_counter += 1
        app = f"{rng.choice(APP_WORDS)}-{self.workload_counter}"
        labels = self.std_labels(ns, app)
        selector = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": f"{app}-{ns.env}"}
        meta = self.metadata(ns, app, labels)
        if rng.random() < 0.5:
            meta["annotations"] = {
                "deployment.kubernetes.io/revision": str(rng.randrange(1, 40)),
                "meta.helm.sh/release-name": app,
                "meta.helm.sh/release-namespace": ns.name,
            }
        template_meta: Obj = {"labels": dict(selector)}
        if rng.random() < 0.5:
            template_meta["annotations"] = {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9090",
                "checksum/config": f"{rng.getrandbits(256):064x}",
            }
        pod_spec = self.pod_spec(ns, app, kind)
        api = "v1" if kind == "Pod" else "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
        obj: Obj = {"apiVersion": api, "kind": kind, "metadata": meta}
        template = {"metadata": template_meta, "spec": pod_spec}
        if kind == "Pod":
            meta["labels"] = {**labels, **selector}
            obj["spec"] = pod_spec
            if ns.dump_style:
                obj["status"] = {
                    "phase": "Running",
                    "podIP": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                    "qosClass": "Burstable",
                    "startTime": self.timestamp(),
                }
        elif kind == "Job":
            obj["spec"] = {
                "backoffLimit": rng.choice([0, 3, 6]),
                "ttlSecondsAfterFinished": 3600,
                "template": template,
            }
        elif kind == "CronJob":
            obj["spec"] = {
                "schedule": f"{rng.randrange(60)} {rng.randrange(24)} * * *",
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "jobTemplate": {"spec": {"backoffLimit": 2, "template": template}},
            }
        else:
            spec: Obj = {}
            if kind != "DaemonSet":
                spec["replicas"] = rng.choice([1, 2, 3, 5])
            if kind == "StatefulSet":
                spec["serviceName"] = app
            spec["selector"] = {"matchLabels": selector}
            if kind == "Deployment":
                spec["strategy"] = {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
                }
                spec["revisionHistoryLimit"] = 10
            spec["template"] = template
            if kind == "StatefulSet":
                spec["volumeClaimTemplates"] = [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "10Gi"}},
                        },
                    }
                ]
            obj["spec"] = spec
            if ns.dump_style and kind in ("Deployment", "ReplicaSet", "StatefulSet"):
                replicas = spec.get("replicas", 1)
                obj["status"] = {
                    "observedGeneration": rng.randrange(1, 30),
                    "replicas": replicas,
                    "readyReplicas": replicas,
                    "availableReplicas": replicas,
                }
        return obj

    # ---- plan and write -------------------------------------------------------------------

    def build(self) -> Iterator[tuple[str, str]]:
        """Yield (relative path, file text), in a fixed order."""
        rng = self.rng
        n = self.documents
        n_ns = max(1, round(n / (SMALL_DOCS_PER_NAMESPACE if self.small else DOCS_PER_NAMESPACE)))
        namespaces: list[Namespace] = []
        for i in range(n_ns):
            team = TEAMS[i % len(TEAMS)]
            env = ENVS[(i // len(TEAMS)) % len(ENVS)]
            suffix = i // (len(TEAMS) * len(ENVS))
            name = f"{team}-{env}" + (f"-{suffix}" if suffix else "")
            namespaces.append(
                Namespace(
                    i,
                    name,
                    team,
                    env,
                    dump_style=rng.random() < 0.3,
                    make_yaml_list=i % NAMESPACES_PER_YAML_LIST == 0,
                )
            )

        # Document budget: cluster RBAC first, the rest spread over namespaces (20 +- 6 each).
        n_cluster = min(2 * max(1, n_ns // 10), n // 10)
        remaining = n - n_cluster
        weights = [rng.uniform(0.7, 1.3) for _ in namespaces]
        total_w = sum(weights)
        budgets = [int(remaining * w / total_w) for w in weights]
        for i in range(remaining - sum(budgets)):
            budgets[i % n_ns] += 1

        kinds_cycle = iter(WORKLOAD_KINDS)  # the first workloads cover every kind

        def workload_kind() -> str:
            kind = next(kinds_cycle, None)
            return kind if kind is not None else rng.choices(WORKLOAD_KINDS, weights=WORKLOAD_WEIGHTS)[0]

        json_files: list[tuple[str, str]] = []
        for ns, budget in zip(namespaces, budgets, strict=True):
            ns.pull_secrets = [
                f"{ns.team}-{r}"
                for r in rng.sample(
                    ["regcred", "ecr-pull", "acr-pull", "corp-registry", "dockerhub"], rng.randrange(1, 4)
                )
            ]
            ns.opaque_secrets = [
                f"{ns.team}-{s}"
                for s in rng.sample(["db", "api-keys", "tls", "app-config"], rng.randrange(0, 3))
            ]
            ns.service_accounts = [f"{ns.team}-{w}" for w in rng.sample(APP_WORDS, rng.randrange(1, 3))]
            if rng.random() < 0.5:
                ns.service_accounts.append("default")
            docs: list[Obj] = []
            # Wishlist in priority order; truncated to the budget, padded with workloads.
            planned: list[tuple[str, Any]] = [("ns", None)]
            planned += [("pull", s) for s in ns.pull_secrets]
            planned += [("opaque", s) for s in ns.opaque_secrets]
            planned += [("sa", s) for s in ns.service_accounts]
            if rng.random() < 0.7:
                grant = rng.random() < 0.5
                planned += [("role", grant), ("rolebinding", None)]
            if ns.make_yaml_list:
                planned.append(("list", None))
            for what, arg in planned[:budget]:
                if what == "ns":
                    docs.append(self.namespace_obj(ns))
                elif what == "pull":
                    docs.append(self.dockerconfig_secret(ns, arg))
                elif what == "opaque":
                    docs.append(self.opaque_secret(ns, arg))
                elif what == "sa":
                    docs.append(self.service_account(ns, arg))
                elif what == "role":
                    docs.append(self.role(ns, f"{ns.team}-{'secret-reader' if arg else 'reader'}", arg))
                elif what == "rolebinding":
                    docs.append(
                        self.role_binding(ns, f"{ns.team}-reader-binding", docs[-1]["metadata"]["name"])
                    )
                elif what == "list":
                    items = [self.workload(ns, workload_kind()) for _ in range(rng.randrange(3, 7))]
                    docs.append(
                        {
                            "apiVersion": "v1",
                            "kind": "List",
                            "metadata": {"resourceVersion": ""},
                            "items": items,
                        }
                    )
            while len(docs) < budget:
                docs.append(self.workload(ns, workload_kind()))
            if self.small:
                docs = [slim(doc) for doc in docs]

            # About 5% of documents go to JSON files (a JSON List is one document).
            yaml_docs: list[Obj] = []
            for doc in docs:
                if doc["kind"] != "List" and rng.random() < JSON_SHARE:
                    if rng.random() < 0.3:
                        extra = [self.workload(ns, workload_kind()) for _ in range(rng.randrange(1, 4))]
                        if self.small:
                            extra = [slim(item) for item in extra]
                        body: Obj = {
                            "apiVersion": "v1",
                            "kind": "List",
                            "metadata": {"resourceVersion": ""},
                            "items": [doc, *extra],
                        }
                    else:
                        body = doc
                    name = f"{doc['kind'].lower()}-{doc['metadata']['name']}.json"
                    json_files.append(
                        (f"namespaces/{ns.name}/json/{name}", json.dumps(body, indent=2) + "\n")
                    )
                else:
                    yaml_docs.append(doc)
            yield from json_files
            json_files.clear()
            yield from self.yaml_files(ns, yaml_docs)

        if n_cluster:
            cluster_docs: list[Obj] = []
            for i in range(n_cluster):
                if i % 2 == 0:
                    cluster_docs.append(self.cluster_role(i // 2))
                else:
                    role = cluster_docs[-1]["metadata"]["name"]
                    cluster_docs.append(self.cluster_role_binding(i // 2, role, namespaces))
            yield ("cluster/rbac.yaml", self.multi_doc(cluster_docs, "cluster/rbac.yaml"))

    def multi_doc(self, docs: list[Obj], path: str) -> str:
        rng = self.rng
        parts: list[str] = []
        style = rng.random()
        for i, doc in enumerate(docs):
            body = to_yaml(doc)
            if style < 0.3:  # helm template output
                parts.append(f"---\n# Source: {path.split('/')[-1]}\n{body}")
            elif i == 0 and style < 0.6:
                parts.append(body)
            else:
                parts.append("---\n" + body)
        return "".join(parts)

    def yaml_files(self, ns: Namespace, docs: list[Obj]) -> Iterator[tuple[str, str]]:
        base = f"namespaces/{ns.name}"
        lists = [d for d in docs if d["kind"] == "List"]
        others = [d for d in docs if d["kind"] != "List"]
        for i, doc in enumerate(lists):
            yield (f"{base}/list-{i}.yaml", to_yaml(doc))
        if not others:
            return
        k = min(self.files_per_namespace, len(others))
        size, extra = divmod(len(others), k)
        start = 0
        for i in range(k):
            chunk = others[start : start + size + (1 if i < extra else 0)]
            start += len(chunk)
            group = chunk[0]["kind"].lower()
            ext = "yml" if self.rng.random() < 0.05 else "yaml"
            path = f"{base}/{i:02d}-{group}.{ext}"
            yield (path, self.multi_doc(chunk, path))


def generate(
    outdir: Path, documents: int, seed: int = 1, files_per_namespace: int = 4, shape: str = "large"
) -> tuple[int, int, int]:
    """Write the corpus into outdir (created; must be empty or absent). Returns (documents, files, bytes)."""
    gen = Generator(documents, seed, files_per_namespace, shape)
    outdir.mkdir(parents=True, exist_ok=True)
    marker = {
        "generator_version": GENERATOR_VERSION,
        "documents": documents,
        "seed": seed,
        "files_per_namespace": files_per_namespace,
    }
    if shape != "large":  # the marker of a default corpus stays as it was
        marker["shape"] = shape
    (outdir / MARKER_NAME).write_text(json.dumps(marker, sort_keys=True) + "\n")
    files = 0
    size = 0
    made_dirs: set[Path] = set()
    for rel, text in gen.build():
        path = outdir / rel
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        data = text.encode("utf-8")
        with open(path, "xb") as fh:  # "x": a name clash would be a generator bug
            fh.write(data)
        files += 1
        size += len(data)
    return documents, files, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("outdir", type=Path)
    parser.add_argument(
        "--documents", "-n", type=int, required=True, help="exact number of documents to write"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--files-per-namespace",
        type=int,
        default=4,
        help="multi-document YAML files per namespace (plus JSON and List files)",
    )
    parser.add_argument(
        "--shape",
        choices=SHAPES,
        default="large",
        help="large: objects as `kubectl get -o yaml` writes them (default); small: 10 documents per "
        "namespace with fewer lines per object",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace OUTDIR if it holds a corpus made by this generator"
    )
    args = parser.parse_args(argv)
    outdir: Path = args.outdir
    if outdir.exists() and any(outdir.iterdir()):
        if not args.force:
            print(
                f"error: {outdir} exists and is not empty (use --force to replace a generated corpus)",
                file=sys.stderr,
            )
            return 2
        if not (outdir / MARKER_NAME).is_file():
            print(f"error: refusing to delete {outdir}: it has no {MARKER_NAME} marker", file=sys.stderr)
            return 2
        shutil.rmtree(outdir)
    if args.documents < 1 or args.files_per_namespace < 1:
        print("error: --documents and --files-per-namespace must be at least 1", file=sys.stderr)
        return 2
    start = time.perf_counter()
    documents, files, size = generate(outdir, args.documents, args.seed, args.files_per_namespace, args.shape)
    elapsed = time.perf_counter() - start
    print(
        f"wrote {documents} documents in {files} files, {size} bytes ({size / 1e6:.1f} MB) "
        f"to {os.fspath(outdir)} in {elapsed:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
