"""The watched objects, compact, by namespace; which namespaces changed since they were judged.

Objects are kept as compact JSON of what the analysis reads: `status` (but a
pod's container image IDs and a Node's kubeletVersion), `managedFields`, kubectl's last-applied annotation (a copy of the object, and of a
Secret's data) and container fields that have nothing to do with images or secrets
are dropped on arrival. A pod costs a few hundred bytes, so 100,000 pods fit in
tens of megabytes; objects are decoded again only when their namespace is judged.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from pullguard.sources.cluster import LAST_APPLIED

CLUSTER_TAGS = frozenset({"nodes", "clusterroles", "clusterrolebindings", "namespaces"})
_CONTAINER_KEYS = ("name", "image", "imagePullPolicy", "env", "envFrom")
_POD_SPEC_KEYS = (
    "serviceAccountName",
    "serviceAccount",
    "imagePullSecrets",
    "automountServiceAccountToken",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "volumes",
)


class Store:
    """Thread-safe; informers write, the judge reads namespaces and takes the dirty set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)
        self._namespaced: dict[str, dict[tuple[str, str], bytes]] = {}
        self._cluster: dict[tuple[str, str], bytes] = {}
        self._dirty: dict[str, float] = {}  # namespace -> monotonic time of its first unjudged change
        self._all_dirty: float | None = None
        self.secrets_changed = False
        self.events = 0

    def handler(self, tag: str) -> Callable[[str, dict[str, Any]], None]:
        def handle(event_type: str, obj: dict[str, Any]) -> None:
            self.apply(tag, event_type, obj)

        return handle

    def apply(self, tag: str, event_type: str, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        namespace = meta.get("namespace")
        now = time.monotonic()
        compact = (
            None if event_type == "DELETED" else json.dumps(slim(tag, obj), separators=(",", ":")).encode()
        )
        with self.changed:
            self.events += 1
            where = (
                self._cluster
                if tag in CLUSTER_TAGS
                else self._namespaced.get(str(namespace or "default"), {})
            )
            if compact is not None and where.get((tag, name)) == compact:
                return  # nothing the analysis reads changed (a Node's status heartbeat): nothing to judge
            if tag in CLUSTER_TAGS:
                self._put(self._cluster, (tag, name), compact)
                if tag == "namespaces":
                    self._dirty.setdefault(name, now)
                    if event_type == "DELETED":
                        self._namespaced.pop(name, None)
                elif self._all_dirty is None:
                    self._all_dirty = now
            else:
                namespace = str(namespace or "default")
                self._put(self._namespaced.setdefault(namespace, {}), (tag, name), compact)
                self._dirty.setdefault(namespace, now)
                if tag == "secrets":
                    self.secrets_changed = True
            self.changed.notify_all()

    @staticmethod
    def _put(where: dict[tuple[str, str], bytes], key: tuple[str, str], compact: bytes | None) -> None:
        if compact is None:
            where.pop(key, None)
        else:
            where[key] = compact

    def mark_all_dirty(self) -> None:
        """Resync: judge every namespace again (clock-dependent checks, such as credential age)."""
        with self.changed:
            self._all_dirty = self._all_dirty or time.monotonic()
            self.secrets_changed = True
            self.changed.notify_all()

    def take_dirty(self, timeout: float) -> tuple[dict[str, float], bool]:
        """Wait up to `timeout` for changes; the namespaces to judge with their first change time."""
        with self.changed:
            if not self._dirty and self._all_dirty is None:
                self.changed.wait(timeout)
            dirty = self._dirty
            if self._all_dirty is not None:
                for namespace in self._all_namespaces():
                    dirty.setdefault(namespace, self._all_dirty)
            secrets = self.secrets_changed
            self._dirty, self._all_dirty, self.secrets_changed = {}, None, False
            return dirty, secrets

    def _all_namespaces(self) -> set[str]:
        names = set(self._namespaced)
        names.update(name for tag, name in self._cluster if tag == "namespaces")
        return names

    def namespaces(self) -> set[str]:
        with self._lock:
            return self._all_namespaces()

    def namespace_objects(
        self, namespace: str, tags: frozenset[str] | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            items = list(self._namespaced.get(namespace, {}).items())
        return [(tag, json.loads(data)) for (tag, _), data in items if tags is None or tag in tags]

    def get(self, tag: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        with self._lock:
            where = self._cluster if namespace is None else self._namespaced.get(namespace, {})
            data = where.get((tag, name))
        return None if data is None else dict(json.loads(data))

    def cluster_objects(self, tags: frozenset[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            items = list(self._cluster.items())
        return [(tag, json.loads(data)) for (tag, _), data in items if tags is None or tag in tags]

    def raw_of(self, tag: str) -> list[tuple[str, str, bytes]]:
        """(namespace, name, compact JSON) of every namespaced object of `tag`: cheap to compare with a cache."""
        with self._lock:
            return [
                (namespace, name, data)
                for namespace, objects in self._namespaced.items()
                for (t, name), data in objects.items()
                if t == tag
            ]

    def all_of(self, tag: str) -> list[dict[str, Any]]:
        with self._lock:
            found = [
                data for objects in self._namespaced.values() for (t, _), data in objects.items() if t == tag
            ]
        return [json.loads(data) for data in found]

    def sizes(self) -> tuple[int, int]:
        """(objects, bytes) held."""
        with self._lock:
            objects = sum(len(o) for o in self._namespaced.values()) + len(self._cluster)
            size = sum(len(d) for o in self._namespaced.values() for d in o.values()) + sum(
                len(d) for d in self._cluster.values()
            )
        return objects, size


def slim(tag: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the analysis reads of an object; see the module docstring."""
    if tag == "nodes":
        return _slim_node(obj)
    body = {k: v for k, v in obj.items() if k not in ("status", "kind", "apiVersion")}
    meta = dict(body.get("metadata") or {})
    for key in ("managedFields", "uid", "generation", "selfLink"):
        meta.pop(key, None)
    if tag == "secrets" and "managedFields" in (obj.get("metadata") or {}):
        # the credential's age (PG005) reads the latest time a manager wrote the data
        meta["managedFields"] = [
            {k: entry.get(k) for k in ("manager", "operation", "time", "fieldsV1")}
            for entry in (obj.get("metadata") or {}).get("managedFields") or ()
            if isinstance(entry, Mapping)
        ]
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping):
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    if tag in ("pods",):
        labels = meta.get("labels")
        if isinstance(labels, Mapping):
            meta["labels"] = {k: v for k, v in labels.items() if k == "pod-template-hash"}
    body["metadata"] = meta
    spec = body.get("spec")
    if tag == "pods" and isinstance(spec, Mapping):
        body["spec"] = _slim_pod_spec(spec)
        if isinstance(spec.get("nodeName"), str):
            body["spec"]["nodeName"] = spec["nodeName"]
        status = _slim_pod_status(obj.get("status"))
        if status:
            body["status"] = status
    elif isinstance(spec, Mapping) and tag in (
        "deployments",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
    ):
        body["spec"] = _slim_workload_spec(tag, spec)
    return body


def _slim_node(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A Node's name, labels (the platform) and kubeletVersion (the kubelet's feature defaults, PG024 and
    PG025): not its resourceVersion, conditions or image list, which change with every status report."""
    meta = obj.get("metadata") or {}
    body: dict[str, Any] = {"metadata": {k: meta[k] for k in ("name", "labels") if k in meta}}
    status = obj.get("status")
    info = status.get("nodeInfo") if isinstance(status, Mapping) else None
    if isinstance(info, Mapping) and "kubeletVersion" in info:
        body["status"] = {"nodeInfo": {"kubeletVersion": info["kubeletVersion"]}}
    return body


def _slim_pod_status(status: Any) -> dict[str, Any]:
    """Per container: its name, imageID (the image is on the node) and whether it runs (PG025)."""
    if not isinstance(status, Mapping):
        return {}
    out: dict[str, Any] = {}
    for field in ("containerStatuses", "initContainerStatuses"):
        items = status.get(field)
        if not isinstance(items, list):
            continue
        kept = []
        for item in items:
            if not isinstance(item, Mapping) or not item.get("imageID"):
                continue
            entry: dict[str, Any] = {"name": item.get("name"), "imageID": item["imageID"]}
            state = item.get("state")
            if isinstance(state, Mapping) and "running" in state:
                entry["state"] = {"running": {}}
            kept.append(entry)
        if kept:
            out[field] = kept
    return out


def _slim_pod_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: spec[k] for k in _POD_SPEC_KEYS if k in spec}
    for field in ("containers", "initContainers", "ephemeralContainers"):
        containers = out.get(field)
        if isinstance(containers, list):
            out[field] = [
                {k: c[k] for k in _CONTAINER_KEYS if k in c} if isinstance(c, Mapping) else c
                for c in containers
            ]
    volumes = out.get("volumes")
    if isinstance(volumes, list):
        out["volumes"] = [
            v
            for v in volumes
            if not isinstance(v, Mapping) or any(k in v for k in ("secret", "projected", "image"))
        ]
    return out


def _slim_workload_spec(tag: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    if tag == "cronjobs":
        job = spec.get("jobTemplate")
        if isinstance(job, Mapping) and isinstance(job.get("spec"), Mapping):
            return {"jobTemplate": {**job, "spec": _slim_workload_spec("jobs", job["spec"])}}
        return dict(spec)
    template = spec.get("template")
    if isinstance(template, Mapping) and isinstance(template.get("spec"), Mapping):
        return {
            "template": {"metadata": template.get("metadata") or {}, "spec": _slim_pod_spec(template["spec"])}
        }
    return dict(spec)
