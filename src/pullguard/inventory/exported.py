"""Pods exported from a live cluster and scanned as files (`kubectl get pods -A -o yaml | pullguard scan -`).

A pod with a controller ownerReference is one replica of a workload: it is named after its
top controller (ReplicaSet to Deployment by the pod-template-hash convention, Job to CronJob)
and identical replicas of one file are judged once, as `scan --cluster` judges them
(inventory/live.py); pods in different files stay apart (test fixtures, separate exports).
Its spec has been admitted already (it carries its ServiceAccount's pull secrets), so it is
judged as stored. Every other object is built as any file's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pullguard.errors import DocumentValueError
from pullguard.inventory.build import InventoryBuilder
from pullguard.inventory.live import LiveInventoryBuilder, _controller
from pullguard.inventory.model import Inventory
from pullguard.sources.model import Manifest


class ExportedPods:
    """Adds manifests to `builder`; pods with a controller go through a per-file live builder."""

    def __init__(self, builder: InventoryBuilder) -> None:
        self.builder = builder
        self.by_file: dict[str, LiveInventoryBuilder] = {}

    def add(self, manifest: Manifest) -> None:
        body = manifest.body
        if manifest.kind == "Pod" and body is not None and _has_controller(body):
            live = self.by_file.get(manifest.location.path)
            if live is None:
                live = self.by_file[manifest.location.path] = LiveInventoryBuilder(
                    self.builder.default_namespace
                )
                live.base = self.builder  # one inventory: replicas land where every other object does
            live.add(manifest)
        else:
            self.builder.add(manifest)


def _has_controller(body: Mapping[str, Any]) -> bool:
    """Whether the pod names a controller; a metadata that cannot be built (an unknown YAML tag)
    is the ordinary builder's to report, with the object's file and document."""
    try:
        return _controller(body.get("metadata") or {}) is not None
    except (DocumentValueError, RecursionError):
        return False


def build(builder: InventoryBuilder, manifests: Iterable[Manifest]) -> Inventory:
    adder = ExportedPods(builder)
    for manifest in manifests:
        adder.add(manifest)
    return builder.finish()
