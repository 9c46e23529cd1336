"""PolicyReports: one per namespace and one for the cluster, server-side applied, only when the CRD is installed.

`wgpolicyk8s.io/v1alpha2` PolicyReport by default (what policy-reporter, Open Cluster
Management and Rancher read), `openreports.io/v1alpha1` Report with `--policy-reports
openreports` (the same shape plus a top-level `source`). Fields follow the CRDs
(kyverno `config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml`, openreports
`reports-api` `report_types.go`): per result `source: pullguard`, `policy` = the check id,
`rule`, `category`, `severity`, `result`, `message`, `resources`, `properties` (image,
registry, container, secret, coverage source, fingerprint), `timestamp`, `scored`; never a
credential. Results about cluster-scoped objects (Namespaces: PG016; a credential provider
configuration or KubeletConfiguration: PG018, PG019, PG026; ClusterRoles) go into one
ClusterPolicyReport (`openreports.io`: ClusterReport) `pullguard`, written only when that
kind's own CRD is installed. The whole `results` list is applied by one field manager, so results that
no longer hold are gone with the next apply. Writes are bounded: only namespaces whose
content changed, at most `max_results` results per report, at most `rate` writes a second.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pullguard.checks import REGISTRY, Finding, Severity
from pullguard.errors import ClusterError

if TYPE_CHECKING:
    from pullguard.serve.judge import Snapshot
    from pullguard.serve.kube import KubeClient

log = logging.getLogger("pullguard.serve.policyreport")

FIELD_MANAGER = "pullguard"
REPORT_NAME = "pullguard"
CATEGORY = "Image Pull Credentials"
APPLY = "application/apply-patch+yaml"
CLUSTER = "\x00cluster"  # the pending/written key of the cluster report (no namespace is named so)


@dataclass(frozen=True, slots=True)
class Flavor:
    group_version: str
    kind: str
    plural: str
    top_level_source: bool
    cluster_kind: str
    cluster_plural: str

    def path(self, namespace: str | None, name: str = REPORT_NAME) -> str:
        if namespace is None:
            return f"/apis/{self.group_version}/{self.cluster_plural}/{name}"
        return f"/apis/{self.group_version}/namespaces/{namespace}/{self.plural}/{name}"


FLAVORS = {
    "wgpolicyk8s": Flavor(
        "wgpolicyk8s.io/v1alpha2",
        "PolicyReport",
        "policyreports",
        False,
        "ClusterPolicyReport",
        "clusterpolicyreports",
    ),
    "openreports": Flavor(
        "openreports.io/v1alpha1", "Report", "reports", True, "ClusterReport", "clusterreports"
    ),
}


def detect(client: KubeClient, mode: str) -> str:
    """The flavor to write: `auto` means wgpolicyk8s when its API is served; a flavor whose CRD is not
    installed is turned off (logged), as is `off`."""
    wanted = "wgpolicyk8s" if mode == "auto" else mode
    if wanted not in FLAVORS:
        return "off"
    flavor = FLAVORS[wanted]
    try:
        status, document = client.request("GET", f"/apis/{flavor.group_version}", allow=(404,))
    except ClusterError as error:
        log.warning(
            "cannot tell whether PolicyReports are served; not writing them", extra={"error": str(error)}
        )
        return "off"
    served = status == 200 and flavor.plural in _served(document)
    if not served:
        log.info(
            "the PolicyReport CRD is not installed; not writing reports",
            extra={"api": flavor.group_version, "kind": flavor.kind},
        )
        return "off"
    return wanted


def _served(document: dict[str, Any]) -> set[str]:
    return {str(r.get("name")) for r in document.get("resources") or () if isinstance(r, dict)}


def cluster_report_served(client: KubeClient, flavor: str) -> bool:
    """Whether the cluster-scoped kind of `flavor` is served: its CRD is installed on its own
    (clusterpolicyreports.wgpolicyk8s.io, clusterreports.openreports.io)."""
    if flavor not in FLAVORS:
        return False
    chosen = FLAVORS[flavor]
    try:
        status, document = client.request("GET", f"/apis/{chosen.group_version}", allow=(404,))
    except ClusterError as error:
        log.warning("cannot tell whether cluster reports are served", extra={"error": str(error)})
        return False
    served = status == 200 and chosen.cluster_plural in _served(document)
    if not served:
        log.info(
            "the cluster report CRD is not installed; not writing it",
            extra={"api": chosen.group_version, "kind": chosen.cluster_kind},
        )
    return served


def report(
    flavor: Flavor,
    namespace: str | None,
    findings: Iterable[Finding],
    fingerprints: dict[tuple[str, str], str],
    now: float,
    max_results: int = 1000,
) -> dict[str, Any]:
    """The report of one namespace, as applied."""
    results = [_result(f, fingerprints, now) for f in findings]
    results.sort(
        key=lambda r: (r["policy"], r["resources"][0]["kind"], r["resources"][0]["name"], r["message"])
    )
    summary = {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0}
    for result in results:
        summary[result["result"]] += 1
    metadata: dict[str, Any] = {"name": REPORT_NAME, "labels": {"app.kubernetes.io/managed-by": "pullguard"}}
    if namespace is not None:
        metadata["namespace"] = namespace
    body: dict[str, Any] = {
        "apiVersion": flavor.group_version,
        "kind": flavor.cluster_kind if namespace is None else flavor.kind,
        "metadata": metadata,
        "summary": summary,
        "results": results[:max_results],
    }
    if flavor.top_level_source:
        body["source"] = "pullguard"
    if len(results) > max_results:
        body["metadata"]["annotations"] = {
            "pullguard.io/results-truncated": f"{len(results)} results, {max_results} kept"
        }
    return body


def _result(finding: Finding, fingerprints: dict[tuple[str, str], str], now: float) -> dict[str, Any]:
    check = REGISTRY.get(finding.check_id)
    ref = finding.object
    resource: dict[str, Any] = {"apiVersion": _api_version(ref.kind), "kind": ref.kind, "name": ref.name}
    if ref.namespace:
        resource["namespace"] = ref.namespace
    properties: dict[str, str] = {}
    if finding.image:
        properties["image"] = finding.image
        properties["registry"] = _registry(finding.image)
    if finding.container:
        properties["container"] = finding.container
    if ref.kind == "Secret":
        properties["secret"] = f"{ref.namespace}/{ref.name}"
        fingerprint = fingerprints.get((ref.namespace or "", ref.name))
        if fingerprint:
            properties["fingerprint"] = fingerprint
    return {
        "source": "pullguard",
        "policy": finding.check_id,
        "rule": check.info.title if check else finding.check_id,
        "category": CATEGORY,
        "severity": finding.severity.value,  # the enum is the same: critical, high, medium, low, info
        "result": "warn" if finding.severity in (Severity.INFO, Severity.LOW) else "fail",
        "scored": True,
        "message": finding.message[:1000],
        "resources": [resource],
        "properties": properties,
        "timestamp": {"seconds": int(now), "nanos": 0},
    }


_GROUPS = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "CredentialProviderConfig": "kubelet.config.k8s.io/v1",
    "KubeletConfiguration": "kubelet.config.k8s.io/v1beta1",
}


def _api_version(kind: str) -> str:
    return _GROUPS.get(kind, "v1")


def _registry(image: str) -> str:
    from pullguard.semantics.imageref import parse_image

    try:
        return parse_image(image).domain or "docker.io"
    except Exception:
        return ""


def _digest(body: dict[str, Any]) -> str:
    """The content without timestamps: an unchanged namespace is not written again."""
    stripped = {
        **body,
        "results": [{k: v for k, v in r.items() if k != "timestamp"} for r in body["results"]],
    }
    return hashlib.sha256(json.dumps(stripped, sort_keys=True).encode()).hexdigest()


class Reporter:
    """Applies the reports of namespaces whose results changed, on its own thread."""

    def __init__(
        self,
        client: KubeClient,
        flavor: str,
        rate: float = 20.0,
        max_results: int = 1000,
        cluster: bool = False,
    ) -> None:
        self.client = client
        self.flavor = FLAVORS[flavor]
        self.cluster = cluster  # also the one cluster report (its CRD is installed)
        self.rate = rate
        self.max_results = max_results
        self.written: dict[str, str] = {}  # namespace -> digest of the last applied report
        self.writes = 0
        self.failures = 0
        self._pending: set[str] = set()
        self._snapshot: Snapshot | None = None
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self.leader: threading.Event | None = None  # with leader election: write only while set

    def leading(self, leader: bool) -> None:
        """Leadership changed: a new leader writes every namespace once (another may have written them)."""
        with self._wake:
            self.written.clear()
            if leader and self._snapshot is not None:
                self._pending |= set(self._snapshot.views) | {CLUSTER}
            self._wake.notify()

    def changed(self, snapshot: Snapshot, namespaces: set[str]) -> None:
        """Judge listener: these namespaces were judged again (reuse findings may move others)."""
        with self._wake:
            self._snapshot = snapshot
            self._pending |= namespaces
            self._pending |= {f.object.namespace for f in snapshot.reuse if f.object.namespace}
            self._pending |= {n for n in self.written if n not in snapshot.views and n != CLUSTER}
            if self.cluster:
                self._pending.add(CLUSTER)  # its digest skips an unchanged one
            self._wake.notify()

    def start(self, stop: threading.Event) -> None:
        self._thread = threading.Thread(target=self._run, args=(stop,), name="policyreports", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._wake:
                if not self._pending:
                    self._wake.wait(0.5)
                pending, self._pending = sorted(self._pending), set()
                snapshot = self._snapshot
            if snapshot is None:
                continue
            if self.leader is not None and not self.leader.is_set():
                continue  # not the leader: nothing is written (leading() re-queues all on election)
            for namespace in pending:
                if stop.is_set():
                    return
                if self.write(snapshot, namespace):
                    stop.wait(1 / self.rate)

    def write(self, snapshot: Snapshot, namespace: str) -> bool:
        """Apply one namespace's report (or the cluster report, `CLUSTER`) when its content changed;
        True when a request was made. Findings about a Namespace object go to the cluster report, as
        Kyverno files results about cluster-scoped resources."""
        fingerprints = {(p.namespace, p.secret): p.fingerprint for p in snapshot.fingerprints}
        if namespace == CLUSTER:
            scope: str | None = None
            findings = snapshot.cluster_scoped()
        else:
            view = snapshot.views.get(namespace)
            if view is None:
                self.written.pop(namespace, None)  # the namespace is gone, and its report with it
                return False
            scope = namespace
            findings = [
                # a Namespace's own findings: in the cluster report when there is one
                *(f for f in view.findings if f.object.namespace or not self.cluster),
                *(f for f in snapshot.reuse if f.object.namespace == namespace),
            ]
        body = report(self.flavor, scope, findings, fingerprints, time.time(), self.max_results)
        digest = _digest(body)
        if self.written.get(namespace) == digest:
            return False
        try:
            self.client.request(
                "PATCH",
                self.flavor.path(scope),
                [("fieldManager", FIELD_MANAGER), ("force", "true")],
                body=json.dumps(body),
                content_type=APPLY,
            )
        except ClusterError as error:
            self.failures += 1
            log.warning(
                "cannot write the PolicyReport",
                extra={"namespace": scope or "(cluster)", "error": str(error)},
            )
            return True
        self.written[namespace] = digest
        self.writes += 1
        return True
