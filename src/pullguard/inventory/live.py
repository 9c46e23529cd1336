"""The inventory of a live cluster: pods as stored, named after the object a human edits.

Files are judged as the API server would admit them; a live pod has been
admitted already (its spec carries the ServiceAccount's pull secrets), so it is
added with ``admitted=True`` and judged as stored (SEMANTICS §3).

A finding about pod ``web-5d4f8c7b9-x2x9q`` is useless to the person who edits
Deployment ``web``: each pod is named after its top controller — ReplicaSet to
Deployment (the ReplicaSet is named ``DEPLOYMENT-<pod-template-hash>``), Job to
CronJob — and identical pods of one owner are judged once. A workload with no
live pod (scaled to zero, a CronJob between runs, a Deployment whose pods
cannot be created) is judged from its template, as its next pod would be admitted.

Node labels reveal the platform (EKS, GKE, AKS), whose nodes pull from the
platform's registry with their own identity (SEMANTICS §4).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pullguard.inventory.build import _CONTAINER_FIELDS, FieldError, InventoryBuilder
from pullguard.inventory.kinds import POD_SPEC_PATHS, is_workload
from pullguard.inventory.live_kubelet import node_info, running_containers
from pullguard.inventory.model import (
    PULL_SECRET_TYPES,
    Inventory,
    ObjectRef,
    PodTemplate,
    PullSecretPayload,
    Secret,
    SecretOrigin,
)
from pullguard.sources.model import Location, Manifest

# node label -> (platform, registry patterns its nodes pull from with their own identity)
PLATFORMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("eks.amazonaws.com/nodegroup", "EKS", ("*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr-fips.*.amazonaws.com")),
    (
        "eks.amazonaws.com/compute-type",
        "EKS",
        ("*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr-fips.*.amazonaws.com"),
    ),
    ("cloud.google.com/gke-nodepool", "GKE", ("gcr.io", "*.gcr.io", "*-docker.pkg.dev")),
    ("kubernetes.azure.com/cluster", "AKS", ()),  # AKS pulls from an attached ACR only: not assumed
)


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    nodes: int
    node_patterns: tuple[str, ...]


def detect_platform(node_labels: Iterable[Mapping[str, str]]) -> Platform | None:
    votes: Counter[str] = Counter()
    patterns: dict[str, tuple[str, ...]] = {}
    for labels in node_labels:
        for label, name, registry_patterns in PLATFORMS:
            if label in labels:
                votes[name] += 1
                patterns[name] = registry_patterns
                break
    if not votes:
        return None
    name, count = votes.most_common(1)[0]
    return Platform(name, count, patterns[name])


@dataclass(slots=True)
class LiveStats:
    pods: int = 0
    pod_templates_from_pods: int = 0
    workloads: int = 0
    workloads_without_pods: int = 0
    nodes: int = 0


@dataclass(slots=True)
class LiveInventoryBuilder:
    """Collects a live cluster's manifests; see the module docstring."""

    default_namespace: str = "default"
    secret_data: bool = True
    base: InventoryBuilder = field(init=False)
    stats: LiveStats = field(default_factory=LiveStats)
    node_labels: list[dict[str, str]] = field(default_factory=list)
    _workloads: dict[ObjectRef, PodTemplate] = field(default_factory=dict)
    _deployments: set[tuple[str, str]] = field(default_factory=set)
    _job_owner: dict[tuple[str, str], ObjectRef] = field(default_factory=dict)
    _pod_keys: set[tuple[Any, ...]] = field(default_factory=set)
    _raw_pod_keys: set[tuple[Any, ...]] = field(default_factory=set)
    _owners_with_pods: set[ObjectRef] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.base = InventoryBuilder(self.default_namespace)

    @property
    def inventory(self) -> Inventory:
        return self.base.inventory

    def add_all(self, manifests: Iterable[Manifest]) -> Inventory:
        for manifest in manifests:
            self.add(manifest)
        return self.finish()

    def add(self, manifest: Manifest) -> None:
        body = manifest.body
        if body is None:
            return
        kind = manifest.kind
        namespace = manifest.namespace or self.default_namespace
        try:
            if kind == "Node":
                self.stats.nodes += 1
                labels = (body.get("metadata") or {}).get("labels") or {}
                self.node_labels.append({str(k): str(v) for k, v in labels.items()})
                self.inventory.kubelet.nodes.append(node_info(manifest, body))
            elif kind == "Pod":
                self._add_pod(manifest, body, namespace)
            elif is_workload(manifest.api_version, kind):
                self._add_workload(manifest, body, namespace)
            elif kind == "Secret" and not self.secret_data and body.get("type") in PULL_SECRET_TYPES:
                self._add_metadata_only_secret(manifest, body, namespace)
            else:
                self.base.add(manifest)
        except FieldError as error:
            self.base._field_problem(manifest, error)

    def finish(self, unknown_secret_namespaces: Iterable[str | None] = ()) -> Inventory:
        """Add workloads no live pod represents; references into namespaces whose secrets could
        not be listed become unknown (not missing)."""
        for owner, template in self._workloads.items():
            if owner not in self._owners_with_pods:
                self.stats.workloads_without_pods += 1
                self.inventory.pod_templates.append(template)
        unknown = set(unknown_secret_namespaces)
        if unknown:
            self._placeholders(unknown)
        return self.base.finish()

    # -- pods --------------------------------------------------------------------------

    def _add_pod(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        self.stats.pods += 1
        spec = body.get("spec")
        if spec is None:
            raise FieldError("spec", "present (a pod template needs it)")
        owner = self._top_owner(body, namespace, manifest.name)
        # every replica runs on its own node, with its own image IDs: PG025 judges each node
        self.inventory.kubelet.containers.extend(running_containers(manifest, body, owner))
        raw = _raw_pod_key(spec)
        if raw is not None:
            raw = (owner, *raw)
            if raw in self._raw_pod_keys:
                # a pod just like one already read: its template would be dropped as a duplicate
                self._owners_with_pods.add(owner)
                return
        template = self.base.pod_template(owner, manifest, spec, body, "spec")
        key = (
            owner,
            template.service_account,
            template.pull_secrets,
            tuple((use.field, use.name, use.image) for use in template.images),
        )
        self._owners_with_pods.add(owner)
        if raw is not None:
            self._raw_pod_keys.add(raw)
        if key in self._pod_keys:
            return
        self._pod_keys.add(key)
        self.stats.pod_templates_from_pods += 1
        self.inventory.pod_templates.append(dataclasses.replace(template, admitted=True))

    def _top_owner(self, body: Mapping[str, Any], namespace: str, name: str) -> ObjectRef:
        metadata = body.get("metadata") or {}
        controller = _controller(metadata)
        if controller is None:
            return ObjectRef("Pod", namespace, name)
        kind, owner_name = controller
        if kind == "ReplicaSet":
            labels = metadata.get("labels") or {}
            template_hash = labels.get("pod-template-hash")
            if isinstance(template_hash, str) and owner_name.endswith("-" + template_hash):
                deployment = owner_name[: -len(template_hash) - 1]
                if (namespace, deployment) in self._deployments or not self._deployments:
                    return ObjectRef("Deployment", namespace, deployment)
            return ObjectRef("ReplicaSet", namespace, owner_name)
        if kind == "Job":
            return self._job_owner.get((namespace, owner_name), ObjectRef("Job", namespace, owner_name))
        if kind == "Node":  # a static pod's mirror: the manifest lives on the node
            return ObjectRef("Pod", namespace, name)
        return ObjectRef(kind, namespace, owner_name)

    # -- workloads ---------------------------------------------------------------------

    def _add_workload(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        kind = manifest.kind
        owner = ObjectRef(kind, namespace, manifest.name)
        self.stats.workloads += 1
        if kind == "Deployment":
            self._deployments.add((namespace, manifest.name))
        if kind == "Job":
            controller = _controller(body.get("metadata") or {})
            if controller is not None and controller[0] == "CronJob":
                # its pods are the CronJob's; the CronJob's template is judged when none runs
                self._job_owner[(namespace, manifest.name)] = ObjectRef("CronJob", namespace, controller[1])
                return
        path = POD_SPEC_PATHS[kind]
        spec: Any = body
        for step in path:
            spec = spec.get(step) if isinstance(spec, Mapping) else None
        if spec is None:
            raise FieldError(".".join(path), "present (a pod template needs it)")
        self._workloads[owner] = self.base.pod_template(owner, manifest, spec, body, ".".join(path))

    # -- secrets -------------------------------------------------------------------------

    def _add_metadata_only_secret(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        secret_type = str(body["type"])
        self.inventory.secrets[(namespace, manifest.name)] = Secret(
            ObjectRef("Secret", namespace, manifest.name),
            manifest.location,
            secret_type,
            (),
            PullSecretPayload(PULL_SECRET_TYPES[secret_type]),
            SecretOrigin.METADATA_ONLY,
            creation_timestamp=_created(body),
        )

    def _placeholders(self, unknown: set[str | None]) -> None:
        """A pull secret that could not be listed is unknown: type '' and no data (UNVERIFIABLE)."""
        inventory = self.inventory
        named: set[tuple[str, str]] = set()
        for template in inventory.pod_templates:
            named.update((template.namespace, name) for name in template.pull_secrets)
        for account in inventory.service_accounts.values():
            named.update(
                (account.ref.namespace or self.default_namespace, name) for name in account.pull_secrets
            )
        first_template: dict[str, Location] = {}  # per namespace, where its first pod template is
        for template in inventory.pod_templates:
            first_template.setdefault(template.namespace, template.location)
        for namespace, name in sorted(named):
            if (namespace, name) in inventory.secrets or (None not in unknown and namespace not in unknown):
                continue
            template_location = first_template.get(namespace)
            if template_location is None:
                continue
            inventory.secrets[(namespace, name)] = Secret(
                ObjectRef("Secret", namespace, name),
                template_location,
                "",
                (),
                None,
                SecretOrigin.METADATA_ONLY,
            )


def _raw_pod_key(spec: Any) -> tuple[Any, ...] | None:
    """What a pod's duplicate key (owner, ServiceAccount, pull secrets, images) is made of, read
    straight from its spec; None when a field has a shape that cannot be keyed. Of 100,000 pods
    most are replicas (README "Scale"): a pod whose raw key equals that of a pod whose template
    was built has the same duplicate key, so its template would be dropped and is not built.
    Only a successfully built pod registers its raw key, so the values it matches are of the
    types the builder accepts (a pod with a wrong-shaped key field is built, and reported). A
    replica's other fields (env, secret volumes) are not read again: the API server validated
    them on admission."""
    try:
        get = spec.get
        secrets = get("imagePullSecrets")
        volumes = get("volumes")
        key = (
            get("serviceAccountName"),
            get("serviceAccount"),
            None if secrets is None else tuple([item.get("name") for item in secrets]),
            *[_names_and_images(get(field_name)) for field_name, _ in _CONTAINER_FIELDS],
            None
            if volumes is None
            else tuple(
                [(v.get("name"), v["image"].get("reference")) for v in volumes if v.get("image") is not None]
            ),
        )
        hash(key)  # a list or mapping where a string belongs: no key
    except (AttributeError, TypeError):
        return None
    return key


def _names_and_images(containers: Any) -> tuple[tuple[Any, Any], ...] | None:
    if containers is None:
        return None
    return tuple([(c.get("name"), c.get("image")) for c in containers])


def _controller(metadata: Mapping[str, Any]) -> tuple[str, str] | None:
    owners = metadata.get("ownerReferences")
    if not isinstance(owners, list):
        return None
    for owner in owners:
        if isinstance(owner, Mapping) and owner.get("controller") is True:
            return str(owner.get("kind") or ""), str(owner.get("name") or "")
    return None


def _created(body: Mapping[str, Any]) -> str | None:
    value = (body.get("metadata") or {}).get("creationTimestamp")
    return None if value is None else str(value)
