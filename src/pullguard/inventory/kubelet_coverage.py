"""The node side of one image's credentials: node config.json keys, then credential providers.

Called by resolution after the pod's own pull secrets gave nothing usable; returns the first
source that serves the image (in the kubelet's order) and, in plain words, the sources that
matched the image but give the kubelet nothing (a missing annotation, a refused configuration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pullguard.inventory.kubelet_order import (
    KubeletView,
    PodIdentityFacts,
    ProviderMode,
    is_static_pod,
    node_config_matches,
    provider_outcomes,
)
from pullguard.inventory.model import PodTemplate, ServiceAccount

if TYPE_CHECKING:  # resolve imports this module
    from pullguard.inventory.resolve import KeyMatch

# ("node" | "provider" | "provider-sa" | "unverifiable", matches)
ServedBy = tuple[str, tuple["KeyMatch", ...]]


def pod_facts(template: PodTemplate, account: ServiceAccount | None, view: KubeletView) -> PodIdentityFacts:
    """The ServiceAccount the kubelet sees for the pod: none for static pods."""
    if is_static_pod(
        template.owner.kind, template.annotations, template.location.path, view.static_pod_paths
    ):
        return PodIdentityFacts(None, None)
    return PodIdentityFacts(
        template.service_account, dict(account.annotations) if account is not None else None
    )


def node_side(
    template: PodTemplate, account: ServiceAccount | None, repository: str, view: KubeletView
) -> tuple[ServedBy | None, tuple[str, ...]]:
    from pullguard.inventory.resolve import KeyMatch  # resolve imports this module

    notes: list[str] = []
    node = node_config_matches(view, repository)
    usable = [(location, path) for location, path, anonymous in node if not anonymous]
    if usable:
        return ("node", tuple(KeyMatch(loc, None, False, f"node config {path}") for loc, path in usable)), ()
    if node:
        notes.append(
            "the node config.json keys that match ("
            + ", ".join(location for location, _, _ in node)
            + ") carry no username or password: an anonymous pull"
        )
    if not view.providers:
        return None, tuple(notes)
    facts = pod_facts(template, account, view)
    unknown = False
    for outcome in provider_outcomes(view, repository, facts):
        if outcome.serves:
            sa_mode = outcome.mode is ProviderMode.SERVICE_ACCOUNT
            via = f"provider {outcome.provider.name}" + (
                f" with ServiceAccount '{facts.service_account}' token" if sa_mode else " (node identity)"
            )
            match = KeyMatch(outcome.entry, None, False, via)
            return ("provider-sa" if sa_mode else "provider", (match,)), tuple(notes)
        unknown = unknown or outcome.unknown
        if outcome.reason:
            notes.append(outcome.reason)
    if unknown:
        return ("unverifiable", ()), tuple(notes)
    return None, tuple(notes)
