"""The node-cache trap, as `doctor` sees it: the image is on the node, yet this pod may not use it.

KEP-2535 (`KubeletEnsureSecretPulledImages`, beta and on by default from v1.35; kubernetes/kubernetes
`pkg/kubelet/images/image_manager.go`, `pullmanager/image_pull_manager.go`): a kubelet that pulled
an image with another pod's credentials re-verifies before letting a pod without matching
credentials use it. With pull policy `Never` that is `ErrImageNeverPull` with the very message of
a missing image ("is not present with pull policy of Never"), on purpose; with `IfNotPresent` the
kubelet re-pulls with the pod's own credentials and the registry refuses. The node's
`status.images` shows the image is there; its `nodeInfo.kubeletVersion` shows the feature's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pullguard.checks.remedies import attach_to_service_account
from pullguard.inventory.kubelet_order import version_of
from pullguard.inventory.resolve import Coverage, ImageJudgement
from pullguard.semantics.kubelet_versions import ENSURE_SECRET_PULLED_IMAGES, feature_enabled

PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff")


def images_on_node(node: Mapping[str, Any] | None) -> frozenset[str]:
    status = (node or {}).get("status")
    names: set[str] = set()
    for entry in (status.get("images") if isinstance(status, Mapping) else None) or ():
        if isinstance(entry, Mapping):
            names.update(str(n) for n in entry.get("names") or () if isinstance(n, str))
    return frozenset(names)


def kubelet_version_of(node: Mapping[str, Any] | None) -> str | None:
    status = (node or {}).get("status")
    info = status.get("nodeInfo") if isinstance(status, Mapping) else None
    version = info.get("kubeletVersion") if isinstance(info, Mapping) else None
    return version if isinstance(version, str) else None


def node_cache_cause(
    reason: str,
    image: str,
    judgement: ImageJudgement | None,
    node: Mapping[str, Any] | None,
    node_name: str | None,
) -> tuple[str, str] | None:
    """(explanation, fix) when the failure is KEP-2535 refusing a present image; None otherwise."""
    names = images_on_node(node)
    ref = judgement.use.ref if judgement is not None else None
    candidates = {image, str(ref)} if ref is not None else {image}
    if ref is not None and ref.tag:
        candidates.add(f"{ref.repository}:{ref.tag}")
    if not names & candidates:
        return None
    version_text = kubelet_version_of(node)
    version = version_of(version_text)
    ensure = version is not None and feature_enabled(ENSURE_SECRET_PULLED_IMAGES, version)
    uncovered = judgement is None or judgement.coverage is Coverage.NONE
    if reason == "ErrImageNeverPull":
        what = (
            "the kubelet answers ErrImageNeverPull with the same message as for a missing image, on purpose, "
            "so as not to reveal that the image is there"
        )
    elif reason in PULL_FAILURES and ensure and uncovered:
        what = "with pull policy IfNotPresent it re-pulled with this pod's own credentials (none) and the registry refused"
    else:
        return None
    on = f"node '{node_name}' (kubelet {version_text or 'version unknown'})"
    explanation = (
        f"{image} is present on {on}, but it was pulled with another pod's credentials: this kubelet re-verifies "
        "before a pod without matching credentials may use it (KEP-2535, KubeletEnsureSecretPulledImages, on by "
        f"default from v1.35); {what}. It ran before only because the cache was shared (older kubelets, or "
        "imagePullCredentialsVerificationPolicy: NeverVerify)"
    )
    namespace = judgement.pod.template.namespace if judgement is not None else "<namespace>"
    account = judgement.pod.template.service_account if judgement is not None else "default"
    registry = ref.domain if ref is not None else "<registry>"
    fix = (
        f"give the pod a credential for {registry}:\n"
        f"  kubectl create secret docker-registry regcred -n {namespace} --docker-server={registry} "
        '--docker-username=<user> --docker-password="$(cat <password-file>)" --dry-run=client -o yaml | kubectl apply -f -\n'
        f"  {attach_to_service_account('regcred', account, namespace)}  (then recreate the pod)\n"
        "or, for an image the nodes preload on purpose, allow it in the KubeletConfiguration:\n"
        "  imagePullCredentialsVerificationPolicy: NeverVerifyAllowlistedImages\n"
        f"  preloadedImagesVerificationAllowlist: [{ref.repository if ref is not None else '<registry/repository>'}]\n"
        "or give the nodes a credential for the registry (their config.json or a credential provider)"
    )
    return explanation, fix
