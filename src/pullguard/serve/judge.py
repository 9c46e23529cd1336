"""Incremental judging: a namespace is judged again only when something in it (or cluster-wide) changed.

Each namespace is judged with the same analysis as `scan --cluster`
(`pullguard.scan.analyse` over the live inventory): its secrets, ServiceAccounts,
workloads, pods, Roles and RoleBindings, plus what every namespace sees (its
Namespace object, nodes, ClusterRoles, ClusterRoleBindings). A change to a
cluster-scoped object judges every namespace again. The one check that compares
namespaces (PG007, one credential in several namespaces) runs over all pull secrets
whenever a pull secret changed. What is kept per namespace is small: findings,
image counts by coverage, and per pull secret its age, expiry and fingerprints.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pullguard.checks import REGISTRY, Finding
from pullguard.errors import ClusterError
from pullguard.inventory.age import credential_age
from pullguard.inventory.evidence import collect as collect_evidence
from pullguard.inventory.fingerprint import credential_fingerprint
from pullguard.inventory.live import LiveInventoryBuilder, detect_platform
from pullguard.inventory.model import Inventory, PodTemplate, Secret, SecretOrigin
from pullguard.inventory.resolve import Coverage, ImageJudgement
from pullguard.pipeline import analyse
from pullguard.result import ScanResult
from pullguard.semantics.evidence import SecretEvidence
from pullguard.semantics.issued_tokens import registry_issued
from pullguard.semantics.keyring import parse_registry_key
from pullguard.semantics.registries import Visibility
from pullguard.serve.kube import KubeClient
from pullguard.serve.store import Store
from pullguard.settings import ScanOptions, fingerprint_key
from pullguard.sources.cluster import (
    NAMESPACES,
    NODES,
    PODS,
    RBAC,
    SECRETS,
    SERVICE_ACCOUNTS,
    WORKLOADS,
    Resource,
)
from pullguard.sources.model import Location, Manifest

log = logging.getLogger("pullguard.serve.judge")

REUSE = "PG007"
FULL_JUDGEMENT = 50  # this many changed namespaces (or half of all): one analysis of the whole cluster
BY_TAG: dict[str, Resource] = {
    "namespaces": NAMESPACES,
    "nodes": NODES,
    "secrets": SECRETS,
    "secretmeta": SECRETS,
    "serviceaccounts": SERVICE_ACCOUNTS,
    "pods": PODS,
    **{r.plural: r for r in WORKLOADS},
    **{r.plural: r for r in RBAC},
}
# the order the cluster source reads in: owners before the pods they own
NAMESPACED_ORDER = (
    "secrets",
    "serviceaccounts",
    "deployments",
    "statefulsets",
    "daemonsets",
    "cronjobs",
    "jobs",
    "pods",
    "roles",
    "rolebindings",
)
CLUSTER_ORDER = ("clusterroles", "clusterrolebindings")
COVERAGE_LABEL = {
    Coverage.POD: "pod_secret",
    Coverage.SERVICE_ACCOUNT: "sa_secret",
    Coverage.NODE: "node",
    Coverage.NONE: "none",
    Coverage.BROKEN: "broken",
    Coverage.UNVERIFIABLE: "unknown",
}


@dataclass(frozen=True, slots=True)
class PullSecretView:
    namespace: str
    name: str
    registries: tuple[str, ...]
    written_at: float | None  # unix seconds the credential was last written, when known
    expires_at: float | None  # unix seconds a registry-issued token in it expires, when known


@dataclass(frozen=True, slots=True)
class Fingerprint:
    namespace: str
    secret: str
    registry: str
    fingerprint: str


@dataclass(slots=True)
class NamespaceView:
    """What is kept of one namespace's judgement."""

    namespace: str
    findings: tuple[Finding, ...]
    images: Counter[tuple[str, str, str]]  # (registry, visibility, coverage) -> images
    private: int
    covered: int
    unverifiable: int
    pull_secrets: tuple[PullSecretView, ...]
    judged_at: float
    # findings about cluster-scoped objects (a credential provider configuration, a ClusterRole) of the
    # analysis that judged this namespace; one tuple shared by every view of one analysis
    cluster_findings: tuple[Finding, ...] = ()


@dataclass(slots=True)
class Snapshot:
    views: dict[str, NamespaceView] = field(default_factory=dict)
    reuse: tuple[Finding, ...] = ()
    fingerprints: tuple[Fingerprint, ...] = ()
    fingerprints_keyed: bool = False
    last_duration: float = 0.0
    last_timestamp: float = 0.0
    judged_namespaces: int = 0
    generation: int = 0
    cluster: tuple[Finding, ...] = ()  # about cluster-scoped objects other than Namespaces (namespace "")

    def findings(self) -> Iterator[Finding]:
        for view in self.views.values():
            yield from view.findings
        yield from self.reuse
        yield from self.cluster

    def findings_by_namespace(self) -> Iterator[tuple[str, Finding]]:
        """Each finding with the namespace it was judged in (a Namespace object's findings belong to it;
        those about other cluster-scoped objects to "")."""
        for namespace, view in self.views.items():
            for finding in view.findings:
                yield namespace, finding
        for finding in self.reuse:
            yield finding.object.namespace or "", finding
        for finding in self.cluster:
            yield "", finding

    def cluster_scoped(self) -> list[Finding]:
        """The findings about cluster-scoped objects: Namespaces (PG016) and the others."""
        namespaces = [f for view in self.views.values() for f in view.findings if not f.object.namespace]
        return [*namespaces, *self.cluster]


def cluster_findings(views: Mapping[str, NamespaceView]) -> tuple[Finding, ...]:
    """The cluster-scoped findings of the current views, once each: every namespace's analysis sees the
    same cluster objects and kubelet configuration, so they repeat; the first namespace's is kept."""
    found: dict[tuple[str, Any, str, int], Finding] = {}
    seen: set[int] = set()
    for namespace in sorted(views):
        shared = views[namespace].cluster_findings
        if id(shared) in seen:
            continue
        seen.add(id(shared))
        for finding in shared:
            key = (finding.check_id, finding.object, finding.location.path, finding.location.line)
            found.setdefault(key, finding)
    return tuple(sorted(found.values(), key=lambda f: (f.check_id, f.object, f.location.line)))


@dataclass
class Judge:
    store: Store
    client: KubeClient | None
    options: ScanOptions
    secret_data: bool = True
    stop: threading.Event = field(default_factory=threading.Event)  # set: a judging round ends early
    unreadable_secrets: set[str | None] = field(default_factory=set)
    snapshot: Snapshot = field(default_factory=Snapshot)
    reflect_seconds: list[float] = field(default_factory=list)  # change -> judged, the last 1000
    runs: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _referenced: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    _secret_cache: dict[tuple[str, str], tuple[bytes, Secret | None]] = field(default_factory=dict)
    evidence: SecretEvidence | None = None  # what every pull secret proves private (None: not judged yet)
    listeners: list[Any] = field(default_factory=list)  # called with (snapshot, changed namespaces)
    scope: frozenset[str] = frozenset()  # serve --watch-namespace: the namespaces watched (empty: all)
    reflect_observers: list[Any] = field(default_factory=list)  # called with each change's seconds to judged

    # -- the loop ---------------------------------------------------------------------

    def run(self, stop: threading.Event, debounce: float = 0.05) -> None:
        while not stop.is_set():
            dirty, secrets_changed = self.store.take_dirty(timeout=0.5)
            if not dirty and not secrets_changed:
                continue
            if debounce:
                stop.wait(debounce)
                more, more_secrets = self.store.take_dirty(timeout=0)
                for namespace, since in more.items():
                    dirty.setdefault(namespace, since)
                secrets_changed = secrets_changed or more_secrets
            try:
                self.judge(dirty, secrets_changed)
            except Exception:  # one bad round must not stop the server; it is logged and retried
                log.exception("judging failed")
                self.store.mark_all_dirty()
                stop.wait(1.0)

    def judge(
        self, dirty: Mapping[str, float], secrets_changed: bool = True, *, observe: bool = True
    ) -> None:
        started = time.monotonic()
        views = dict(self.snapshot.views)
        namespaces = self.store.namespaces()
        reuse, fingerprints, keyed = (
            self.snapshot.reuse,
            self.snapshot.fingerprints,
            self.snapshot.fingerprints_keyed,
        )
        if secrets_changed:
            reuse, fingerprints, keyed, evidence = self._cluster_wide()
            if _proven(evidence) != _proven(self.evidence):
                # a registry became (or stopped being) known as private: every namespace's images may change
                dirty = {**{n: started for n in namespaces}, **dirty}
            self.evidence = evidence
        whole = len(dirty) >= max(FULL_JUDGEMENT, len(namespaces) // 2)
        if whole and not self.stop.is_set():
            views = self.judge_all()
            dirty = {**{n: started for n in views}, **dirty}
        for namespace in () if whole else sorted(dirty):
            if self.stop.is_set():
                return
            if namespace not in namespaces:
                views.pop(namespace, None)
                continue
            view = self.judge_namespace(namespace)
            if view is None:
                views.pop(namespace, None)
            else:
                views[namespace] = view
        finished = time.monotonic()
        snapshot = Snapshot(
            views,
            reuse,
            fingerprints,
            keyed,
            finished - started,
            time.time(),
            len(dirty),
            self.snapshot.generation + 1,
            cluster_findings(views),
        )
        with self._lock:
            self.snapshot = snapshot
            self.runs += 1
            self.reflect_seconds.extend(finished - since for since in dirty.values())
            del self.reflect_seconds[:-1000]
        for observer in self.reflect_observers if observe else ():
            for since in dirty.values():
                observer(finished - since)
        for listener in self.listeners:
            listener(snapshot, set(dirty))

    # -- one namespace -------------------------------------------------------------------

    def inventory(
        self, namespace: str | None, extra: Iterable[Manifest] = (), *, workloads: bool = True
    ) -> tuple[Inventory, ScanOptions]:
        """The live inventory of one namespace, or of all (None); without workloads and pods for admission.
        Namespace by namespace, objects are added in the cluster source's order (owners before the pods
        they own) and decoded one namespace at a time, so memory is the inventory's, not every object's.
        Returns the options with the platform's node credentials."""
        names = sorted(self.store.namespaces()) if namespace is None else [namespace]
        builder = LiveInventoryBuilder(namespace or "default", self.secret_data)
        for name in names:
            namespace_object = self.store.get("namespaces", None, name)
            if namespace_object is not None:
                builder.add(self._manifest("namespaces", namespace_object))
        for _, node in self.store.cluster_objects(frozenset({"nodes"})):
            builder.add(self._manifest("nodes", node))
        tags = frozenset(NAMESPACED_ORDER) | {"secretmeta"}
        if not workloads:
            tags = frozenset({"secrets", "secretmeta", "serviceaccounts", "roles", "rolebindings"})
        extra = list(extra)
        for name in names:
            by_tag: dict[str, list[dict[str, Any]]] = {}
            for tag, body in self.store.namespace_objects(name, tags):
                by_tag.setdefault(tag, []).append(body)
            first_template = len(builder.inventory.pod_templates)
            for tag in NAMESPACED_ORDER:
                for body in by_tag.get(tag, ()):
                    builder.add(self._manifest(tag, body))
            if name == namespace:
                for manifest in extra:
                    builder.add(manifest)
            self._add_referenced(builder, name, by_tag, builder.inventory.pod_templates[first_template:])
        for tag, body in self.store.cluster_objects(frozenset(CLUSTER_ORDER)):
            builder.add(self._manifest(tag, body))
        inventory = builder.finish(self.unreadable_secrets)
        options = self.options
        platform = detect_platform(builder.node_labels)
        if platform is not None and platform.node_patterns:
            options = options.with_node_patterns(platform.node_patterns, f"{platform.name} node identity")
        return inventory, options

    def scan_options(self, options: ScanOptions) -> ScanOptions:
        """PG007 runs cluster-wide (see `_cluster_wide`); registries are private by every pull secret."""
        return dataclasses.replace(
            options, disabled_checks=options.disabled_checks | {REUSE}, evidence=self.evidence
        )

    def judge_namespace(self, namespace: str) -> NamespaceView | None:
        inventory, options = self.inventory(namespace)
        empty = not inventory.pod_templates and not inventory.secrets and not inventory.service_accounts
        if empty and self.store.get("namespaces", None, namespace) is None:
            return None
        return self._view(namespace, analyse(inventory, self.scan_options(options)))

    def judge_all(self) -> dict[str, NamespaceView]:
        """Every namespace in one analysis (as `scan --cluster` does), split into namespace views in one
        pass: much cheaper than one analysis per namespace when most of them changed (start, resync)."""
        inventory, options = self.inventory(None)
        result = analyse(inventory, self.scan_options(options))
        present = {n for n in self.store.namespaces() if self.store.get("namespaces", None, n) is not None}
        present |= {t.namespace for t in inventory.pod_templates}
        present |= {ns for ns, _ in inventory.secrets} | {ns for ns, _ in inventory.service_accounts}
        return self._views(result, present)

    def _view(self, namespace: str, result: ScanResult) -> NamespaceView:
        return self._views(result, {namespace})[namespace]

    def _views(self, result: ScanResult, namespaces: set[str]) -> dict[str, NamespaceView]:
        """What is kept of a result, per namespace (a result may hold several)."""
        images: dict[str, Counter[tuple[str, str, str]]] = {n: Counter() for n in namespaces}
        private = dict.fromkeys(namespaces, 0)
        covered = dict.fromkeys(namespaces, 0)
        unverifiable = dict.fromkeys(namespaces, 0)
        for judgement in result.resolution.images:
            namespace = judgement.pod.template.namespace
            if namespace not in images or judgement.use.ref is None:
                continue
            visibility = judgement.visibility.value if judgement.visibility else "unknown"
            images[namespace][
                (judgement.use.ref.domain or "docker.io", visibility, self._coverage(judgement))
            ] += 1
            if judgement.visibility is Visibility.PRIVATE:
                private[namespace] += 1
                covered[namespace] += judgement.coverage.configured
                unverifiable[namespace] += judgement.coverage is Coverage.UNVERIFIABLE
        now = result.resolution.settings.now
        secrets: dict[str, list[PullSecretView]] = {n: [] for n in namespaces}
        for (namespace, _), secret in result.inventory.secrets.items():
            if secret.is_pull_secret_type and namespace in secrets:
                secrets[namespace].append(_secret_view(secret, now))
        findings: dict[str, list[Finding]] = {n: [] for n in namespaces}
        cluster: list[Finding] = []
        for finding in result.findings:
            namespace = _namespace_of(finding)
            if namespace in findings:
                findings[namespace].append(finding)
            elif not namespace:
                cluster.append(finding)
        shared = tuple(cluster)
        judged_at = time.time()
        return {
            n: NamespaceView(
                n,
                tuple(findings[n]),
                images[n],
                private[n],
                covered[n],
                unverifiable[n],
                tuple(secrets[n]),
                judged_at,
                shared,
            )
            for n in namespaces
        }

    def _coverage(self, judgement: ImageJudgement) -> str:
        if judgement.coverage is Coverage.NODE:
            via = {n.registry: n.via for n in self.options.node_credentials}
            if any("provider" in via.get(m.location, "") for m in judgement.matches if m.secret is None):
                return "provider"
        return COVERAGE_LABEL[judgement.coverage]

    def _add_referenced(
        self,
        builder: LiveInventoryBuilder,
        namespace: str,
        by_tag: Mapping[str, list[dict[str, Any]]],
        templates: Iterable[PodTemplate],
    ) -> None:
        """A secret of another type that a pod or ServiceAccount of `namespace` names as a pull secret: its
        type and data keys (PG003), never its values. Read once per resourceVersion with a GET, as the
        cluster source reads it."""
        typed = {str((b.get("metadata") or {}).get("name") or "") for b in by_tag.get("secrets", ())}
        named = {name for template in templates for name in template.pull_secrets}
        for account in by_tag.get("serviceaccounts", ()):
            for item in account.get("imagePullSecrets") or ():
                if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                    named.add(item["name"])
        for body in by_tag.get("secretmeta", ()):
            meta = body.get("metadata") or {}
            name = str(meta.get("name") or "")
            if name in typed or name not in named:
                continue
            key = (namespace, name, str(meta.get("resourceVersion") or ""))
            document = self._referenced.get(key)
            if document is None and self.client is not None and self.secret_data:
                try:
                    fetched = self.client.get(SECRETS.path(namespace, name))
                    document = {
                        "metadata": {"name": name, "namespace": namespace},
                        "type": fetched.get("type") or "Opaque",
                        "data": {str(k): "" for k in (fetched.get("data") or {})},
                    }
                    self._referenced[key] = document
                except ClusterError as error:
                    log.warning(
                        "cannot read a referenced secret",
                        extra={"namespace": namespace, "secret": name, "error": str(error)},
                    )
            if document is not None:
                builder.add(self._manifest("secrets", document))

    # -- cluster-wide ------------------------------------------------------------------------

    def _cluster_wide(self) -> tuple[tuple[Finding, ...], tuple[Fingerprint, ...], bool, SecretEvidence]:
        inventory = Inventory(secrets=self._all_pull_secrets())
        only_reuse = frozenset(REGISTRY) - {REUSE}
        reuse: tuple[Finding, ...] = ()
        if REUSE not in self.options.disabled_checks:
            result = analyse(inventory, dataclasses.replace(self.options, disabled_checks=only_reuse))
            reuse = tuple(result.findings)
        key, keyed = fingerprint_key(self.options.fingerprint_key)
        prints: list[Fingerprint] = []
        if keyed:
            for secret in inventory.secrets.values():
                if secret.payload is None or secret.payload.error or secret.origin is not SecretOrigin.PLAIN:
                    continue
                for entry in secret.payload.entries:
                    fingerprint = credential_fingerprint(entry.credential, key)
                    parsed = parse_registry_key(entry.key)
                    if fingerprint is not None and parsed is not None:
                        prints.append(
                            Fingerprint(
                                secret.ref.namespace or "default",
                                secret.ref.name,
                                parsed.location,
                                fingerprint,
                            )
                        )
        evidence = collect_evidence(inventory)  # the same rule as a scan's, over the whole cluster
        ordered = tuple(sorted(set(prints), key=lambda p: (p.namespace, p.secret, p.registry)))
        return reuse, ordered, keyed, evidence

    def _all_pull_secrets(self) -> dict[tuple[str, str], Secret]:
        """Every pull secret, decoded once per version (the compact bytes are the cache key)."""
        cache: dict[tuple[str, str], tuple[bytes, Secret | None]] = {}
        for namespace, name, data in self.store.raw_of("secrets"):
            known = self._secret_cache.get((namespace, name))
            if known is not None and known[0] == data:
                cache[(namespace, name)] = known
                continue
            builder = LiveInventoryBuilder(namespace, self.secret_data)
            builder.add(self._manifest("secrets", json.loads(data)))
            cache[(namespace, name)] = (data, builder.inventory.secrets.get((namespace, name)))
        self._secret_cache = cache
        return {key: secret for key, (_, secret) in cache.items() if secret is not None}

    def _manifest(self, tag: str, body: dict[str, Any]) -> Manifest:
        resource = BY_TAG[tag]
        meta = body.get("metadata") or {}
        name = str(meta.get("name") or "")
        namespace = meta.get("namespace")
        body = {**body, "kind": resource.kind, "apiVersion": resource.api_version}
        cluster = self.client.name if self.client is not None else "cluster"
        where = Location(f"{cluster}:{resource.path(namespace, name)}", 1, 1)
        return Manifest(
            resource.api_version, resource.kind, name, str(namespace) if namespace else None, body, where
        )


def _namespace_of(finding: Finding) -> str:
    ref = finding.object
    if ref.namespace:
        return ref.namespace
    return ref.name if ref.kind == "Namespace" else ""


def _secret_view(secret: Secret, now: datetime) -> PullSecretView:
    age = credential_age(secret, now)
    written = age.since.timestamp() if age.since is not None else None
    expires = None
    if age.since is not None and secret.payload is not None:
        lifetimes = [
            kind.lifetime_hours
            for entry in secret.payload.entries
            if (kind := registry_issued(entry)) and kind.lifetime_hours is not None
        ]
        if lifetimes:
            expires = (age.since + timedelta(hours=min(lifetimes))).timestamp()
    registries = tuple(
        dict.fromkeys(
            parsed.location
            for entry in (secret.payload.entries if secret.payload else ())
            if (parsed := parse_registry_key(entry.key)) is not None
        )
    )
    return PullSecretView(secret.ref.namespace or "default", secret.ref.name, registries, written, expires)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _proven(evidence: SecretEvidence | None) -> tuple[frozenset[str], ...] | None:
    """What the cluster's pull secrets prove about registries: the keyring locations of each kind.
    Which secrets hold them only words an image's visibility reason, which no view keeps, so a
    pull secret that comes or goes beside others for its registry judges its namespace alone."""
    if evidence is None:
        return None
    return (
        frozenset(evidence.private),
        frozenset(evidence.shared_host_wide),
        frozenset(evidence.without_credential),
    )
