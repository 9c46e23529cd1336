"""PG030: a pull secret the kubelet reads, but which holds nothing to pull with."""

from __future__ import annotations

from collections.abc import Iterator

from pullguard.checks import remedies
from pullguard.checks.base import Hit, Severity, check
from pullguard.inventory.evidence import readable_entries, without_credential
from pullguard.inventory.model import DOCKERCFG, ObjectRef, Secret
from pullguard.inventory.resolve import Resolution, SecretsFrom, SecretState
from pullguard.semantics.dockerconfig import AuthEntry
from pullguard.semantics.evidence import why_no_credential

# docker config.json members the kubelet never reads (credentials live in a helper program on the desktop)
_HELPER_MEMBERS = ("credsStore", "credHelpers")


@check(
    id="PG030",
    title="Pull secret gives the kubelet no usable credential",
    severity=Severity.MEDIUM,
    remediation=(
        "Write the credential itself into the secret: `kubectl create secret docker-registry NAME "
        '--docker-server=REGISTRY --docker-username=USER --docker-password="$(cat PASSWORD_FILE)"`. '
        "Do not copy a desktop ~/.docker/config.json: with a credential store (credsStore, credHelpers) it "
        "holds empty entries and no password. A legacy kubernetes.io/dockercfg secret holds the auths map "
        "itself, without the `auths` wrapper."
    ),
    standards=("CIS-5.4.1", "CWE-522", "NIST-IA-5"),
)
def no_usable_credential(resolution: Resolution) -> Iterator[Hit]:
    """A pull secret whose every `auths` entry gives the kubelet no username or password.

    The kubelet decodes such a secret without error and uses its keys, but sends
    empty credentials: every pod relying on it pulls anonymously, so private
    images fail with ImagePullBackOff and Docker Hub counts the pulls against the
    anonymous rate limit. The usual causes: a desktop `~/.docker/config.json`
    copied into a secret, whose entries are empty (`"ghcr.io": {}`) because
    `credsStore` / `credHelpers` name a program that holds the password on the
    desktop and means nothing on a node; entries with only an `identitytoken`,
    which the kubelet does not read; a legacy `kubernetes.io/dockercfg` secret
    holding a whole `config.json`, whose only key the kubelet sees is `auths`; an
    empty `auths` map. Such a secret is no evidence that a registry is private,
    holds no credential to rotate or leak (no PG005, PG006 or PG010), and is
    reported once, on the secret, naming its entries and the pods relying on it.
    """
    users: dict[tuple[str, str], dict[ObjectRef, None]] = {}  # in order, once each
    for pod in resolution.pods:
        for ref in pod.by_state(SecretState.USABLE):
            user = (
                pod.service_account.ref
                if pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT and pod.service_account
                else pod.template.owner
            )
            users.setdefault((pod.template.namespace, ref.name), {})[user] = None
    for (namespace, name), secret in sorted(resolution.inventory.secrets.items()):
        if without_credential(secret):
            yield _finding(secret, namespace, name, list(users.get((namespace, name), ())))


def _finding(secret: Secret, namespace: str, name: str, users: list[ObjectRef]) -> Hit:
    assert secret.payload is not None
    entries = readable_entries(secret)
    described = [
        (
            f"'{entry.key}' (a docker config.json stored as {DOCKERCFG}: the kubelet takes 'auths' for a "
            "registry name and never reads the entries inside it)"
            if secret.type == DOCKERCFG and entry.key == "auths"
            else f"'{entry.key}' ({why_no_credential(entry.credential)})"
        )
        for entry in entries[:5]
    ]
    if len(entries) > 5:
        described.append(f"and {len(entries) - 5} more")
    holds = (
        f"its entries hold no username or password: {', '.join(described)}"
        if entries
        else "it has no entries"
    )
    helpers = [m for m in _HELPER_MEMBERS if m in secret.payload.ignored_members]
    if helpers:
        holds += (
            f"; {' and '.join(helpers)} {'name' if len(helpers) > 1 else 'names'} a credential helper on the machine it was copied from, which the "
            "kubelet never runs"
        )
    if secret.payload.unread_credentials:
        holds += (
            f"; the credentials inside the wrapper ({', '.join(secret.payload.unread_credentials[:5])}) are never "
            "read by the kubelet, but anyone reading the file can (PG010)"
        )
    relying = (
        f"Pods relying on it ({', '.join(str(u) for u in users[:3])}"
        + (f" and {len(users) - 3} more" if len(users) > 3 else "")
        + ") pull anonymously"
        if users
        else "Pods relying on it pull anonymously"
    )
    return Hit(
        secret.ref,
        f"Pull secret '{name}' in namespace '{namespace}' ({secret.type}) gives the kubelet no usable credential: "
        f"{holds}. {relying}: private images fail with ImagePullBackOff.",
        secret.location,
        remedies.create_pull_secret(name, namespace, _server(entries))
        + " --dry-run=client -o yaml | kubectl apply -f -",
    )


def _server(entries: tuple[AuthEntry, ...]) -> str:
    return next((e.key for e in entries if e.key and e.key != "auths"), "<registry>")
