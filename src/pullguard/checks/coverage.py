"""PG001–PG004: does every pod have working pull credentials for its private images?"""

from __future__ import annotations

from collections.abc import Iterator

from pullguard.checks import remedies
from pullguard.checks.base import Hit, Severity, check
from pullguard.inventory.model import ObjectRef, Secret
from pullguard.inventory.resolve import Coverage, Resolution, SecretsFrom, SecretState
from pullguard.semantics.keyring import lookup
from pullguard.semantics.registries import Visibility
from pullguard.semantics.templates import has_template_marker
from pullguard.sources.model import Location
from pullguard.text_safety import shell_word as q

_STANDARDS = ("CIS-5.4.1", "CWE-522", "NIST-IA-5", "NIST-CSF-PR.AC-1")


def _named(owner: ObjectRef) -> str:
    return f"{owner.kind} '{owner.name}' in namespace '{owner.namespace}'"


@check(
    id="PG001",
    title="Private image without pull credentials",
    severity=Severity.LOW,
    remediation=(
        "Create a kubernetes.io/dockerconfigjson secret for the registry and attach it to the "
        "ServiceAccount the pod runs as (all its pods inherit it), or list it in the pod template's "
        "imagePullSecrets. On EKS, GKE and AKS prefer node identity or a kubelet credential provider, "
        "and declare it in the configuration (nodeCredentials / --node-credentials)."
    ),
    standards=_STANDARDS,
    seeds=("003", "002 §6", "004"),
)
def private_image_without_credentials(resolution: Resolution) -> Iterator[Hit]:
    """A container image from a private registry, with no credential the kubelet would use for it.

    The kubelet pulls with the keys of the pod's pull secrets that match the image's
    registry (the pod's own `imagePullSecrets`, or, only when it declares none, its
    ServiceAccount's), then with the node's credentials. Without any, the pull is
    anonymous: a private registry answers 401 and the pod stays in ImagePullBackOff —
    or the registry is not really private. The finding names the reason: no secrets
    at all, a referenced secret that does not exist, a secret of the wrong type, a
    secret none of whose keys match (with the keys tried), or a malformed secret
    that breaks every pull of the pod.
    """
    for judgement in resolution.private_images():
        if judgement.coverage.configured or judgement.coverage is Coverage.UNVERIFIABLE:
            continue
        pod, use = judgement.pod, judgement.use
        owner = pod.template.owner
        assert use.ref is not None
        what = "image volume" if use.field.value == "volumes" else "container"
        if not pod.references:
            message = (
                f"{owner.kind} '{owner.name}' references private image '{use.image}' but does not specify "
                f"ImagePullSecrets ({what} '{use.name}', namespace '{owner.namespace}'; {judgement.cause})."
            )
        else:
            message = (
                f"{owner.kind} '{owner.name}' references private image '{use.image}' but has no usable pull "
                f"credentials for it ({what} '{use.name}', namespace '{owner.namespace}'): {judgement.cause}."
            )
        node = resolution.settings.node_credentials
        if node:  # say what was assumed, so a missing nodeCredentials entry is visible
            assumed = ", ".join(f"{n.registry} (via {n.via})" for n in node)
            message += f" Node credentials are assumed only for {assumed}; none matches this image."
        yield Hit(
            owner,
            message,
            use.location,
            _pg001_fix(
                resolution, judgement.pod.template.service_account, owner, use.ref.domain, pod.secrets_from
            ),
            image=use.image,
            container=use.name,
        )


def _pg001_fix(
    resolution: Resolution, account: str, owner: ObjectRef, server: str, secrets_from: SecretsFrom
) -> str:
    namespace = owner.namespace or "default"
    steps = [remedies.create_pull_secret("regcred", namespace, server)]
    if secrets_from is SecretsFrom.POD:
        steps.append(
            "The pod template lists its own imagePullSecrets, so the ServiceAccount's are not used: "
            "add the secret to the template:\n" + remedies.attach_to_workload("regcred", owner)
        )
    else:
        steps.append(remedies.attach_to_service_account("regcred", account, namespace))
    return "\n".join(steps)


@check(
    id="PG002",
    title="Referenced pull secret does not exist",
    severity=Severity.MEDIUM,
    remediation=(
        "Create the secret in the pod's namespace (pull secrets are namespace-local), or fix the name "
        "in imagePullSecrets."
    ),
    standards=_STANDARDS,
    seeds=("002 §5.2", "004"),
)
def missing_pull_secret(resolution: Resolution) -> Iterator[Hit]:
    """A pod template or ServiceAccount names a pull secret that is not in its namespace.

    The API server accepts the reference without checking it; the kubelet logs
    that the secret is missing and pulls without it. Pull secrets are always read
    from the pod's own namespace: a secret of the same name elsewhere does not help.
    A ServiceAccount's references are reported on the ServiceAccount itself, once,
    whether or not a pod in the input runs as it. When scanning files the finding
    says the secret "is not in the input": it may be created outside the
    repository (by hand or by a CI job) — scan it together with the manifests.
    """
    users: dict[tuple[str, str], ObjectRef] = {}
    for pod in resolution.pods:
        if pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT and pod.service_account is not None:
            users.setdefault((pod.template.namespace, pod.service_account.ref.name), pod.template.owner)
    secrets = resolution.inventory.secrets
    # every ServiceAccount, used by a pod in the input or not: they are often deployed on their own
    for (namespace, name), account in sorted(resolution.inventory.service_accounts.items()):
        for secret in dict.fromkeys(account.pull_secrets):
            if (namespace, secret) in secrets or has_template_marker(secret):
                continue
            user = users.get((namespace, name))
            yield Hit(
                account.ref,
                f"ServiceAccount '{name}' in namespace '{namespace}' lists pull secret '{secret}', which "
                f"{_absent(account.location, namespace)}; pods running as it"
                + (f" (such as {user})" if user else "")
                + " pull without it.",
                account.location,
                remedies.create_pull_secret(secret, namespace, "<registry>"),
                secret=secret,
            )
    for pod in resolution.pods:
        if pod.secrets_from is not SecretsFrom.POD:
            continue  # inherited references are reported above, once, on the ServiceAccount
        namespace = pod.template.namespace
        for ref in pod.by_state(SecretState.MISSING):
            owner = pod.template.owner
            yield Hit(
                owner,
                f"{_named(owner)} references pull secret '{ref.name}', which "
                f"{_absent(pod.template.location, namespace)}; the kubelet skips it.",
                pod.template.location,
                remedies.create_pull_secret(ref.name, namespace, "<registry>"),
                secret=ref.name,
            )


def _absent(where: Location, namespace: str) -> str:
    """A live cluster says what exists; files only what is in the input."""
    if ":/api/" in where.path or ":/apis/" in where.path:
        return f"does not exist in namespace '{namespace}'"
    return f"is not in the input (namespace '{namespace}')"


@check(
    id="PG003",
    title="Pull secret of the wrong type, or malformed",
    severity=Severity.HIGH,
    remediation=(
        "Recreate the secret with type kubernetes.io/dockerconfigjson and a valid .dockerconfigjson "
        "(`kubectl create secret docker-registry`); check that each `auth` is base64 of user:password."
    ),
    standards=("CWE-522", "NIST-IA-5"),
    seeds=("002 §2",),
)
def wrong_type_or_malformed(resolution: Resolution) -> Iterator[Hit]:
    """A pull secret the kubelet cannot use: wrong type, empty, or not decodable.

    The kubelet reads only secrets of type `kubernetes.io/dockerconfigjson` (key
    `.dockerconfigjson`) and `kubernetes.io/dockercfg` (key `.dockercfg`): an
    `Opaque` secret holding a `.dockerconfigjson` key is silently ignored. A pull
    secret of the right type whose JSON does not decode — including an `auth`
    that is not base64 of `user:password` — makes the kubelet's keyring fail, and
    then every pull of every pod using it fails, public images included.
    """
    referenced: dict[tuple[str, str], dict[ObjectRef, None]] = {}  # users in order, once each
    for pod in resolution.pods:
        for ref in pod.references:
            if ref.secret is not None and ref.state in (
                SecretState.WRONG_TYPE,
                SecretState.EMPTY,
                SecretState.MALFORMED,
            ):
                key = (pod.template.namespace, ref.name)
                user = (
                    pod.service_account.ref
                    if (pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT and pod.service_account)
                    else pod.template.owner
                )
                referenced.setdefault(key, {})[user] = None
    for (namespace, name), secret in sorted(resolution.inventory.secrets.items()):
        finding = _secret_defect(secret, list(referenced.get((namespace, name), ())))
        if finding is not None:
            yield finding


def _secret_defect(secret: Secret, users: list[ObjectRef]) -> Hit | None:
    name, namespace = secret.ref.name, secret.ref.namespace or "default"
    used_by = (
        f" It is referenced by {', '.join(str(u) for u in users[:3])}"
        + (f" and {len(users) - 3} more." if len(users) > 3 else ".")
        if users
        else ""
    )
    payload = secret.payload
    if payload is not None and payload.error is not None:
        return Hit(
            secret.ref,
            f"Secret '{name}' in namespace '{namespace}' ({secret.type}) cannot be decoded by the kubelet: "
            f"{payload.error}. Every pull of every pod using it fails, even of public images.{used_by}",
            secret.location,
            f"kubectl create secret docker-registry {q(name)} --namespace {q(namespace)} --docker-server=<registry> "
            f'--docker-username=<username> --docker-password="$(cat <password-file>)" '
            f"--dry-run=client -o yaml | kubectl apply -f -",
        )
    if payload is not None and payload.missing and users:
        return Hit(
            secret.ref,
            f"Secret '{name}' in namespace '{namespace}' has type {secret.type} but no {payload.data_key} data; "
            f"the kubelet ignores it.{used_by}",
            secret.location,
            remedies.create_pull_secret(name, namespace, "<registry>"),
        )
    if payload is None and (users or secret.docker_keys_in_wrong_type):
        keys = ", ".join(secret.docker_keys_in_wrong_type) or "no registry key"
        return Hit(
            secret.ref,
            f"Secret '{name}' in namespace '{namespace}' has type {secret.type} (with {keys}); the kubelet "
            f"reads only kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg secrets, so it is ignored "
            f"for image pulls.{used_by}",
            secret.location,
            f"Recreate it with the right type (the type of a Secret cannot be changed in place):\n"
            f"kubectl get secret {q(name)} -n {q(namespace)} -o jsonpath='{{.data.\\.dockerconfigjson}}' | base64 -d "
            f"> config.json\nkubectl delete secret {q(name)} -n {q(namespace)}\n"
            f"kubectl create secret generic {q(name)} -n {q(namespace)} --type=kubernetes.io/dockerconfigjson "
            f"--from-file=.dockerconfigjson=config.json && shred -u config.json",
        )
    return None


@check(
    id="PG004",
    title="Pull secret matches none of the pod's images",
    severity=Severity.MEDIUM,
    remediation=(
        "Add an auths entry for the image's registry (the key is host[:port][/path], matched per host "
        "label with * globs, equal ports and a path prefix), or reference the secret that has one."
    ),
    standards=_STANDARDS,
    seeds=("002 §2", "003"),
)
def secret_for_wrong_registry(resolution: Resolution) -> Iterator[Hit]:
    """A pod template lists a pull secret whose keys match none of its private or unknown images.

    The kubelet picks credentials by matching each `auths` key against the image:
    the scheme is ignored, `/v1/` and `/v2/` are stripped, host labels are matched
    one by one with `*` globs, ports must be equal (no default port is implied) and
    the key's path must be a string prefix of the repository. A secret written for
    `registry.example.com` does not cover `registry.example.com:5000/app`, and a key
    `*.example.com` does not cover `a.b.example.com`.
    """
    for pod in resolution.pods:
        if pod.secrets_from is not SecretsFrom.POD:
            continue
        candidates = [
            j
            for j in resolution.images_of(pod)
            if j.use.ref is not None and j.visibility is not Visibility.PUBLIC
        ]
        if not candidates:
            continue
        for ref in pod.by_state(SecretState.USABLE):
            if any(lookup(ref.locations, j.use.ref.repository) for j in candidates if j.use.ref):
                continue
            owner = pod.template.owner
            images = ", ".join(sorted({j.use.image for j in candidates}))
            yield Hit(
                owner,
                f"{_named(owner)} lists pull secret '{ref.name}' (keys: {', '.join(ref.locations) or 'none'}), "
                f"but none of its keys matches the pod's images ({images}).",
                pod.template.location,
                f"Add a key for the image's registry to '{ref.name}', or reference the secret that has one.",
                image=candidates[0].use.image,
                secret=ref.name,
            )
