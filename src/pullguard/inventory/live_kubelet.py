"""What a live cluster tells about its kubelets: each Node's version, each pod's containers.

``status.nodeInfo.kubeletVersion`` (nodes can differ, during an upgrade or across pools), and,
per container, ``imagePullPolicy`` as the API server defaulted it (``Always`` for ``:latest`` or
no tag, else ``IfNotPresent``), the node it runs on and ``status.containerStatuses[].imageID``,
which the runtime sets once the image is on the node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pullguard.inventory.kubelet_config import NodeInfo, RunningContainer
from pullguard.inventory.model import ObjectRef
from pullguard.sources.model import Manifest


def node_info(manifest: Manifest, body: Mapping[str, Any]) -> NodeInfo:
    status = body.get("status")
    info = status.get("nodeInfo") if isinstance(status, Mapping) else None
    version = info.get("kubeletVersion") if isinstance(info, Mapping) else None
    return NodeInfo(manifest.name, version if isinstance(version, str) else None, manifest.location)


def running_containers(
    manifest: Manifest, body: Mapping[str, Any], owner: ObjectRef
) -> list[RunningContainer]:
    """The pod's containers whose image a node's cache may be serving (PG025): started (an
    imageID) with pull policy IfNotPresent or Never. Every replica has its own, on its own node."""
    spec = body.get("spec")
    if not isinstance(spec, Mapping):
        return []
    raw_status = body.get("status")
    status: Mapping[str, Any] = raw_status if isinstance(raw_status, Mapping) else {}
    statuses: dict[str, Mapping[str, Any]] = {}
    for field in ("containerStatuses", "initContainerStatuses"):
        for item in status.get(field) or []:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                statuses[item["name"]] = item
    node = spec.get("nodeName")
    found: list[RunningContainer] = []
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or []:
            if not isinstance(container, Mapping):
                continue
            name, image = container.get("name"), container.get("image")
            if not isinstance(name, str) or not isinstance(image, str):
                continue
            state = statuses.get(name, {})
            image_id = state.get("imageID")
            policy = str(container.get("imagePullPolicy") or _default_policy(image))
            if not (isinstance(image_id, str) and image_id) or policy == "Always":
                continue  # pulled each start, or not started: no image cache in play (kept only what PG025 reads)
            running = isinstance(state.get("state"), Mapping) and "running" in state["state"]
            found.append(
                RunningContainer(
                    owner.kind,
                    owner.name,
                    owner.namespace or "default",
                    manifest.name,
                    node if isinstance(node, str) else None,
                    name,
                    image,
                    policy,
                    image_id,
                    running,
                    manifest.location,
                )
            )
    return found


def _default_policy(image: str) -> str:
    """The API server's default (pkg/apis/core/v1/defaults.go): Always for :latest or no tag."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    return "IfNotPresent" if ":" in last and not last.endswith(":latest") else "Always"
