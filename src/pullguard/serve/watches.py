"""The kinds `serve` watches: those `scan --cluster` reads."""

from __future__ import annotations

from pullguard.inventory.model import PULL_SECRET_TYPES
from pullguard.serve.informer import Watched
from pullguard.sources.cluster import NAMESPACES, NODES, PODS, RBAC, SECRETS, SERVICE_ACCOUNTS, WORKLOADS

WATCH_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"


def watched() -> list[Watched]:
    """Pull secrets with their data (narrowed by type, as the cluster source lists them); every other
    secret as metadata only (existence, for references); whole Nodes, as `scan --cluster` reads them
    (labels tell the platform, status.nodeInfo.kubeletVersion the kubelet's feature defaults), kept slim."""
    kinds = [Watched(NAMESPACES, "namespaces"), Watched(NODES, "nodes")]
    kinds += [Watched(SECRETS, "secrets", field_selector=f"type={t}") for t in PULL_SECRET_TYPES]
    kinds.append(Watched(SECRETS, "secretmeta", accept=WATCH_METADATA))
    kinds.append(Watched(SERVICE_ACCOUNTS, "serviceaccounts"))
    kinds += [Watched(resource, resource.plural) for resource in WORKLOADS]
    kinds.append(Watched(PODS, "pods"))
    kinds += [Watched(resource, resource.plural) for resource in RBAC]
    return kinds
