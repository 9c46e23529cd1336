"""PG018-PG025: the kubelet of today: credential providers, admission and version-dependent pulls."""

from __future__ import annotations

import json
from collections.abc import Iterator

from pullguard.checks import remedies
from pullguard.checks.base import Hit, Severity, check
from pullguard.counts import noun
from pullguard.inventory.kubelet_config import DEFAULT_POLICY, CredentialProvider, ProviderConfig
from pullguard.inventory.kubelet_coverage import pod_facts
from pullguard.inventory.kubelet_order import (
    DEFAULT_STATIC_POD_PATHS,
    ECR_ROLE_ARN,
    KubeletView,
    is_static_pod,
    version_of,
)
from pullguard.inventory.model import ImageField, ObjectRef
from pullguard.inventory.rbac import Role, Subject
from pullguard.inventory.resolve import Coverage, ImageJudgement, Resolution, SecretState
from pullguard.semantics.keyring import key_matches, lookup
from pullguard.semantics.kubelet_versions import (
    ENSURE_SECRET_PULLED_IMAGES,
    IMAGE_VOLUME,
    PREVENT_STATIC_POD_API_REFERENCES,
    feature_enabled,
)
from pullguard.semantics.matchimages import label_count_misses, never_matches, port_misses
from pullguard.sources.model import Location
from pullguard.text_safety import shell_word as q

_STANDARDS = ("CIS-5.4.1", "NIST-CM-6", "NIST-SP-800-190")
_PROVIDER_DOCS = "https://kubernetes.io/docs/tasks/administer-cluster/kubelet-credential-provider/"


def _config_of(resolution: Resolution, provider: CredentialProvider) -> ProviderConfig | None:
    for config in resolution.inventory.kubelet.provider_configs:
        if any(p is provider for p in config.providers):
            return config
    return None


def _config_ref(resolution: Resolution, provider: CredentialProvider) -> ObjectRef:
    config = _config_of(resolution, provider)
    return ObjectRef("CredentialProviderConfig", None, config.name if config else provider.location.path)


# -- PG018 ---------------------------------------------------------------------------------


@check(
    id="PG018",
    title="Credential provider matchImages entry that can never match",
    severity=Severity.MEDIUM,
    remediation=(
        "Write matchImages entries as the kubelet matches them (URLsMatch): a host whose labels are globbed "
        "one by one (`*.dkr.ecr.*.amazonaws.com`, `*.azurecr.io`), an optional port written exactly, and an "
        "optional literal path prefix without any `*`: `registry.example.com/team`, never "
        "`registry.example.com/*`. Each `*` stands for exactly one host label."
    ),
    standards=_STANDARDS,
)
def match_images_never_match(resolution: Resolution) -> Iterator[Hit]:
    """A `matchImages` entry of a CredentialProviderConfig that matches no image, as the kubelet matches.

    The kubelet asks a provider about an image only when an entry matches it with
    `URLsMatch` (kubernetes/kubernetes `pkg/credentialprovider/keyring.go`): the
    image's host must have the same number of `.`-separated labels as the entry,
    each entry label is a glob for one label, ports are compared as strings, and
    the entry's path is a literal prefix of the image's path. Validation accepts
    any entry that parses, so `registry.example.com/*` (path `/*`, which no image
    has), `https://registry.example.com` (the scheme becomes the host) or
    `*.example.com` for images on `reg.eu.example.com` (four labels, not three)
    are accepted and silently match nothing: the pods pull without the provider
    (a real mistake, kubernetes-sigs/kind#4185). Images of the input that the
    entry misses only by its label count are named.
    """
    view = resolution.kubelet
    if view is None:
        return
    hosts = [j.use.ref.domain for j in resolution.images if j.use.ref is not None]
    for provider in view.providers:
        matched_hosts = {h for h in hosts if any(_matches(e, h) for e in provider.match_images)}
        for entry in provider.match_images:
            why = never_matches(entry)
            if why is None:
                missed = [h for h in label_count_misses(entry, hosts) if h not in matched_hosts]
                other_port = [h for h in port_misses(entry, hosts) if h not in matched_hosts]
                if missed:
                    labels = entry.split("/", 1)[0].split(":", 1)[0].count(".") + 1
                    why = (
                        f"it has {labels} host labels and each `*` stands for exactly one, so it does not match "
                        f"{', '.join(missed[:3])} (images in the input)"
                    )
                elif other_port:
                    why = (
                        "ports are compared as strings, with no default port, so it does not match "
                        f"{', '.join(other_port[:3])} (images in the input)"
                    )
                else:
                    continue
            yield Hit(
                _config_ref(resolution, provider),
                f"Credential provider '{provider.name}': matchImages entry {entry!r} never matches: {why}. "
                "The kubelet does not ask the provider about those images and pulls them without it.",
                provider.location,
                f"Fix the entry in the CredentialProviderConfig (see {_PROVIDER_DOCS}), e.g. "
                f"{_suggest(entry)!r}, then restart the kubelet.",
            )


def _matches(entry: str, host: str) -> bool:
    return key_matches(entry, host + "/x")


def _suggest(entry: str) -> str:
    for glob in "*?[":
        head, sep, _ = entry.partition("/")
        if sep and glob in entry[len(head) :]:
            path = entry[len(head) :].split(glob, 1)[0].rstrip("/")
            return head + path
    return entry.removeprefix("https://").removeprefix("http://")


# -- PG019 ---------------------------------------------------------------------------------


@check(
    id="PG019",
    title="Kubelet credential configuration the kubelet refuses",
    severity=Severity.HIGH,
    remediation=(
        "Correct the CredentialProviderConfig (or KubeletConfiguration) field named in the finding; validate on "
        "one node first (`kubelet --image-credential-provider-config=FILE ...` refuses to start and logs the "
        "same error)."
    ),
    standards=_STANDARDS,
)
def kubelet_refuses_config(resolution: Resolution) -> Iterator[Hit]:
    """A CredentialProviderConfig or KubeletConfiguration the kubelet fails to load, so it does not start.

    Reproduces the kubelet's strict decoding (unknown fields, wrong types;
    `tokenAttributes` exists only in `kubelet.config.k8s.io/v1`), the merge of a
    configuration directory (a provider name seen twice is fatal) and
    `validateCredentialProviderConfig` (kubernetes/kubernetes
    `pkg/credentialprovider/plugin/config.go`): `defaultCacheDuration` and at least
    one valid `matchImages` entry are required, `tokenAttributes` needs the
    plugin API `credentialprovider.kubelet.k8s.io/v1`, an audience, a `cacheType`
    and `requireServiceAccount`, and is forbidden where the
    `KubeletServiceAccountTokenForCredentialProviders` feature is off (before
    v1.34 by default). A kubelet that refuses its configuration runs no pod on the
    node. Also the KubeletConfiguration's `imagePullCredentialsVerificationPolicy`
    and `preloadedImagesVerificationAllowlist` (fully qualified repositories, a
    trailing `/*` as the only wildcard).
    """
    view = resolution.kubelet
    if view is None:
        return
    by_name = {c.name: c for c in resolution.inventory.kubelet.provider_configs}
    by_path = {c.location.path: c for c in resolution.inventory.kubelet.provider_configs}
    version = f" v{view.version.major}.{view.version.minor}" if view.version else ""
    for error in view.config_errors:
        config = by_name.get(error.config) or by_path.get(error.config)
        location = config.location if config else Location(error.config, 1, error.line)
        where = f"{error.path}: " if error.path else ""
        yield Hit(
            ObjectRef("CredentialProviderConfig", None, config.name if config else error.config),
            f"The kubelet{version} refuses this credential provider configuration and does not start: "
            f"{where}{error.message}.",
            Location(location.path, location.document, error.line or location.line, location.item),
            "Fix the field; the kubelet validates the whole configuration (every file of a directory) at start-up.",
        )
    for settings in resolution.inventory.kubelet.kubelet_settings:
        for line, message in settings.errors:
            yield Hit(
                ObjectRef("KubeletConfiguration", None, settings.name),
                f"The kubelet refuses this KubeletConfiguration and does not start: {message}.",
                Location(settings.location.path, settings.location.document, line, settings.location.item),
                "Fix the field (see https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/).",
            )


# -- PG020 ---------------------------------------------------------------------------------


@check(
    id="PG020",
    title="Credential provider matches the image but gives the pod nothing",
    severity=Severity.MEDIUM,
    remediation=(
        "Give the pod's ServiceAccount the annotations the provider requires (requiredServiceAccountAnnotationKeys, "
        "and for the known plugins the one they read: `eks.amazonaws.com/ecr-role-arn` for ecr-credential-provider, "
        "`azure.workload.identity/client-id` and `azure.workload.identity/tenant-id` for acr-credential-provider), "
        "and list that annotation in the provider's tokenAttributes; or add a pull secret."
    ),
    standards=("CIS-5.4.1", "OWASP-NHI-06", "NIST-SP-800-190"),
)
def provider_gives_nothing(resolution: Resolution) -> Iterator[Hit]:
    """A private image a credential provider matches, for which the kubelet still gets no credential.

    In ServiceAccount-token mode (KEP-4412, `tokenAttributes`, on by default from
    v1.34) the kubelet does not invoke the provider for a pod without a
    ServiceAccount when `requireServiceAccount` is true (static pods), and gets an
    empty credential when the ServiceAccount lacks one of the
    `requiredServiceAccountAnnotationKeys`: it logs this at verbosity 5 only and
    pulls anonymously (kubernetes/kubernetes `pkg/credentialprovider/plugin/plugin.go`).
    The kubelet passes the plugin only the listed annotations, so
    `ecr-credential-provider` never sees `eks.amazonaws.com/ecr-role-arn` unless it
    is listed. Reported once per workload and provider reason, when nothing else
    covers the image.
    """
    seen: set[tuple[ObjectRef, str]] = set()
    for judgement in resolution.private_images():
        if judgement.coverage.configured or not judgement.notes:
            continue
        owner = judgement.pod.template.owner
        for note in judgement.notes:
            if (owner, note) in seen or "provider" not in note:
                continue
            seen.add((owner, note))
            yield Hit(
                owner,
                f"{owner.kind} '{owner.name}' in namespace '{owner.namespace}' pulls private image "
                f"'{judgement.use.image}' and a kubelet credential provider matches it, but gives it nothing: {note}.",
                judgement.use.location,
                "kubectl annotate serviceaccount "
                f"{q(judgement.pod.template.service_account)} -n {q(owner.namespace or 'default')} "
                "<annotation-key>=<value>\n"
                "and list the key in the provider's tokenAttributes.requiredServiceAccountAnnotationKeys",
                image=judgement.use.image,
                container=judgement.use.name,
            )


# -- PG021 ---------------------------------------------------------------------------------


@check(
    id="PG021",
    title="Matching pull secret is broken, masked by a node credential",
    severity=Severity.LOW,
    remediation=(
        "Fix or remove the pod's pull secret for this registry: the kubelet tries it first, and the pull works "
        "only because a node credential or provider tried after it succeeds."
    ),
    standards=("CIS-5.4.1", "CWE-522", "NIST-IA-5"),
)
def broken_secret_masked(resolution: Resolution) -> Iterator[Hit]:
    """A pull secret whose key matches the image but carries no username or password, masked by the node.

    The kubelet tries every matching credential in order: the pod's secrets, then
    the node's config.json, then the credential providers; the first that works
    wins (kubernetes/kubernetes `pkg/kubelet/kuberuntime/kuberuntime_image.go`). A
    matching entry with only an `identitytoken` (or empty credentials) is tried
    first and fails, and the pull works only because a node credential follows: it
    costs a failed registry request per pull, and breaks the day the node
    credential is removed or the pod moves to nodes without it.
    """
    for judgement in resolution.private_images():
        if judgement.coverage not in (Coverage.NODE, Coverage.PROVIDER, Coverage.PROVIDER_SA):
            continue
        pod = judgement.pod
        usable = pod.by_state(SecretState.USABLE)
        if not usable or judgement.use.ref is None:
            continue
        repository = judgement.use.ref.repository
        matched = lookup([loc for ref in usable for loc in ref.locations], repository)
        if not matched:
            continue
        names = [ref.name for ref in usable if any(loc in ref.locations for loc in matched)]
        owner = pod.template.owner
        served = (
            judgement.matches[0].via or judgement.matches[0].location
            if judgement.matches
            else "a node credential"
        )
        yield Hit(
            owner,
            f"{owner.kind} '{owner.name}' in namespace '{owner.namespace}': {noun(len(names), 'pull secret')} "
            f"{', '.join(repr(n) for n in names)} {'matches' if len(names) == 1 else 'match'} '{judgement.use.image}' "
            f"({', '.join(matched)}) but {'holds' if len(names) == 1 else 'hold'} no usable username and password; "
            f"the kubelet tries {'it' if len(names) == 1 else 'them'} first, and the pull works only because "
            f"{served} follows.",
            judgement.use.location,
            f"Re-create the secret with working credentials, or drop it from the pod: kubectl get secret "
            f"{q(names[0])} -n {q(owner.namespace or 'default')} -o jsonpath='{{.type}}'",
            image=judgement.use.image,
            container=judgement.use.name,
        )


# -- PG022 ---------------------------------------------------------------------------------

ENFORCE_MOUNTABLE = "kubernetes.io/enforce-mountable-secrets"
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")


@check(
    id="PG022",
    title="Pod pull secret not listed by an enforce-mountable-secrets ServiceAccount",
    severity=Severity.HIGH,
    remediation=(
        "Add the pull secret to the ServiceAccount's imagePullSecrets (or drop the pod's own list so the "
        "ServiceAccount's are used); better, remove the deprecated kubernetes.io/enforce-mountable-secrets "
        "annotation and separate workloads by namespace."
    ),
    standards=("CIS-5.4.1", "NIST-AC-6"),
)
def enforce_mountable_secrets(resolution: Resolution) -> Iterator[Hit]:
    """A pod whose imagePullSecrets are not all in its ServiceAccount's, when the ServiceAccount enforces them.

    With `kubernetes.io/enforce-mountable-secrets: "true"` on the ServiceAccount,
    the ServiceAccount admission plugin rejects a pod naming a pull secret that
    the ServiceAccount's `imagePullSecrets` does not list (Forbidden:
    `imagePullSecrets[0].name="x" is not allowed because service account y does
    not reference that imagePullSecret`; kubernetes/kubernetes
    `plugin/pkg/admission/serviceaccount/admission.go`). The annotation is
    deprecated since v1.32 (the API server warns) but still enforced. A
    workload's pods are never created.
    """
    for pod in resolution.pods:
        template, account = pod.template, pod.service_account
        if account is None or template.admitted or not template.pull_secrets:
            continue
        value = next((v for k, v in account.annotations if k == ENFORCE_MOUNTABLE), None)
        if value not in _GO_TRUE:
            continue
        missing = [name for name in template.pull_secrets if name not in account.pull_secrets]
        if not missing:
            continue
        owner = template.owner
        yield Hit(
            owner,
            f"{owner.kind} '{owner.name}' in namespace '{template.namespace}' names "
            f"{noun(len(missing), 'pull secret')} {', '.join(repr(n) for n in missing)} that ServiceAccount '{account.ref.name}' does not list, and the "
            f'ServiceAccount sets {ENFORCE_MOUNTABLE}: "{value}": the API server rejects its pods (Forbidden). '
            "The annotation is deprecated since v1.32 but still enforced.",
            template.location,
            f"kubectl patch serviceaccount {q(account.ref.name)} -n {q(template.namespace)} --dry-run=server "
            + "--type=json -p "
            + q(
                json.dumps(
                    [
                        {"op": "add", "path": "/imagePullSecrets/-", "value": {"name": name}}
                        for name in missing
                    ],
                    separators=(",", ":"),
                )
            ),
        )


# -- PG023 ---------------------------------------------------------------------------------


@check(
    id="PG023",
    title="Static pod names pull secrets",
    severity=Severity.HIGH,
    remediation=(
        "Static pods cannot use Secrets: remove imagePullSecrets from the manifest and give the node a "
        "credential for the registry (the kubelet's config.json or a credential provider with "
        "requireServiceAccount: false), or run the workload as a DaemonSet."
    ),
    standards=("CIS-5.4.1", "NIST-CM-6"),
)
def static_pod_pull_secrets(resolution: Resolution) -> Iterator[Hit]:
    """A static pod (a mirror pod, or a Pod manifest in a static-pod directory) with imagePullSecrets.

    A static pod is run by the kubelet from a file; it has no API object the
    node authorizer could tie a Secret to, so the kubelet can never read its pull
    secrets. From v1.34 (`PreventStaticPodAPIReferences`, beta and on; always
    on from v1.37) the kubelet rejects a static pod that references Secrets, a
    ServiceAccount or other API objects, so it does not run at all. Static-pod
    directories: `staticPodPath` of a KubeletConfiguration in the input, and
    `/etc/kubernetes/manifests`.
    """
    view = resolution.kubelet
    static_paths = view.static_pod_paths if view else ()
    rejects = view.enabled(PREVENT_STATIC_POD_API_REFERENCES) if view else None
    for pod in resolution.pods:
        template = pod.template
        if not template.pull_secrets:
            continue
        if not is_static_pod(template.owner.kind, template.annotations, template.location.path, static_paths):
            continue
        owner = template.owner
        if rejects:
            effect = "this kubelet rejects the static pod (PreventStaticPodAPIReferences): it does not run"
        elif rejects is False:
            effect = "the kubelet cannot read Secrets for a static pod, so the pull goes on without them"
        else:
            effect = (
                "from v1.34 the kubelet rejects such a static pod; before, it cannot read the Secrets and pulls "
                "without them"
            )
        yield Hit(
            owner,
            f"Static pod '{owner.name}' names {noun(len(template.pull_secrets), 'pull secret')} "
            f"{', '.join(repr(n) for n in template.pull_secrets)}: "
            f"{effect}. Its private images need a node credential.",
            template.location,
            "Remove spec.imagePullSecrets from the static pod manifest (under "
            f"{(static_paths or DEFAULT_STATIC_POD_PATHS)[0]}) and configure the node's config.json or a "
            "credential provider for the registry.",
        )


# -- PG024 ---------------------------------------------------------------------------------


@check(
    id="PG024",
    title="Image volume on a Kubernetes version where ImageVolume is off",
    severity=Severity.MEDIUM,
    remediation=(
        "Upgrade to v1.35 or later (ImageVolume on by default), or enable the ImageVolume feature gate on the "
        "API server and every kubelet, or ship the content in an init container instead."
    ),
    standards=("NIST-CM-6",),
)
def image_volume_off(resolution: Resolution) -> Iterator[Hit]:
    """A pod template with an `image` volume, judged for a version where the ImageVolume feature is off.

    `ImageVolume` is alpha (off) from v1.31, beta but off by default in
    v1.33-v1.34, and on by default from v1.35 (kubernetes/kubernetes
    `pkg/features/kube_features.go`). Where it is off the API server drops or
    rejects the volume and the kubelet cannot mount it. Judged only when the
    Kubernetes version is known (`--kubernetes-version`, `kubelet.kubernetesVersion`,
    or the nodes of a live cluster); an explicit `featureGates` entry wins.
    """
    view = resolution.kubelet
    if view is None or view.version is None or view.enabled(IMAGE_VOLUME):
        return
    for pod in resolution.pods:
        for use in pod.template.images:
            if use.field is not ImageField.IMAGE_VOLUME:
                continue
            owner = pod.template.owner
            yield Hit(
                owner,
                f"{owner.kind} '{owner.name}' mounts image volume '{use.name}' ({use.image}), but on "
                f"{view.version.short} the ImageVolume feature is off (on by default from v1.35): the pod is "
                "rejected or the volume cannot be mounted.",
                use.location,
                "Enable the ImageVolume feature gate (--feature-gates=ImageVolume=true on kube-apiserver and "
                "kubelet) or upgrade to v1.35+.",
                image=use.image,
                container=use.name,
            )


# -- PG025 ---------------------------------------------------------------------------------


def node_policy(view: KubeletView, node_version: str | None) -> tuple[str | None, bool | None]:
    """(effective verification policy, ensure-secret-pulled-images on) for one node's kubelet."""
    version = version_of(node_version) or view.version
    if version is None:
        return view.configured_policy, None
    ensure = feature_enabled(ENSURE_SECRET_PULLED_IMAGES, version, view.gates)
    if not ensure:
        return "NeverVerify", False
    # the view's policy was defaulted for its own version; a node of another version defaults by its own
    return view.configured_policy or DEFAULT_POLICY, True


@check(
    id="PG025",
    title="Private image that runs only from a node's image cache",
    severity=Severity.HIGH,
    remediation=(
        "Give the workload a credential for the image (a pull secret on it or its ServiceAccount, a node "
        "credential, or a credential provider), or, for images the nodes preload on purpose, list them in the "
        "kubelet's preloadedImagesVerificationAllowlist."
    ),
    standards=("CIS-5.4.1", "OWASP-NHI-08", "NIST-AC-6"),
)
def runs_only_from_cache(resolution: Resolution) -> Iterator[Hit]:
    """A live container running a private image it has no credential for, with pull policy IfNotPresent or Never.

    The kubelet finds the image on the node and does not pull. On kubelets before
    v1.35, or with `imagePullCredentialsVerificationPolicy: NeverVerify`, any pod
    may use any image present on the node: the workload runs on someone else's
    pull, and a reschedule to a node without the image fails (a latent outage and
    a tenant-isolation gap). From v1.35 (`KubeletEnsureSecretPulledImages`, on by
    default, policy `NeverVerifyPreloadedImages`) the kubelet re-verifies images it
    pulled with another pod's credentials: the container fails on its next start
    (`ErrImageNeverPull` with `Never`, a refused anonymous re-pull with
    `IfNotPresent`), and works only where the image was preloaded or cached before
    the upgrade (KEP-2535; kubernetes/kubernetes
    `pkg/kubelet/images/pullmanager/image_pull_manager.go`). Rated by each node's
    `kubeletVersion` and the configured policy.
    """
    view = resolution.kubelet
    if view is None:
        return
    inventory = resolution.inventory
    versions = {node.name: node.kubelet_version for node in inventory.kubelet.nodes}
    judged: dict[tuple[ObjectRef, str], ImageJudgement] = {}
    for private in resolution.private_images():
        judged.setdefault((private.pod.template.owner, private.use.name), private)
    seen: set[tuple[ObjectRef, str, str | None]] = set()
    for container in inventory.kubelet.containers:
        if container.pull_policy not in ("IfNotPresent", "Never") or container.image_id is None:
            continue
        owner = ObjectRef(container.owner_kind, container.namespace, container.owner_name)
        judgement = judged.get((owner, container.container))
        if judgement is None or judgement.coverage is not Coverage.NONE:
            continue
        key = (owner, container.container, container.node)
        if key in seen:
            continue
        seen.add(key)
        node_version = versions.get(container.node or "")
        policy, ensure = node_policy(view, node_version)
        on = f"node '{container.node}' (kubelet {node_version or 'version unknown'}, policy {policy or 'unknown'})"
        if ensure is False or policy == "NeverVerify":
            severity = Severity.HIGH
            effect = (
                "it runs only because the image is in the node's cache, pulled by another pod with its "
                "credentials: a reschedule to a node without the image fails (ImagePullBackOff), and the "
                "workload uses another tenant's pull"
            )
        elif ensure:
            severity = Severity.MEDIUM
            effect = (
                "this kubelet re-verifies images pulled with another pod's credentials (KEP-2535): the container "
                "fails on its next start (ErrImageNeverPull with pull policy Never, a refused anonymous re-pull "
                "with IfNotPresent), unless the image was preloaded or cached before the upgrade"
            )
        else:
            severity = Severity.HIGH
            effect = "it runs only from the node's image cache (the kubelet version is unknown)"
        yield Hit(
            owner,
            f"{owner.kind} '{owner.name}' in namespace '{container.namespace}': container '{container.container}' "
            f"runs private image '{container.image}' (imagePullPolicy {container.pull_policy}) on {on} with no "
            f"credential for it ({judgement.cause or 'none'}); {effect}.",
            judgement.use.location,
            remedies.create_pull_secret(
                "regcred",
                container.namespace,
                judgement.use.ref.domain if judgement.use.ref else "<registry>",
            )
            + "\n"
            + remedies.attach_to_service_account(
                "regcred", judgement.pod.template.service_account, container.namespace
            ),
            image=container.image,
            container=container.container,
            severity=severity,
        )


__all__ = [
    "audience_not_granted",
    "broken_secret_masked",
    "ecr_role_unused",
    "enforce_mountable_secrets",
    "image_volume_off",
    "kubelet_refuses_config",
    "match_images_never_match",
    "pod_facts",
    "provider_gives_nothing",
    "runs_only_from_cache",
    "static_pod_pull_secrets",
]


# -- PG026 ---------------------------------------------------------------------------------

AUDIENCE_VERB = "request-serviceaccounts-token-audience"


def _grants_audience(role: Role, audience: str) -> bool:
    return any(
        (AUDIENCE_VERB in rule.verbs or "*" in rule.verbs)
        and (audience in rule.resources or "*" in rule.resources)
        and ("" in rule.api_groups or "*" in rule.api_groups)
        for rule in role.rules
    )


def _to_nodes(subjects: tuple[Subject, ...]) -> bool:
    return any(
        (s.kind == "Group" and s.name == "system:nodes")
        or (s.kind == "User" and s.name.startswith("system:node:"))
        for s in subjects
    )


@check(
    id="PG026",
    title="Token-mode credential provider audience the nodes may not request",
    severity=Severity.MEDIUM,
    remediation=(
        "Let the nodes request ServiceAccount tokens for the provider's audience: a ClusterRole with verb "
        f"{AUDIENCE_VERB} on the audience as resource (resourceNames: the ServiceAccounts, or none for all), "
        "bound to the group system:nodes."
    ),
    standards=("NIST-AC-6", "NIST-CM-6"),
)
def audience_not_granted(resolution: Resolution) -> Iterator[Hit]:
    """A credential provider in ServiceAccount-token mode whose audience no RBAC lets the nodes request.

    With `ServiceAccountNodeAudienceRestriction` (beta and on by default from
    v1.32) the API server issues a node a token for an audience only when a pod
    volume on that node names the audience, or when RBAC grants the node the verb
    `request-serviceaccounts-token-audience` on that audience (KEP-4412). Without
    the grant the kubelet's TokenRequest is forbidden, the provider gets no token
    and the pod pulls without credentials ("audience ... not found in pod spec
    volume", kubernetes-sigs/kind#4185). Judged only when the input holds
    ClusterRoleBindings; direct rules are read, aggregated roles are not followed.
    """
    view = resolution.kubelet
    inventory = resolution.inventory
    if view is None or view.config_errors or not inventory.cluster_role_bindings:
        return
    granted: set[str] = set()
    for binding in inventory.cluster_role_bindings:
        role = inventory.cluster_roles.get(binding.role_name)
        if role is None or binding.role_kind != "ClusterRole" or not _to_nodes(binding.subjects):
            continue
        for provider in view.providers:
            token = provider.token_attributes
            if token is not None and _grants_audience(role, token.audience):
                granted.add(token.audience)
    for provider in view.providers:
        token = provider.token_attributes
        if token is None or not token.audience or token.audience in granted:
            continue
        yield Hit(
            _config_ref(resolution, provider),
            f"Credential provider '{provider.name}' asks the kubelet for ServiceAccount tokens with audience "
            f"'{token.audience}', but no ClusterRoleBinding in the input lets system:nodes "
            f"{AUDIENCE_VERB} '{token.audience}': the API server refuses the kubelet's TokenRequest "
            "(ServiceAccountNodeAudienceRestriction, on since v1.32) and the pods matched by this provider pull "
            "without credentials.",
            provider.location,
            "kubectl apply --dry-run=server -f - <<'EOF'   # then again without --dry-run\n"
            "apiVersion: rbac.authorization.k8s.io/v1\n"
            "kind: ClusterRole\n"
            "metadata: {name: kubelet-credential-provider-audiences}\n"
            f'rules: [{{apiGroups: [""], resources: ["{token.audience}"], verbs: ["{AUDIENCE_VERB}"]}}]\n'
            "---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\n"
            "kind: ClusterRoleBinding\n"
            "metadata: {name: kubelet-credential-provider-audiences}\n"
            "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubelet-credential-provider-audiences}\n"
            "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes}]\n"
            "EOF",
        )


# -- PG027 ---------------------------------------------------------------------------------


@check(
    id="PG027",
    title="ecr-role-arn on a ServiceAccount whose images the node's identity pulls",
    severity=Severity.LOW,
    remediation=(
        "Either run ecr-credential-provider in ServiceAccount-token mode (tokenAttributes with "
        "serviceAccountTokenAudience sts.amazonaws.com and eks.amazonaws.com/ecr-role-arn in "
        "requiredServiceAccountAnnotationKeys, kubelet v1.34+ and provider v1.34+) so the role is used, or "
        "remove the annotation and its IAM role: today the node role pulls for every pod."
    ),
    standards=("OWASP-NHI-05", "NIST-AC-6"),
)
def ecr_role_unused(resolution: Resolution) -> Iterator[Hit]:
    """A ServiceAccount with `eks.amazonaws.com/ecr-role-arn` whose ECR images a provider pulls with the node's role.

    `eks.amazonaws.com/ecr-role-arn` exists only for `ecr-credential-provider` in
    ServiceAccount-token mode (KEP-4412; kubernetes/cloud-provider-aws
    `cmd/ecr-credential-provider/main.go`, v1.34.0+). When the provider that
    matches the image has no `tokenAttributes`, the kubelet invokes it without
    the pod's token and it pulls with the node's IAM role: the per-workload
    role is never used, and every pod on the node can pull what the node role
    can. Reported once per workload.
    """
    seen: set[ObjectRef] = set()
    for judgement in resolution.images:
        if judgement.coverage is not Coverage.PROVIDER:
            continue
        account = judgement.pod.service_account
        role = next((v for k, v in account.annotations if k == ECR_ROLE_ARN), None) if account else None
        owner = judgement.pod.template.owner
        if not role or owner in seen:
            continue
        seen.add(owner)
        via = judgement.matches[0].via if judgement.matches else "a credential provider"
        yield Hit(
            owner,
            f"{owner.kind} '{owner.name}' in namespace '{owner.namespace}' runs as ServiceAccount "
            f"'{judgement.pod.template.service_account}' with {ECR_ROLE_ARN}={role}, but '{judgement.use.image}' is "
            f"pulled by {via}: the provider has no tokenAttributes, so it never gets the pod's token and the "
            "role is not used.",
            judgement.use.location,
            "Add tokenAttributes to the provider (requiredServiceAccountAnnotationKeys: "
            f"[{ECR_ROLE_ARN}]) on v1.34+ nodes, or remove the annotation.",
            image=judgement.use.image,
            container=judgement.use.name,
        )
