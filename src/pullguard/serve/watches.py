"""The kinds `serve` watches: those `scan --cluster` reads."""

from __future__ import annotations

from collections.abc import Sequence

from pullguard.inventory.model import PULL_SECRET_TYPES
from pullguard.serve.informer import Watched
from pullguard.sources.cluster import NAMESPACES, NODES, PODS, RBAC, SECRETS, SERVICE_ACCOUNTS, WORKLOADS

WATCH_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"


def watched(namespaces: Sequence[str] = ()) -> list[Watched]:
    """Pull secrets with their data (narrowed by type, as the cluster source lists them); every other
    secret as metadata only (existence, for references); whole Nodes, as `scan --cluster` reads them
    (labels tell the platform, status.nodeInfo.kubeletVersion the kubelet's feature defaults), kept slim.

    With `namespaces` (serve --watch-namespace), the namespaced kinds in each of them only, and no
    cluster-scoped kind: what a Role per namespace can grant (Namespaces, Nodes, ClusterRoles and
    ClusterRoleBindings need a ClusterRole)."""
    scopes: Sequence[str | None] = list(namespaces) or [None]
    kinds = [] if namespaces else [Watched(NAMESPACES, "namespaces"), Watched(NODES, "nodes")]
    for scope in scopes:
        kinds += [
            Watched(SECRETS, "secrets", field_selector=f"type={t}", namespace=scope)
            for t in PULL_SECRET_TYPES
        ]
        kinds.append(Watched(SECRETS, "secretmeta", accept=WATCH_METADATA, namespace=scope))
        kinds.append(Watched(SERVICE_ACCOUNTS, "serviceaccounts", namespace=scope))
        kinds += [Watched(resource, resource.plural, namespace=scope) for resource in WORKLOADS]
        kinds.append(Watched(PODS, "pods", namespace=scope))
        kinds += [
            Watched(resource, resource.plural, namespace=scope)
            for resource in RBAC
            if resource.namespaced or not namespaces
        ]
    return kinds
