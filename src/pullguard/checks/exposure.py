"""PG012: who, besides the kubelet, can read the pull secrets?"""

from __future__ import annotations

from collections.abc import Iterator

from pullguard.checks.base import Hit, Severity, check
from pullguard.inventory.access import SecretReader
from pullguard.inventory.model import Secret
from pullguard.inventory.resolve import Resolution
from pullguard.text_safety import shell_word as q

_SHOWN = 5


@check(
    id="PG012",
    title="Subjects that can read pull secrets",
    severity=Severity.HIGH,
    remediation=(
        "Remove get/list/watch on secrets from the roles bound to these subjects, or narrow the rule to the "
        "secrets the subject really needs with resourceNames and verbs: [get]. The kubelet reads pull secrets "
        "with the node's identity: no pod, user or controller needs RBAC on them to pull images. Confirm each "
        "subject with `kubectl auth can-i get secret/NAME -n NS --as ...`."
    ),
    standards=("CIS-5.1.2", "CWE-522", "NIST-AC-6", "OWASP-NHI-02"),
    seeds=("001 §1",),
)
def subjects_reading_pull_secrets(resolution: Resolution) -> Iterator[Hit]:
    """Users, groups and ServiceAccounts that RBAC in the input lets read a pull secret.

    A subject can read a pull secret when a Role in the secret's namespace, or a
    ClusterRole bound there by a RoleBinding or anywhere by a ClusterRoleBinding,
    allows `get`, `list` or `watch` (or `*`) on `secrets` (or `*`) in API group
    `""` (or `*`). `list` and `watch` return the data of every secret in the
    namespace, so a "read configmaps and secrets" role hands out every registry
    credential there. `resourceNames` narrows a rule to the named secrets (for
    `list`/`watch` only with a `metadata.name` field selector). Aggregated
    ClusterRoles count with the rules of the ClusterRoles they select, and the
    bootstrap roles `cluster-admin`, `admin` and `edit` count when a binding
    names them. Groups such as `system:masters`, `system:authenticated` and
    `system:serviceaccounts:NS` are named with what they stand for. One finding
    per pull secret lists its readers; the JSON report carries the full list
    (`pullSecrets[].readers`). Only bindings in the input are known: run against
    a live cluster dump (`kubectl get roles,clusterroles,rolebindings,clusterrolebindings -A -o yaml`)
    for the whole picture.
    """
    access = resolution.facts.access
    described: dict[int, str] = {}  # each reader's text once: the cluster-wide ones recur for every secret
    for (namespace, name), secret in sorted(resolution.inventory.secrets.items()):
        if secret.is_pull_secret_type and access.has_readers(namespace, name):
            yield _finding(secret, namespace, access.of(namespace, name), described)


def _finding(
    secret: Secret, namespace: str, readers: tuple[SecretReader, ...], described: dict[int, str]
) -> Hit:
    name = secret.ref.name
    shown = "; ".join(_describe(r, described) for r in readers[:_SHOWN])
    more = f"; and {len(readers) - _SHOWN} more" if len(readers) > _SHOWN else ""
    listing = any("list" in r.verbs or "watch" in r.verbs for r in readers if not r.by_name_only)
    why = (
        " list/watch return the data of every secret in the namespace, this registry credential included."
        if listing
        else ""
    )
    count = f"{len(readers)} subject{'s' if len(readers) != 1 else ''}"
    message = f"Pull secret '{name}' in namespace '{namespace}' can be read by {count}: {shown}{more}.{why}"
    return Hit(secret.ref, message, secret.location, _fix(name, namespace, readers))


def _describe(reader: SecretReader, described: dict[int, str]) -> str:
    text = described.get(id(reader))  # the readers live as long as the access facts: ids are stable
    if text is None:
        text = described[id(reader)] = reader.describe()
    return text


def _fix(name: str, namespace: str, readers: tuple[SecretReader, ...]) -> str:
    lines = ["Confirm who can read it:"]
    lines += [
        f"kubectl auth can-i get {q(f'secret/{name}')} -n {q(namespace)} {r.subject.as_user}"
        for r in readers[:_SHOWN]
    ]
    roles = list(dict.fromkeys(grant for reader in readers[:_SHOWN] for grant in reader.grants))
    lines.append("Then remove the secrets rule from each role, or delete the binding:")
    for grant in roles[:_SHOWN]:
        role, binding = grant.role, grant.binding
        if grant.builtin_role:
            lines.append(
                f"kubectl delete {binding.kind.lower()} {q(binding.name)}"
                + (f" -n {q(binding.namespace)}" if binding.namespace else "")
                + f"   # binds the built-in {role.kind} {role.name}; bind a narrower role instead"
            )
        else:
            lines.append(
                f"kubectl edit {role.kind.lower()} {q(role.name)}"
                + (f" -n {q(role.namespace)}" if role.namespace else "")
            )
    lines.append(
        "A rule that must stay, narrowed to one secret and get only:\n"
        '- apiGroups: [""]\n  resources: ["secrets"]\n  resourceNames: ["<the-secret-it-needs>"]\n'
        '  verbs: ["get"]'
    )
    return "\n".join(lines)
