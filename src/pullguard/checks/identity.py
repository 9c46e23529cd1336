"""PG016, PG017: namespace admission policy, and pod cloud identities mistaken for pull credentials."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pullguard.checks.base import Hit, Severity, check
from pullguard.inventory.model import ObjectRef, ServiceAccount
from pullguard.inventory.resolve import Coverage, ImageJudgement, PodCredentials, Resolution
from pullguard.semantics.kubelet_versions import SA_TOKEN_FOR_CREDENTIAL_PROVIDERS
from pullguard.semantics.registries import Visibility
from pullguard.text_safety import shell_word as q

# -- PG016 ---------------------------------------------------------------------------------

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
_ENFORCING = ("baseline", "restricted")
# Namespaces that run the cluster's own privileged components: enforcing there breaks the cluster.
_SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


@check(
    id="PG016",
    title="Namespace without Pod Security Standards enforcement",
    severity=Severity.MEDIUM,
    remediation=(
        "Label the namespace to enforce the baseline (or restricted) Pod Security Standard; check first what "
        "would be rejected with a server-side dry run:\n"
        "kubectl label --dry-run=server --overwrite namespace NS pod-security.kubernetes.io/enforce=restricted\n"
        "kubectl label --overwrite namespace NS pod-security.kubernetes.io/enforce=baseline "
        "pod-security.kubernetes.io/enforce-version=latest pod-security.kubernetes.io/warn=restricted "
        "pod-security.kubernetes.io/audit=restricted"
    ),
    standards=("CIS-5.2.1", "NIST-CM-6", "NIST-AC-6"),
    seeds=("001 §5",),
)
def namespace_without_pod_security(resolution: Resolution) -> Iterator[Hit]:
    """A Namespace in the input whose `pod-security.kubernetes.io/enforce` label is not `baseline` or `restricted`.

    Without enforcement, Pod Security Admission lets any pod into the namespace:
    privileged containers, host paths and host namespaces, from which the node's
    kubelet credentials, every pod's mounted secrets and the node's registry
    credentials are within reach (https://kubernetes.io/docs/concepts/security/pod-security-standards/). `privileged` enforces nothing;
    `warn` and `audit` only report. Only namespaces defined in the input are
    judged (their labels are known); `kube-system`, `kube-public` and
    `kube-node-lease` are skipped, as the cluster's own components there need
    privileges.
    """
    for name, namespace in sorted(resolution.inventory.namespaces.items()):
        if name in _SYSTEM_NAMESPACES:
            continue
        level = namespace.label(ENFORCE_LABEL)
        if level in _ENFORCING:
            continue
        if level is None:
            state = f"has no {ENFORCE_LABEL} label"
        elif level == "privileged":
            state = f"sets {ENFORCE_LABEL}=privileged, which enforces nothing"
        else:
            state = f"sets {ENFORCE_LABEL}={level!r}, which is not a Pod Security level (ignored)"
        others = [
            f"{mode}={value}"
            for mode in ("warn", "audit")
            if (value := namespace.label(f"pod-security.kubernetes.io/{mode}"))
        ]
        also = f" (it only has {', '.join(others)}, which report but do not reject)" if others else ""
        yield Hit(
            ObjectRef("Namespace", None, name),
            f"Namespace '{name}' {state}{also}: Pod Security Admission admits privileged pods there, and from "
            "the node they reach every secret mounted on it and the node's own registry credentials.",
            namespace.location,
            f"kubectl label --dry-run=server --overwrite namespace {q(name)} {ENFORCE_LABEL}=restricted\n"
            f"kubectl label --overwrite namespace {q(name)} {ENFORCE_LABEL}=baseline "
            f"{ENFORCE_LABEL}-version=latest pod-security.kubernetes.io/warn=restricted",
        )


# -- PG017 ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodIdentity:
    cloud: str  # "AWS", "Google Cloud", "Azure"
    mechanism: str  # "IRSA (eks.amazonaws.com/role-arn)"
    principal: str  # the role ARN, service-account email or client id (not secret)


_IDENTITY_ANNOTATIONS = (
    ("eks.amazonaws.com/ecr-role-arn", "AWS", "ecr-credential-provider ServiceAccount-token role"),
    ("eks.amazonaws.com/role-arn", "AWS", "IRSA"),
    ("iam.gke.io/gcp-service-account", "Google Cloud", "GKE Workload Identity"),
    ("azure.workload.identity/client-id", "Azure", "Azure Workload Identity"),
)

_NODE_ADVICE = {
    "AWS": (
        "give the node IAM role AmazonEC2ContainerRegistryReadOnly (EKS managed node groups have it), or on "
        "self-managed nodes run the kubelet with the ecr-credential-provider (CredentialProviderConfig, "
        "matchImages: ['*.dkr.ecr.*.amazonaws.com'])"
    ),
    "Google Cloud": (
        "grant the node service account roles/artifactregistry.reader (GKE nodes pull with it), or configure a "
        "kubelet credential provider on self-managed nodes"
    ),
    "Azure": (
        "attach the registry to the cluster's kubelet identity (`az aks update -n <cluster> -g <group> "
        "--attach-acr <registry>`), or configure the acr-credential-provider on self-managed nodes"
    ),
}


def pod_identity(pod: PodCredentials) -> PodIdentity | None:
    """The cloud identity a pod's containers get from its ServiceAccount or pod template annotations."""
    holders: list[tuple[tuple[str, str], ...]] = [pod.template.annotations]
    account: ServiceAccount | None = pod.service_account
    if account is not None:
        holders.insert(0, account.annotations)
    for pairs in holders:
        for key, cloud, mechanism in _IDENTITY_ANNOTATIONS:
            value = next((v for k, v in pairs if k == key), None)
            if value:
                return PodIdentity(cloud, f"{mechanism} ({key})", value)
    return None


@check(
    id="PG017",
    title="Pod cloud identity on a workload whose private image has no pull credential",
    severity=Severity.MEDIUM,
    remediation=(
        "Pod IAM identities (EKS IRSA and Pod Identity, GKE Workload Identity, Azure Workload Identity) are for "
        "the containers; the kubelet pulls images with the node's identity or a kubelet credential provider. "
        "Give the node identity read access to the registry (EKS: AmazonEC2ContainerRegistryReadOnly on the "
        "node role; GKE: roles/artifactregistry.reader for the node service account; AKS: `az aks update "
        "--attach-acr`) or configure a credential provider, then declare it in .pullguard.yaml:\n"
        "nodeCredentials:\n"
        '  - registry: "*.dkr.ecr.*.amazonaws.com"\n'
        "    via: node IAM role (AmazonEC2ContainerRegistryReadOnly)\n"
        "Or add a pull secret. Remove registry permissions from the pod's role if they were granted for pulls. "
        "To pull with the pod's own identity (v1.34+, KEP-4412), run ecr-credential-provider (AWS) or "
        "acr-credential-provider (Azure) with tokenAttributes and annotate the ServiceAccount with what it reads: "
        "eks.amazonaws.com/ecr-role-arn (not IRSA's role-arn), or the Azure workload-identity client-id and "
        "tenant-id."
    ),
    standards=("OWASP-NHI-06", "NIST-AC-6", "CIS-5.4.1", "NIST-SP-800-190"),
    seeds=("001 §3", "002 §5.1"),
)
def pod_identity_without_pull_credential(resolution: Resolution) -> Iterator[Hit]:
    """A workload with a pod cloud identity whose private image no credential covers, as the kubelet pulls.

    IRSA (`eks.amazonaws.com/role-arn`), GKE Workload Identity
    (`iam.gke.io/gcp-service-account`) and Azure Workload Identity
    (`azure.workload.identity/client-id`) annotations give the *containers* cloud
    credentials; the kubelet pulls before any container runs. Since v1.34
    (KEP-4412, `KubeletServiceAccountTokenForCredentialProviders`, beta and on) a
    kubelet credential provider configured with `tokenAttributes` receives the
    pod's ServiceAccount token and the annotations it lists, and can pull with
    the pod's identity: `ecr-credential-provider` (v1.34+) reads
    `eks.amazonaws.com/ecr-role-arn` — never IRSA's `eks.amazonaws.com/role-arn` —
    and `acr-credential-provider` reads the Azure workload-identity client-id and
    tenant-id. Such images count as covered ("provider-sa-token") when a matching
    provider in the input is in that mode and the ServiceAccount carries what it
    needs; otherwise this finding says what the identity does not do and what
    to configure. When a token-mode provider matches but gives nothing, PG020
    reports why. EKS Pod Identity associations live in the AWS API and are not
    seen.
    """
    for pod in resolution.pods:
        identity = pod_identity(pod)
        if identity is None:
            continue
        uncovered: list[ImageJudgement] = [
            j
            for j in resolution.images_of(pod)
            if j.visibility is Visibility.PRIVATE and j.coverage is Coverage.NONE and j.use.ref is not None
        ]
        if not uncovered:
            continue
        if any("provider" in note for j in uncovered for note in j.notes):
            continue  # a token-mode provider matched and gave nothing: PG020 says why
        owner = pod.template.owner
        images = ", ".join(dict.fromkeys(f"'{j.use.image}'" for j in uncovered))
        via = (
            f"ServiceAccount '{pod.template.service_account}'"
            if pod.service_account is not None and pod_identity_of_account(pod.service_account)
            else "its pod template"
        )
        advice = _NODE_ADVICE[identity.cloud]
        registry = uncovered[0].use.ref.domain if uncovered[0].use.ref else "<registry>"
        yield Hit(
            owner,
            f"{owner.kind} '{owner.name}' in namespace '{pod.template.namespace}' has the {identity.cloud} "
            f"identity {identity.principal} through {via} ({identity.mechanism}), but the kubelet pulls {images} "
            f"with the node's identity or a kubelet credential provider, and nothing covers it (no matching pull "
            f"secret, node credential or provider). {_token_mode_note(identity, resolution)} To pull, {advice}; "
            "then declare it under nodeCredentials in .pullguard.yaml.",
            uncovered[0].use.location,
            f"{advice[0].upper()}{advice[1:]}.\n"
            "Then declare it in .pullguard.yaml:\n"
            "nodeCredentials:\n"
            f'  - registry: "{registry}"\n'
            f"    via: {'node IAM role' if identity.cloud == 'AWS' else 'node identity'}",
            image=uncovered[0].use.image,
            container=uncovered[0].use.name,
        )


def _token_mode_note(identity: PodIdentity, resolution: Resolution) -> str:
    """What the pod identity does and does not do for pulls, on the kubelet of the input's version."""
    view = resolution.kubelet
    version = view.version if view is not None else None
    enabled = view.enabled(SA_TOKEN_FOR_CREDENTIAL_PROVIDERS) if view is not None else None
    if version is None or enabled is None:
        on = "on by default from v1.34"
    else:
        on = f"the kubelet {version.short} {'has it' if enabled else 'does not have it'}"
    if identity.mechanism.startswith("IRSA"):
        return (
            "IRSA's eks.amazonaws.com/role-arn is for the containers and no kubelet reads it; a pod-identity pull "
            "needs ecr-credential-provider in ServiceAccount-token mode (tokenAttributes, KEP-4412, "
            f"{on}) and the annotation it reads, eks.amazonaws.com/ecr-role-arn, listed in "
            "requiredServiceAccountAnnotationKeys."
        )
    if identity.cloud == "AWS":
        return (
            "eks.amazonaws.com/ecr-role-arn is read only by ecr-credential-provider v1.34+ configured with "
            f"tokenAttributes (KEP-4412, {on}); no such provider in the input matches the image."
        )
    if identity.cloud == "Azure":
        return (
            "The workload-identity client-id and tenant-id are read only by acr-credential-provider configured "
            f"with tokenAttributes (KEP-4412, {on}); no such provider in the input matches the image."
        )
    return (
        "No known Google Cloud credential provider pulls with the pod's identity: GKE nodes pull with theirs."
    )


def pod_identity_of_account(account: ServiceAccount) -> bool:
    return any(k == key for key, _, _ in _IDENTITY_ANNOTATIONS for k, _ in account.annotations)


__all__ = [
    "ObjectRef",
    "PodIdentity",
    "namespace_without_pod_security",
    "pod_identity",
    "pod_identity_without_pull_credential",
]
