"""PG005–PG009: the lifecycle of pull-secret credentials — age, short-lived tokens, reuse, scope, use."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from pullguard.checks import remedies
from pullguard.checks.base import Hit, Severity, check
from pullguard.counts import plural
from pullguard.inventory.age import AgeEvidence, CredentialAge, credential_age, refresh_interval
from pullguard.inventory.evidence import credential_entries, without_credential
from pullguard.inventory.fingerprint import credential_fingerprint
from pullguard.inventory.model import ObjectRef, Secret, SecretOrigin
from pullguard.inventory.resolve import Resolution, SecretsFrom, SecretState
from pullguard.semantics.dockerconfig import AuthEntry
from pullguard.semantics.issued_tokens import registry_issued
from pullguard.semantics.keyring import parse_registry_key
from pullguard.settings import AuditSettings
from pullguard.text_safety import shell_word as q


def _settings(resolution: Resolution) -> AuditSettings:
    return resolution.settings


def _named(ref: ObjectRef) -> str:
    return f"'{ref.name}' in namespace '{ref.namespace or 'default'}'"


def _readable_entries(secret: Secret) -> tuple[AuthEntry, ...]:
    # entries without a username or password hold no credential to age, expire, reuse or scope (PG030)
    return credential_entries(secret)


# -- PG005 ---------------------------------------------------------------------------------


@check(
    id="PG005",
    title="Pull secret credential older than the maximum age",
    severity=Severity.MEDIUM,
    remediation=(
        "Issue a new registry credential, replace the secret's data in place, record the rotation, then revoke "
        "the old credential at the registry:\n"
        "kubectl create secret docker-registry NAME --namespace NS --docker-server=<registry> "
        '--docker-username=<username> --docker-password="$(cat <new-password-file>)" --dry-run=client -o yaml '
        "| kubectl apply -f -\n"
        "kubectl annotate secret NAME --namespace NS --overwrite "
        'pullguard.io/rotated-at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"\n'
        "Better: let a controller refresh it (External Secrets Operator with a refreshInterval, or a "
        "generator such as ECRAuthorizationToken), or drop the secret for node identity / a kubelet credential "
        "provider. The maximum is maxCredentialAgeDays in .pullguard.yaml or --max-age (default 90)."
    ),
    standards=("NIST-IA-5(1)", "CWE-262", "OWASP-NHI-07", "NIST-CSF-PR.AC-1"),
    seeds=("003", "001 §4", "000"),
)
def credential_too_old(resolution: Resolution) -> Iterator[Hit]:
    """A pull secret whose credential was last written longer ago than the maximum age (default 90 days).

    The age comes from the best evidence in the input, and the finding names it:
    the `pullguard.io/rotated-at` annotation (RFC 3339 time, written when a
    credential is rotated; set it yourself after a manual rotation), then the
    latest `metadata.managedFields` time of a manager that wrote `data` or
    `stringData` (live objects and `kubectl get -o yaml --show-managed-fields`
    dumps), then `metadata.creationTimestamp`. Manifests in a repository
    usually carry none of these: their age is unknown, and such secrets are
    counted in the report (`pullSecrets[].age`, the text summary) rather than
    guessed. Secrets written by the External Secrets Operator are refreshed every
    `refreshInterval` (default 1h) and count as rotated. Secrets holding only
    short-lived registry tokens are left to PG006.
    """
    settings = _settings(resolution)
    limit = settings.max_age_days
    for secret in sorted(resolution.inventory.secrets.values(), key=lambda s: s.ref):
        if not secret.is_pull_secret_type:
            continue
        age = credential_age(secret, settings.now)
        if age.since is None or age.days is None or age.days <= limit or without_credential(secret):
            continue
        entries = _readable_entries(secret)
        if entries and all(registry_issued(e) is not None for e in entries):
            continue  # PG006 says more
        name, namespace = secret.ref.name, secret.ref.namespace or "default"
        note = f" ({age.note})" if age.note else ""
        yield Hit(
            secret.ref,
            f"Pull secret {_named(secret.ref)} holds a credential last written {plural(int(age.days), 'day')} ago "
            f"({age.since:%Y-%m-%d}, from {age.evidence.value}{note}), over the maximum of {plural(limit, 'day')}: "
            "rotate it, and revoke the old credential at the registry.",
            secret.location,
            "\n".join(
                (
                    remedies.create_pull_secret(name, namespace, _first_server(secret))
                    + " --dry-run=client -o yaml | kubectl apply -f -",
                    f"kubectl annotate secret {q(name)} --namespace {q(namespace)} --overwrite "
                    'pullguard.io/rotated-at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"',
                    "then revoke the old credential at the registry.",
                )
            ),
        )


def _first_server(secret: Secret) -> str:
    entries = _readable_entries(secret)
    return entries[0].key if entries else "<registry>"


# -- PG006 ---------------------------------------------------------------------------------


_REFRESH = {
    "aws": (
        "Refresh options (https://kubernetes.io/docs/tasks/administer-cluster/kubelet-credential-provider/): (1) node identity: give the node role AmazonEC2ContainerRegistryReadOnly "
        "and drop the secret (EKS does this by default); (2) a kubelet credential provider "
        "(ecr-credential-provider, CredentialProviderConfig, v1.26+) on self-managed nodes; (3) let the External "
        "Secrets Operator write it from an ECRAuthorizationToken generator; (4) a CronJob running "
        "`aws ecr get-login-password` every 8 hours that re-creates the secret:\n"
        "kubectl create secret docker-registry {name} --namespace {namespace} --docker-server={server} "
        '--docker-username=AWS --docker-password="$(aws ecr get-login-password)" --dry-run=client -o yaml '
        "| kubectl apply -f -"
    ),
    "gcp": (
        "Refresh options (https://kubernetes.io/docs/tasks/administer-cluster/kubelet-credential-provider/): (1) node identity: grant the node service account "
        "roles/artifactregistry.reader and drop the secret (GKE pulls with it); (2) a kubelet credential "
        "provider on self-managed nodes; (3) let the External Secrets Operator write it from a GCRAccessToken "
        "generator; (4) a CronJob that re-creates it with a fresh token every 30 minutes:\n"
        "kubectl create secret docker-registry {name} --namespace {namespace} --docker-server={server} "
        '--docker-username=oauth2accesstoken --docker-password="$(gcloud auth print-access-token)" '
        "--dry-run=client -o yaml | kubectl apply -f -\n"
        "Then delete the service-account key: gcloud iam service-accounts keys delete <KEY_ID> "
        "--iam-account=<SA_EMAIL>"
    ),
    "azure": (
        "Refresh options (https://kubernetes.io/docs/tasks/administer-cluster/kubelet-credential-provider/): (1) node identity: `az aks update -n <cluster> -g <group> "
        "--attach-acr <registry>` and drop the secret; (2) a kubelet credential provider (acr-credential-provider) "
        "on self-managed nodes; (3) let the External Secrets Operator write it from an ACRAccessToken generator; "
        "(4) a CronJob that re-creates it every 2 hours:\n"
        "kubectl create secret docker-registry {name} --namespace {namespace} --docker-server={server} "
        "--docker-username=00000000-0000-0000-0000-000000000000 "
        '--docker-password="$(az acr login -n <registry> --expose-token --query accessToken -o tsv)" '
        "--dry-run=client -o yaml | kubectl apply -f -"
    ),
}


@check(
    id="PG006",
    title="Static credential for a registry that issues short-lived tokens",
    severity=Severity.MEDIUM,
    remediation=(
        "Let something refresh the token, or stop storing it: node identity (EKS node role with "
        "AmazonEC2ContainerRegistryReadOnly, GKE node service account, AKS kubelet identity attached to the "
        "ACR), a kubelet credential provider (v1.26+), the External Secrets Operator with an "
        "ECRAuthorizationToken / GCRAccessToken / ACRAccessToken generator, or a CronJob that re-creates the "
        "secret before the token expires (`aws ecr get-login-password` every 8 hours). Replace Google "
        "service-account keys (_json_key) with one of these, then delete the key."
    ),
    standards=("OWASP-NHI-07", "NIST-IA-5", "CWE-522", "NIST-CSF-PR.AC-1"),
    seeds=("002 §5.1", "001 §3"),
)
def static_short_lived_token(resolution: Resolution) -> Iterator[Hit]:
    """A plain pull secret holding a token that its registry issues for hours, or a long-lived cloud key.

    Amazon ECR (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`, `public.ecr.aws`) issues
    authorization tokens valid for 12 hours; Google's `oauth2accesstoken` lives
    about an hour; Azure Container Registry tokens (user
    `00000000-0000-0000-0000-000000000000`) about three. Written once into a
    secret, such a token is expired — or about to be — and pods fail with
    ImagePullBackOff at the next reschedule or scale-up. When the secret's age is
    known (see PG005) the finding says how long ago the token expired, or when it
    will. Google service-account keys (`_json_key`, `_json_key_base64`) are the
    opposite problem: valid until someone revokes them, and a stolen copy grants
    registry access (often more) indefinitely — reported with high severity.
    Secrets written by the External Secrets Operator (generators refresh them)
    are not reported.
    """
    now = _settings(resolution).now
    for secret in sorted(resolution.inventory.secrets.values(), key=lambda s: s.ref):
        issued = [(entry, kind) for entry in _readable_entries(secret) if (kind := registry_issued(entry))]
        if not issued or refresh_interval(secret) is not None:
            continue
        age = credential_age(secret, now)
        keys = ", ".join(dict.fromkeys(entry.key for entry, _ in issued))
        kinds = list(dict.fromkeys(kind for _, kind in issued))
        long_lived = any(kind.lifetime_hours is None for kind in kinds)
        what = " and ".join(kind.what for kind in kinds)
        parts = [f"Pull secret {_named(secret.ref)} stores {what} for {keys}"]
        shortest = min((k.lifetime_hours for k in kinds if k.lifetime_hours is not None), default=None)
        if shortest is not None:
            parts.append(_expiry(age, shortest))
        if long_lived:
            parts.append(
                "a service-account key does not expire: anyone who reads this secret can pull (and often do "
                "much more) until the key is deleted — high risk"
            )
        name, namespace = secret.ref.name, secret.ref.namespace or "default"
        fixes = [
            _REFRESH[cloud].format(name=q(name), namespace=q(namespace), server=q(issued[0][0].key))
            for cloud in dict.fromkeys(kind.cloud for kind in kinds)
        ]
        yield Hit(
            secret.ref,
            "; ".join(parts) + ".",
            secret.location,
            "\n".join(fixes),
            severity=Severity.HIGH if long_lived else None,
        )


def _expiry(age: CredentialAge, lifetime: float) -> str:
    if age.days is None:
        return (
            f"such a token is valid for at most {lifetime:g} hours after it was issued: unless something rewrites "
            "this secret, it has expired and pulls with it fail"
        )
    hours = age.days * 24
    if hours >= lifetime:
        overdue = hours - lifetime
        return f"written {_ago(hours)} ago ({age.evidence.value}), it expired about {_ago(overdue)} ago"
    return (
        f"written {_ago(hours)} ago ({age.evidence.value}), it expires in about {plural(round(lifetime - hours), 'hour')} "
        "unless something refreshes it"
    )


def _ago(hours: float) -> str:
    return plural(round(hours / 24), "day") if hours >= 48 else plural(round(hours), "hour")


# -- PG007 ---------------------------------------------------------------------------------


@check(
    id="PG007",
    title="One registry credential reused across namespaces",
    severity=Severity.MEDIUM,
    remediation=(
        "Issue one credential per namespace (or per workload), scoped to the repositories it pulls, so a leak "
        "in one namespace does not open the registry to all of them and each can be revoked alone. Registries "
        "support this with robot accounts / tokens per scope (Harbor robot accounts, GitLab deploy tokens, ACR "
        "scope-map tokens, Artifactory scoped tokens). Or drop the copies for node identity / a kubelet "
        "credential provider."
    ),
    standards=("OWASP-NHI-09", "OWASP-NHI-08", "NIST-AC-6", "CWE-522"),
    seeds=("000",),
)
def credential_reused(resolution: Resolution) -> Iterator[Hit]:
    """The same registry credential (same registry key, username and password) in pull secrets of several namespaces.

    A common misuse (OWASP Non-Human Identity Top 10, NHI-09 NHI Reuse): one static
    pull secret copied into every namespace (and cluster). A leak anywhere exposes the registry everywhere,
    and rotating or revoking it means touching every copy at once. Credentials are
    compared by a keyed fingerprint — HMAC-SHA256 over username and password with
    a key from `PULLGUARD_FINGERPRINT_KEY` or `fingerprintKey` in the configuration
    (stable across runs and clusters), or a random key drawn for each run —
    never by a plain hash of the password, which could be tested against guesses.
    The fingerprint is also in the JSON report (`pullSecrets[].fingerprints`).
    A ClusterExternalSecret that writes the same remote credential into several
    namespaces is reported too.
    """
    key = _settings(resolution).fingerprint_key
    # the secrets holding each (location, fingerprint), in order, once each: one credential copied
    # into thousands of namespaces is the case this check exists for, so no list membership tests
    groups: dict[tuple[str, str], dict[ObjectRef, Secret]] = defaultdict(dict)
    for secret in sorted(resolution.inventory.secrets.values(), key=lambda s: s.ref):
        for entry in _readable_entries(secret):
            parsed = parse_registry_key(entry.key)
            fingerprint = credential_fingerprint(entry.credential, key)
            if parsed is None or fingerprint is None:
                continue
            groups[(parsed.location, fingerprint)].setdefault(secret.ref, secret)
    for (location, fingerprint), holding in sorted(groups.items(), key=lambda g: next(iter(g[1]))):
        holders = list(holding.values())
        namespaces = sorted({s.ref.namespace or "default" for s in holders})
        if len(namespaces) < 2:
            continue
        first, others = holders[0], holders[1:]
        listed = ", ".join(str(s.ref) for s in others[:8]) + (
            f" and {len(others) - 8} more" if len(others) > 8 else ""
        )
        yield Hit(
            first.ref,
            f"The credential for {location} in pull secret {_named(first.ref)} (fingerprint {fingerprint}) is "
            f"also in {listed}: one credential in {len(namespaces)} namespaces ({', '.join(namespaces)}). A leak "
            "in any of them exposes the registry to all, and revoking it breaks them all at once.",
            first.location,
            "Issue a separate, repository-scoped credential for each namespace, then replace each copy:\n"
            + "\n".join(
                remedies.create_pull_secret(s.ref.name, s.ref.namespace or "default", location)
                + " --dry-run=client -o yaml | kubectl apply -f -"
                for s in holders[1:4]
            ),
        )
    yield from _cluster_external_secret_copies(resolution)


def _cluster_external_secret_copies(resolution: Resolution) -> Iterator[Hit]:
    stamped: dict[tuple[str, int, int | None, str], list[Secret]] = defaultdict(list)
    for secret in resolution.inventory.secrets.values():
        if secret.origin is SecretOrigin.EXTERNAL_SECRET and secret.is_pull_secret_type:
            where = secret.location
            stamped[(where.path, where.document, where.item, secret.ref.name)].append(secret)
    for (_, _, _, name), copies in sorted(stamped.items()):
        namespaces = sorted({s.ref.namespace or "default" for s in copies})
        if len(namespaces) < 2:
            continue
        first = min(copies, key=lambda s: s.ref)
        yield Hit(
            first.ref,
            f"Pull secret '{name}' is written by one ClusterExternalSecret (or ExternalSecret manifest) into "
            f"{len(namespaces)} namespaces ({', '.join(namespaces)}) from the same remote credential: one "
            "credential shared by all of them.",
            first.location,
            "Point each namespace's ExternalSecret at its own remote credential (one robot account or token per "
            "namespace), or use a generator (ECRAuthorizationToken, GCRAccessToken, ACRAccessToken) that issues "
            "short-lived tokens.",
        )


# -- PG008 ---------------------------------------------------------------------------------


@check(
    id="PG008",
    title="Pull secret with registry keys none of its consumers needs",
    severity=Severity.LOW,
    remediation=(
        "Remove the unneeded auths entries (recreate the secret with only the registries its pods pull from), "
        "or split it into one secret per registry and attach each where it is needed."
    ),
    standards=("OWASP-NHI-05", "NIST-AC-6", "CWE-522"),
    seeds=("000", "001 §6"),
)
def broader_than_needed(resolution: Resolution) -> Iterator[Hit]:
    """A pull secret whose `auths` holds registry keys that match no image of any pod using it.

    Every pod that gets the secret (listed in its `imagePullSecrets`, or
    inherited from its ServiceAccount) hands all of its credentials to the
    kubelet, and anyone who can read the secret gets them all: a key for a
    registry none of those pods pulls from is exposure without use. A key is
    needed when the kubelet's keyring would try it for at least one image of
    one consumer (including the Docker Hub `index.docker.io` fallback). Secrets
    used by no pod are PG009's; a pod-level secret none of whose keys matches is
    PG004's; a consumer with an invalid or un-rendered image makes the secret
    unjudgeable, and it is skipped.
    """
    needed: dict[tuple[str, str], set[str]] = defaultdict(set)
    users: dict[tuple[str, str], list[ObjectRef]] = defaultdict(list)
    from_pod: dict[tuple[str, str], bool] = defaultdict(bool)
    unjudgeable: set[tuple[str, str]] = set()
    for pod in resolution.pods:
        namespace = pod.template.namespace
        usable = pod.by_state(SecretState.USABLE)
        if not usable:
            continue
        images = resolution.images_of(pod)
        opaque = any(j.use.ref is None for j in images)
        for ref in usable:
            key = (namespace, ref.name)
            users[key].append(pod.template.owner)
            from_pod[key] |= pod.secrets_from is SecretsFrom.POD
            if opaque:
                unjudgeable.add(key)
        for judgement in images:
            for match in judgement.matches:
                if match.secret is not None:
                    needed[(namespace, match.secret)].add(match.location)
    for key, consumers in sorted(users.items()):
        if key in unjudgeable:
            continue
        secret = resolution.inventory.secrets.get(key)
        if secret is None:
            continue
        locations: dict[str, str] = {}
        for entry in _readable_entries(secret):
            parsed = parse_registry_key(entry.key)
            if parsed is not None:
                locations.setdefault(parsed.location, entry.key)
        unused = [raw for location, raw in locations.items() if location not in needed[key]]
        if not unused or (len(unused) == len(locations) and from_pod[key]):
            continue  # all needed, or nothing matches at all from a pod-level reference (PG004)
        shown = ", ".join(str(c) for c in list(dict.fromkeys(consumers))[:3])
        more = len(set(consumers)) - 3
        name, namespace = secret.ref.name, secret.ref.namespace or "default"
        kept = [raw for location, raw in locations.items() if location in needed[key]]
        yield Hit(
            secret.ref,
            f"Pull secret {_named(secret.ref)} has keys for {', '.join(unused)} that no image of its consumers "
            f"needs ({shown}{f' and {more} more' if more > 0 else ''}"
            f"{'; its keys match no image at all' if not kept else f'; they use only {chr(44).join(kept)}'}).",
            secret.location,
            (
                f"Recreate it with only the needed registr{'ies' if len(kept) > 1 else 'y'}:\n"
                + "\n".join(
                    remedies.create_pull_secret(name, namespace, raw)
                    + " --dry-run=client -o yaml | kubectl apply -f -"
                    for raw in kept[:1]
                )
                if kept
                else f"Remove it from the ServiceAccount if its pods do not need it, then delete it:\n"
                f"kubectl delete secret {q(name)} --namespace {q(namespace)}"
            ),
        )


# -- PG009 ---------------------------------------------------------------------------------


@check(
    id="PG009",
    title="Unused pull secret",
    severity=Severity.LOW,
    remediation=(
        "Delete the secret (`kubectl delete secret NAME -n NS`) and revoke its credential at the registry; if "
        "something outside the scanned input uses it, scan that too, or suppress the finding with a reason."
    ),
    standards=("OWASP-NHI-01", "NIST-AC-2", "CWE-522"),
    seeds=("000",),
)
def unused_pull_secret(resolution: Resolution) -> Iterator[Hit]:
    """A pull secret that no pod template and no ServiceAccount in the input references.

    A registry credential nobody uses is all risk and no benefit: it can still be
    read and exfiltrated, and it is easily forgotten when the registry account
    is offboarded (OWASP NHI-01). "Used" means listed in a pod template's
    `imagePullSecrets`, in a ServiceAccount's `imagePullSecrets`, or read by a
    pod as a volume or environment variable (see PG011). Only the scanned input
    is known: scan the workloads together with the secrets, or suppress the
    finding for a secret used from elsewhere (another repository, a CI job).
    """
    referenced: set[tuple[str, str]] = set()
    has_users: set[str] = set()
    for template in resolution.inventory.pod_templates:
        namespace = template.namespace
        has_users.add(namespace)
        referenced.update((namespace, name) for name in template.pull_secrets)
        referenced.update((namespace, m.secret) for m in template.secret_mounts)
    for (namespace, _), account in resolution.inventory.service_accounts.items():
        has_users.add(namespace)
        referenced.update((namespace, name) for name in account.pull_secrets)
    for key, secret in sorted(resolution.inventory.secrets.items()):
        if not secret.is_pull_secret_type or key in referenced or without_credential(secret):  # PG030
            continue
        name, namespace = secret.ref.name, secret.ref.namespace or "default"
        context = (
            ""
            if namespace in has_users
            else f" No workload or ServiceAccount of namespace '{namespace}' is in the input: scan them together "
            "with the secret."
        )
        yield Hit(
            secret.ref,
            f"Pull secret {_named(secret.ref)} is not referenced by any pod template or ServiceAccount in the "
            f"input: an unused registry credential that can still be read and leaked.{context}",
            secret.location,
            f"kubectl delete secret {q(name)} --namespace {q(namespace)}   # then revoke the credential at the registry",
        )


__all__ = [
    "AgeEvidence",
    "broader_than_needed",
    "credential_reused",
    "credential_too_old",
    "static_short_lived_token",
    "unused_pull_secret",
]
