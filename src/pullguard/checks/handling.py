"""PG010, PG011, PG013: how registry credentials and tokens are handled around the pods."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

from pullguard.checks.base import Hit, Severity, check
from pullguard.inventory.evidence import credential_entries
from pullguard.inventory.model import CommittedCredential, ObjectRef, PodTemplate, Secret, SecretOrigin
from pullguard.inventory.resolve import Resolution
from pullguard.sources.model import Location
from pullguard.text_safety import shell_word as q

# -- PG010 ---------------------------------------------------------------------------------


def _from_cluster(where: Location) -> bool:
    """Objects read from a live cluster are located `CONTEXT:/api/...`: not committed files."""
    return ":/api/" in where.path or ":/apis/" in where.path


def _plaintext(secret: Secret) -> bool:
    if secret.origin is not SecretOrigin.PLAIN or _from_cluster(secret.location):
        return False
    if secret.docker_keys_in_wrong_type:
        return True
    payload = secret.payload
    if payload is None or payload.missing:
        return False
    if payload.error is None:  # decodes: plaintext only when an entry holds a username or password (PG030)
        return bool(credential_entries(secret) or payload.unread_credentials)
    return "un-rendered template" not in payload.error


@check(
    id="PG010",
    title="Registry credentials committed in plaintext",
    severity=Severity.HIGH,
    remediation=(
        "Take the credential out of the repository and rotate it (it stays in the Git history): keep an "
        "encrypted form (SOPS: `sops --encrypt --encrypted-regex '^(data|stringData)$' -i secret.yaml`; "
        "Sealed Secrets: `kubeseal -f secret.yaml -w sealed-secret.yaml`) or an ExternalSecret that reads it "
        "from a secret store. In scripts and CI files, read the password from the CI's secret variables or a "
        'file: --docker-password="$REGISTRY_PASSWORD" or --docker-password="$(cat <password-file>)".'
    ),
    standards=("CWE-798", "CWE-312", "OWASP-NHI-02", "CIS-5.4.1", "NIST-IA-5"),
    seeds=("003", "000"),
)
def plaintext_committed(resolution: Resolution) -> Iterator[Hit]:
    """A registry credential written in clear in the scanned files.

    Two shapes: a Secret manifest of type `kubernetes.io/dockerconfigjson` /
    `kubernetes.io/dockercfg` (or any secret with a `.dockerconfigjson` /
    `.dockercfg` key) whose `data` or `stringData` holds the credential — base64
    is an encoding, not encryption — and a `kubectl create secret docker-registry
    … --docker-password=LITERAL` in a shell script, Makefile or CI definition
    (`*.sh`, `Makefile`, `.gitlab-ci.yml`, `.github/workflows/*.yml`,
    `Jenkinsfile`, …) under the scanned directories. SOPS-encrypted secrets,
    SealedSecrets and ExternalSecrets are not plaintext; a password the shell or
    CI expands (`$VAR`, `$(…)`, `${{ secrets.X }}`) or a `<placeholder>` is not a
    literal. The finding names the file and line, never the value. Objects read
    from a live cluster are not committed files and are not reported.
    """
    for secret in sorted(resolution.inventory.secrets.values(), key=lambda s: s.ref):
        if not _plaintext(secret):
            continue
        name, namespace = secret.ref.name, secret.ref.namespace or "default"
        keys = ", ".join(k for k in secret.data_keys if k in (".dockerconfigjson", ".dockercfg")) or "data"
        yield Hit(
            secret.ref,
            f"Secret '{name}' in namespace '{namespace}' ({secret.type}) holds registry credentials in plaintext "
            f"({keys}; base64 is not encryption) in {secret.location.path}: anyone who can read the repository "
            "can pull with them. Encrypt it (SOPS, Sealed Secrets) or generate it (External Secrets), and rotate "
            "the credential.",
            secret.location,
            f"sops --encrypt --encrypted-regex '^(data|stringData)$' --in-place {q(secret.location.path)}\n"
            f"# or: kubeseal --format yaml < {q(secret.location.path)} > {q(f'sealed-{name}.yaml')}, then delete "
            "the plain file\n"
            "# then rotate the credential at the registry: the old one stays in the Git history",
        )
    for record in resolution.inventory.committed_credentials:
        yield _script_finding(record)


def _script_finding(record: CommittedCredential) -> Hit:
    where = record.location
    target = (
        ObjectRef("Secret", record.namespace, record.secret)
        if record.secret
        else ObjectRef("Script", None, where.path)
    )
    created = f" '{record.secret}'" if record.secret else ""
    server = f" for {record.server}" if record.server else ""
    return Hit(
        target,
        f"{where.path} line {where.line} runs `{record.command}{created}`{server} with a literal "
        "--docker-password: the registry password is committed in plaintext (value not shown). Read it from a "
        "CI secret variable or a file, and rotate it.",
        where,
        f"{record.command} {record.secret or '<name>'} "
        + (f"--namespace {record.namespace} " if record.namespace else "")
        + f"--docker-server={record.server or '<registry>'} --docker-username=<username> "
        '--docker-password="$REGISTRY_PASSWORD"   # a masked CI variable; or "$(cat <password-file>)"\n'
        "then rotate the password at the registry: the literal stays in the Git history",
    )


# -- PG011 ---------------------------------------------------------------------------------


@check(
    id="PG011",
    title="Pull secret mounted into a pod or read into its environment",
    severity=Severity.MEDIUM,
    remediation=(
        "Pods never need to read a pull secret: the kubelet reads it from imagePullSecrets. Remove the secret "
        "volume, projected source, env valueFrom.secretKeyRef or envFrom.secretRef that names it; if the "
        "workload really needs registry access (a build or mirroring job), give it a separate, narrowly scoped "
        "credential mounted as a file, not the cluster's pull secret."
    ),
    standards=("OWASP-NHI-02", "CWE-522", "CWE-526", "CIS-5.4.1"),
    seeds=("001 §5",),
)
def pull_secret_in_pod(resolution: Resolution) -> Iterator[Hit]:
    """A pod template that mounts a pull secret as a volume, a projected volume, or reads it through `env`/`envFrom`.

    A pull secret is for the kubelet; once it is a file or environment variable in
    a container, every process there — and anything that can exec into the pod,
    read its logs, dump its environment or exploit the application — holds the
    registry credential. Environment variables are the worst form: they are
    inherited by child processes and often end up in crash reports (CWE-526). A
    secret counts as a pull secret when its type is
    `kubernetes.io/dockerconfigjson`/`dockercfg`, when it holds such a key, or
    when a pod or ServiceAccount lists it in `imagePullSecrets`.
    """
    pull_names: set[tuple[str, str]] = {
        key
        for key, secret in resolution.inventory.secrets.items()
        if secret.is_pull_secret_type or secret.docker_keys_in_wrong_type
    }
    for template in resolution.inventory.pod_templates:
        pull_names.update((template.namespace, n) for n in template.pull_secrets)
    for (namespace, _), account in resolution.inventory.service_accounts.items():
        pull_names.update((namespace, n) for n in account.pull_secrets)
    for template in resolution.inventory.pod_templates:
        uses: dict[str, list[str]] = defaultdict(list)
        for mount in template.secret_mounts:
            if (template.namespace, mount.secret) in pull_names:
                how = mount.how + (f" of container '{mount.container}'" if mount.container else "")
                if how not in uses[mount.secret]:
                    uses[mount.secret].append(how)
        for secret, hows in uses.items():
            yield _mount_finding(template, secret, hows)


def _mount_finding(template: PodTemplate, secret: str, hows: list[str]) -> Hit:
    owner = template.owner
    env = any(h.startswith("env") for h in hows)
    return Hit(
        owner,
        f"{owner.kind} '{owner.name}' in namespace '{template.namespace}' reads pull secret '{secret}' "
        f"({'; '.join(hows)}): the registry credential is exposed to every process in the pod"
        + (" and to its environment (inherited by child processes, dumped in crash reports)" if env else "")
        + ". Pods do not need it to pull images: the kubelet reads it from imagePullSecrets.",
        template.location,
        f"Remove the {', '.join(sorted({h.split(' of ')[0] for h in hows}))} that names '{secret}' from the pod "
        f"template of {owner}; keep it only in imagePullSecrets.",
    )


# -- PG013 ---------------------------------------------------------------------------------

NEEDS_API_ANNOTATION = "pullguard.io/needs-api"
# Image names of software that talks to the Kubernetes API by design.
_API_CLIENTS = (
    "operator",
    "controller",
    "kube-state-metrics",
    "cert-manager",
    "external-dns",
    "external-secrets",
    "argocd",
    "argo-cd",
    "flux",
    "prometheus",
    "cluster-autoscaler",
    "metrics-server",
    "ingress",
    "cilium",
    "calico",
    "coredns",
    "kube-proxy",
    "csi-",
    "provisioner",
    "webhook",
    "kyverno",
    "gatekeeper",
    "keda",
    "velero",
    "reloader",
    "kubectl",
    "helm",
    "kustomize",
    "tekton",
    "jenkins",
    "gitlab-runner",
    "actions-runner",
    "vault-k8s",
    "vault-agent",
    "fluent",
    "promtail",
    "datadog",
    "otel",
    "opentelemetry",
    "istio",
    "linkerd",
    "envoy-gateway",
    "traefik",
)


def _annotation(pairs: tuple[tuple[str, str], ...], key: str) -> str | None:
    return next((v for k, v in pairs if k == key), None)


def _looks_like_api_client(template: PodTemplate) -> bool:
    for use in template.images:
        path = use.ref.path if use.ref is not None else use.image
        if any(marker in path.lower() for marker in _API_CLIENTS):
            return True
    return False


@check(
    id="PG013",
    title="ServiceAccount token automounted where nothing shows the API is needed",
    severity=Severity.LOW,
    remediation=(
        "Set automountServiceAccountToken: false on the ServiceAccount (kubectl patch serviceaccount NAME -n NS "
        "-p '{\"automountServiceAccountToken\": false}') and set it to true in the pod spec of the workloads that "
        "do call the API (the pod-level field wins); or give those workloads their own ServiceAccount. Mark a "
        'workload that needs the API with the annotation pullguard.io/needs-api: "true".'
    ),
    standards=("CIS-5.1.6", "OWASP-NHI-05", "NIST-AC-6"),
    seeds=("001 §1",),
)
def token_automounted(resolution: Resolution) -> Iterator[Hit]:
    """Workloads that get a ServiceAccount token by default although nothing in the input says they use the API.

    Unless `automountServiceAccountToken` is false — on the pod spec, or else on
    the ServiceAccount (the pod-level field wins) — every container gets a token
    for the Kubernetes API. A compromised container then speaks to the API as
    that ServiceAccount, and with any secret-reading RBAC (see PG012) it reads
    the namespace's pull secrets. To stay useful rather than noisy, a workload
    is judged only when its ServiceAccount is in the input (otherwise the
    ServiceAccount's own setting is unknown), and counts as needing the API, and
    is not reported, when: either field is set
    explicitly to true (a decision someone made); a RoleBinding or
    ClusterRoleBinding in the input names its ServiceAccount; it carries the
    annotation `pullguard.io/needs-api: "true"` (pod template or ServiceAccount);
    or one of its images is a well-known API client (operators, controllers,
    CI runners, monitoring agents, service meshes…). The rest are reported once
    per ServiceAccount, listing its workloads: severity low when the input holds
    RBAC (so the missing binding is evidence), info when it holds none.
    """
    inventory = resolution.inventory
    bound: set[tuple[str, str]] = set()
    bindings = [*inventory.role_bindings, *inventory.cluster_role_bindings]
    for binding in bindings:
        for subject in binding.subjects:
            if subject.kind == "ServiceAccount":
                bound.add((subject.namespace or binding.ref.namespace or "default", subject.name))
    rbac_known = bool(bindings)
    by_account: dict[tuple[str, str], list[PodTemplate]] = defaultdict(list)
    for template in inventory.pod_templates:
        key = (template.namespace, template.service_account)
        account = inventory.service_accounts.get(key)
        if account is None:  # its automountServiceAccountToken is unknown: the token may well be off
            continue
        if template.automount_token is not None or account.automount_token is not None:
            continue
        if key in bound or _looks_like_api_client(template):
            continue
        if _annotation(template.annotations, NEEDS_API_ANNOTATION) == "true":
            continue
        if _annotation(account.annotations, NEEDS_API_ANNOTATION) == "true":
            continue
        by_account[key].append(template)
    severity = Severity.LOW if rbac_known else Severity.INFO
    for (namespace, name), templates in sorted(by_account.items()):
        account = inventory.service_accounts[(namespace, name)]
        owners = [str(t.owner) for t in templates]
        shown = ", ".join(owners[:5]) + (f" and {len(owners) - 5} more" if len(owners) > 5 else "")
        evidence = (
            "no RoleBinding or ClusterRoleBinding in the input names it"
            if rbac_known
            else "the input holds no RBAC bindings to show it needs one"
        )
        patch = json.dumps({"automountServiceAccountToken": False})
        yield Hit(
            account.ref,
            f"ServiceAccount '{name}' in namespace '{namespace}' gets its API token automounted into "
            f"{len(owners)} workload{'s' if len(owners) != 1 else ''} ({shown}) by default, and {evidence}: a "
            "compromised container can use the token against the API.",
            account.location,
            f"kubectl patch serviceaccount {q(name)} --namespace {q(namespace)} -p {q(patch)}\n"
            "# a workload that does call the API: automountServiceAccountToken: true in its pod spec "
            '(or annotate it pullguard.io/needs-api: "true")',
            severity=severity,
        )
