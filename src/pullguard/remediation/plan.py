"""One coherent fix plan per namespace for the findings that break pulls (PG001-PG004).

Pure data, built from the resolution; the renderers (`render_text`, `namespace_json`, `sarif_fixes`)
only print it. The rules, in order, for every pod that cannot pull an image:

1. a referenced pull secret that is broken is repaired in place: malformed or empty
   (`kubectl create … --dry-run=client -o yaml | kubectl apply -f -` rewrites its data);
   of the wrong type, recreated with the right type from its own data (the type of a
   Secret is immutable: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types);
2. a referenced pull secret whose one key covers the image but for the port gets a second
   key with the port and the same credential (the kubelet implies no default port:
   kubernetes/kubernetes pkg/credentialprovider/keyring.go, `URLsMatch`); adding, not
   renaming, keeps every other consumer of the old key pulling;
3. a referenced pull secret that does not exist is created under the name the pod uses;
4. otherwise a usable secret of the namespace whose key already covers the registry is
   reused (renewed first with `pullguard secret refresh` when that key holds a token its
   registry issues for hours, ECR, GCR or ACR, and nothing rewrites the secret), or else one new secret per (namespace, registry) is created, named after the
   registry, and attached where it serves every affected pod: the ServiceAccount when the
   pods inherit its secrets (admission copies them only when the pod lists none:
   https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#add-imagepullsecrets-to-a-service-account),
   the pod template when it lists its own.

Two steps never create the same name with different content: creations are keyed by
(namespace, name) and merged. ServiceAccounts are patched with a JSON patch that appends
to imagePullSecrets: a strategic-merge patch would replace the list, because
ServiceAccount.imagePullSecrets has no patch merge key (k8s.io/api core/v1 types.go), while
PodSpec.imagePullSecrets merges by name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeVar

from pullguard.breakage import concerned_pods, will_not_pull
from pullguard.checks import Finding
from pullguard.checks.remedies import TEMPLATE_PATHS, WORKLOAD_RESOURCES
from pullguard.inventory.age import refresh_interval
from pullguard.inventory.model import ObjectRef, Secret
from pullguard.inventory.resolve import (
    Coverage,
    ImageJudgement,
    PodCredentials,
    Resolution,
    SecretState,
)
from pullguard.semantics.issued_tokens import IssuedCredential, registry_issued
from pullguard.semantics.keyring import KeyHolders, lookup, parse_registry_key
from pullguard.semantics.port_keys import port_candidates
from pullguard.semantics.registries import Visibility
from pullguard.text_safety import shell_word as q

PASSWORD = '"$(cat <password-file>)"'
_ECR = re.compile(r"^[0-9]{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
_RESTARTABLE = {"Deployment", "StatefulSet", "DaemonSet"}
# The Docker credential helper that gives a fresh registry-issued token, by cloud (`pullguard
# secret refresh --credential-helper`): amazon-ecr-credential-helper, docker-credential-gcr, and
# docker-credential-acr-env.
_CREDENTIAL_HELPERS = {"aws": "ecr-login", "gcp": "gcr", "azure": "acr-env"}


class Action(StrEnum):
    CREATE = "create-secret"  # a new secret, named after the registry
    CREATE_MISSING = "create-missing-secret"  # the name a pod or ServiceAccount already lists
    REPAIR = "repair-secret"  # malformed or empty: rewrite its data in place
    RETYPE = "retype-secret"  # wrong type: recreate it from its own data with the right type
    REUSE = "reuse-secret"  # an existing secret already covers the registry
    ADD_PORT_KEY = "add-auths-key"  # a referenced secret's key covers the image but for the port
    ATTACH_SERVICE_ACCOUNT = "attach-to-serviceaccount"
    ATTACH_WORKLOAD = "attach-to-workload"


# A ServiceAccount patch serving more workloads than this restarts, in a finding's remediation,
# only the finding's own workload (the fix plan restarts them all).
_RESTARTS_LISTED = 10
# A step's lists longer than this are searched through a set.
_SHORT = 16
_Item = TypeVar("_Item")


def _add_once(items: list[_Item], seen: set[_Item] | None, item: _Item) -> set[_Item] | None:
    """Append `item` to `items` unless it is there. Past `_SHORT` items a set (`seen`, returned
    to be kept) answers whether it is: searching a long list for every addition grows with its
    square."""
    if seen is None and len(items) >= _SHORT:
        seen = set(items)
    if seen is None:
        if item not in items:
            items.append(item)
    elif item not in seen:
        seen.add(item)
        items.append(item)
    return seen


@dataclass(slots=True)
class Step:
    """One action of the plan, with the exact commands (placeholders in <angle brackets>)."""

    action: Action
    namespace: str
    secret: str
    registries: list[str] = field(default_factory=list)
    target: ObjectRef | None = None  # the ServiceAccount or workload attached to
    secrets: list[str] = field(default_factory=list)  # for an attach: every secret added, in order
    serves: list[ObjectRef] = field(default_factory=list)  # workloads this step makes pull
    sa_list: bool | None = None  # the ServiceAccount already has imagePullSecrets (None: unknown)
    fixes: list[str] = field(default_factory=list)  # "PG001 Deployment shop/api" …
    key_edits: list[tuple[str, str]] = field(default_factory=list)  # ADD_PORT_KEY: (key, key with port)
    renew: IssuedCredential | None = None  # REUSE: the reused key holds a token that nothing refreshes
    data_key: str = ".dockerconfigjson"  # ADD_PORT_KEY: where the secret keeps its auths
    # `serves` and `fixes` as sets too, once they are long: a step may serve every workload of a
    # namespace of thousands (a search of the list per addition grew with its square)
    _served: set[ObjectRef] | None = field(default=None, repr=False, compare=False)
    _fixed: set[str] | None = field(default=None, repr=False, compare=False)

    def serve(self, workload: ObjectRef) -> None:
        """Count `workload` among those this step makes pull (once)."""
        self._served = _add_once(self.serves, self._served, workload)

    def fix(self, label: str) -> None:
        """Count the finding `label` ("PG001 Deployment shop/api") among those this step fixes (once)."""
        self._fixed = _add_once(self.fixes, self._fixed, label)

    def _serves(self, workload: ObjectRef) -> bool:
        return workload in (self.serves if self._served is None else self._served)

    @property
    def title(self) -> str:
        regs = ", ".join(self.registries) or "its registry"
        served = ", ".join(str(s) for s in self.serves[:4]) + (" …" if len(self.serves) > 4 else "")
        if self.action is Action.CREATE:
            return f"Create pull secret '{self.secret}' for {regs}"
        if self.action is Action.CREATE_MISSING:
            return (
                f"Create the missing pull secret '{self.secret}' for {regs} (its name is already referenced)"
            )
        if self.action is Action.REPAIR:
            return f"Repair pull secret '{self.secret}' in place for {regs} (it cannot be used as it is)"
        if self.action is Action.RETYPE:
            return (
                f"Recreate pull secret '{self.secret}' with type kubernetes.io/dockerconfigjson from its own data "
                "(a Secret's type cannot be changed in place)"
            )
        if self.action is Action.REUSE:
            reuse = f"Reuse pull secret '{self.secret}': a key of it already covers {regs}"
            if self.renew is None:
                return reuse
            return (
                f"{reuse}; it holds {self.renew.what} that nothing refreshes, so renew it first (PG006: "
                "written once, such a token has expired or soon will)"
            )
        if self.action is Action.ADD_PORT_KEY:
            edits = ", ".join(f"'{new}' (the credential of '{old}')" for old, new in self.key_edits)
            return (
                f"Add auths key {edits} to pull secret '{self.secret}': the kubelet matches "
                "registry ports exactly"
            )
        if self.action is Action.ATTACH_SERVICE_ACCOUNT:
            assert self.target is not None
            names = ", ".join(f"'{s}'" for s in self.secrets)
            return f"Attach {names} to ServiceAccount '{self.target.name}' (used by {served})"
        assert self.target is not None
        names = ", ".join(f"'{s}'" for s in self.secrets)
        return f"Attach {names} to {self.target}, which lists its own imagePullSecrets"

    @property
    def commands(self) -> list[str]:
        ns = self.namespace
        if self.action in (Action.CREATE, Action.CREATE_MISSING, Action.REPAIR):
            apply = self.action is Action.REPAIR
            return [create_secret(self.secret, ns, self.registries, apply=apply)]
        if self.action is Action.RETYPE:
            return [retype_secret(self.secret, ns)]
        if self.action is Action.REUSE:
            if self.renew is None:
                return []
            return [
                f"pullguard secret refresh {q(self.secret)} -n {q(ns)} --credential-helper "
                f"{_CREDENTIAL_HELPERS[self.renew.cloud]} --apply"
            ]
        if self.action is Action.ADD_PORT_KEY:
            return [add_auths_keys(self.secret, ns, self.data_key, self.key_edits)]
        assert self.target is not None
        if self.action is Action.ATTACH_SERVICE_ACCOUNT:
            return [self._account_patch(), *self._restarts()]
        return [patch_workload(self.target, self.secrets), *self._restarts()]

    def _restarts(self, served: Iterable[ObjectRef] | None = None) -> list[str]:
        """Pods get their pull secrets when created: restart the workloads a ServiceAccount patch
        serves (`served`: those of them to name; all by default)."""
        if self.action is not Action.ATTACH_SERVICE_ACCOUNT:
            return []
        return [
            f"kubectl rollout restart {q(f'{WORKLOAD_RESOURCES[w.kind]}/{w.name}')} -n {q(self.namespace)}"
            for w in (self.serves if served is None else served)
            if w.kind in _RESTARTABLE
        ]

    @property
    def _restarts_apart(self) -> bool:
        """A ServiceAccount patch serving too many workloads to restart them all in every finding."""
        return self.action is Action.ATTACH_SERVICE_ACCOUNT and len(self.serves) > _RESTARTS_LISTED

    def _account_patch(self) -> str:
        assert self.target is not None
        return patch_service_account(self.target.name, self.namespace, self.secrets, self.sa_list)

    @property
    def shared_commands(self) -> list[str]:
        """The commands every finding this step fixes shows. A ServiceAccount patch that serves
        many workloads shows its patch here and each finding its own restart (`own_commands`):
        every finding of a namespace of thousands of workloads repeating thousands of restarts
        made a report grow with the square of the namespace."""
        return [self._account_patch()] if self._restarts_apart else self.commands

    def own_commands(self, workload: ObjectRef) -> list[str]:
        """What a finding about `workload` adds to `shared_commands`: its restart, and how many
        others the fix plan restarts (nothing when the shared commands restart them all)."""
        if not self._restarts_apart:
            return []
        own = [workload] if self._serves(workload) else []
        others = len(self.serves) - len(own)
        return [
            *self._restarts(own),
            f"# and restart the {others} other workloads it serves (the fix plan lists each)",
        ]

    @property
    def manifest_patch(self) -> str | None:
        """The same change as YAML, for manifests kept in files."""
        if self.action not in (Action.ATTACH_SERVICE_ACCOUNT, Action.ATTACH_WORKLOAD):
            return None
        items = "".join(f"\n  - name: {s}" for s in self.secrets)
        if self.action is Action.ATTACH_SERVICE_ACCOUNT:
            return f"# ServiceAccount {self.namespace}/{self.target.name if self.target else ''}: append\nimagePullSecrets:{items}"
        assert self.target is not None
        path = ".".join((*TEMPLATE_PATHS.get(self.target.kind, ("spec", "template")), "spec"))
        return f"# {self.target} at {path}: append\nimagePullSecrets:{items}"


def _unrefreshed_token(secret: Secret, repository: str) -> IssuedCredential | None:
    """The short-lived registry-issued token (an ECR, GCR or ACR token) the secret holds for the
    repository, when no controller rewrites the secret: reusing it as it is pulls only until it expires."""
    if secret.payload is None or refresh_interval(secret) is not None:
        return None
    for entry in secret.payload.entries:
        key = parse_registry_key(entry.key)
        if key is None or not lookup([key.location], repository):
            continue
        issued = registry_issued(entry)
        if issued is not None and issued.lifetime_hours is not None:
            return issued
    return None


@dataclass(slots=True)
class NamespacePlan:
    namespace: str
    steps: list[Step] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    namespaces: list[NamespacePlan]
    # finding key -> the steps that fix it
    by_finding: dict[tuple[str, ObjectRef, str | None], list[Step]] = field(default_factory=dict)

    # per step: the commands every finding it fixes shows, built once (`commands_about`)
    _shared: dict[int, list[str]] = field(default_factory=dict, repr=False, compare=False)

    def steps_for(self, finding: Finding) -> list[Step]:
        return self.by_finding.get(finding_key(finding), []) or self.by_finding.get(
            (finding.check_id, finding.object, None), []
        )

    def commands_about(self, step: Step, about: ObjectRef) -> list[str]:
        """A step's commands as a finding about `about` shows them: the shared ones (built once per
        plan) and the finding's own (`Step.own_commands`)."""
        shared = self._shared.get(id(step))
        if shared is None:
            shared = self._shared[id(step)] = step.shared_commands
        return [*shared, *step.own_commands(about)]

    @property
    def empty(self) -> bool:
        return not any(n.steps for n in self.namespaces)


def finding_key(finding: Finding) -> tuple[str, ObjectRef, str | None]:
    return (finding.check_id, finding.object, finding.image)


# -- commands ---------------------------------------------------------------------------------


def secret_name_for(registry: str) -> str:
    """A DNS-1123 name derived from the registry: `pull-myregistry.azurecr.io`, `pull-reg.example.com-5000`."""
    name = re.sub(r"[^a-z0-9.-]+", "-", registry.lower()).strip("-.")
    return f"pull-{name}"[:253].rstrip("-.")


def create_secret(name: str, namespace: str, registries: list[str], *, apply: bool = False) -> str:
    """Create (or, with apply, rewrite in place) a dockerconfigjson secret; the password never on argv."""
    tail = " --dry-run=client -o yaml | kubectl apply -f -" if apply else ""
    ecr = _ECR.match(registries[0]) if len(registries) == 1 else None
    name, namespace = q(name), q(namespace)
    if ecr is not None:  # an ECR token lives 12 hours: prefer node credentials or a credential provider
        return (
            f"kubectl create secret docker-registry {name} -n {namespace} --docker-server={q(registries[0])} "
            f'--docker-username=AWS --docker-password="$(aws ecr get-login-password --region {ecr[1]})"'
            f"{tail or ' --dry-run=client -o yaml | kubectl apply -f -'}"
            "   # expires in 12 hours: refresh it on a schedule, or give the nodes ECR read access instead"
        )
    if len(registries) == 1:
        return (
            f"kubectl create secret docker-registry {name} -n {namespace} --docker-server={q(registries[0])} "
            f"--docker-username=<username> --docker-password={PASSWORD}{tail}"
        )
    auths = ", ".join(registries) or "<registry>"
    return (
        f"kubectl create secret generic {name} -n {namespace} --type=kubernetes.io/dockerconfigjson "
        f"--from-file=.dockerconfigjson=<config.json with auths for {auths}>{tail}"
    )


def retype_secret(name: str, namespace: str) -> str:
    """Keep the data, change the type: read it first, delete only once it is safely on disk."""
    name, namespace = q(name), q(namespace)
    return (
        f"kubectl get secret {name} -n {namespace} -o jsonpath='{{.data.\\.dockerconfigjson}}' | base64 -d > "
        f"config.json && test -s config.json && kubectl delete secret {name} -n {namespace} && "
        f"kubectl create secret generic {name} -n {namespace} --type=kubernetes.io/dockerconfigjson "
        f"--from-file=.dockerconfigjson=config.json && shred -u config.json"
    )


def add_auths_keys(name: str, namespace: str, data_key: str, edits: list[tuple[str, str]]) -> str:
    """Copy each key's credential to the key with the port, inside the secret (jq 1.6+): the
    credential never reaches argv or the terminal, and `replace` fails on a concurrent change
    (the object carries its resourceVersion)."""
    auths = ".auths" if data_key == ".dockerconfigjson" else ""
    copies = " | ".join(f"{auths}[{json.dumps(new)}] = {auths}[{json.dumps(old)}]" for old, new in edits)
    program = f'.data["{data_key}"] |= (@base64d | fromjson | {copies} | tojson | @base64)'
    return f"kubectl get secret {q(name)} -n {q(namespace)} -o json | jq {q(program)} | kubectl replace -f -"


def patch_service_account(account: str, namespace: str, secrets: list[str], has_list: bool | None) -> str:
    """A JSON patch that appends (never a strategic-merge patch: it would replace the list)."""
    append = json.dumps(
        [{"op": "add", "path": "/imagePullSecrets/-", "value": {"name": s}} for s in secrets],
        separators=(",", ":"),
    )
    create = json.dumps(
        [{"op": "add", "path": "/imagePullSecrets", "value": [{"name": s} for s in secrets]}],
        separators=(",", ":"),
    )
    account, namespace = q(account), q(namespace)
    base = f"kubectl patch serviceaccount {account} -n {namespace} --type=json -p"
    if has_list is True:
        return f"{base} {q(append)}"
    if has_list is False:
        return f"{base} {q(create)}"
    return (  # unknown: append when the list exists, else create it with these secrets
        f"if kubectl get serviceaccount {account} -n {namespace} -o jsonpath='{{.imagePullSecrets}}' | grep -q .; "
        f"then {base} {q(append)}; else {base} {q(create)}; fi"
    )


def patch_workload(owner: ObjectRef, secrets: list[str]) -> str:
    """PodSpec.imagePullSecrets merges by name in a strategic-merge patch: the template's list is kept."""
    if owner.kind == "Pod":  # a running pod's spec is immutable
        items = "".join(f"\n  - name: {s}" for s in secrets)
        return f"# edit the Pod manifest and recreate the pod:\n# spec:\n#   imagePullSecrets:{items.replace(chr(10), chr(10) + '#   ')}"
    body: dict[str, object] = {"spec": {"imagePullSecrets": [{"name": s} for s in secrets]}}
    for step in reversed(TEMPLATE_PATHS.get(owner.kind, ("spec", "template"))):
        body = {step: body}
    resource = WORKLOAD_RESOURCES.get(owner.kind, owner.kind.lower())
    patch = json.dumps(body, separators=(",", ":"))
    return f"kubectl patch {q(resource)} {q(owner.name)} -n {q(owner.namespace or 'default')} -p {q(patch)}"


# -- building ---------------------------------------------------------------------------------


def port_key_candidates(pod: PodCredentials, repository: str) -> list[tuple[Secret, str, str]]:
    """(secret, key, key with the image's port) for each key of the pod's usable pull secrets
    that covers the repository once the port is added (the plan and `pullguard fix` repair it
    only when there is exactly one)."""
    return [
        (ref.secret, old, new)
        for ref in pod.by_state(SecretState.USABLE)
        if ref.secret is not None and ref.secret.payload is not None
        for old, new in port_candidates([e.key for e in ref.secret.payload.entries], repository)
    ]


def _needs(resolution: Resolution, pod: PodCredentials) -> list[ImageJudgement]:
    """The pod's images that need a credential they do not get (a broken keyring fails public ones too,
    but repairing it fixes those: they need no credential of their own)."""
    return [
        j
        for j in resolution.images_of(pod)
        if will_not_pull(j)
        and j.visibility is not Visibility.PUBLIC
        and not (j.coverage is Coverage.BROKEN and j.visibility is not Visibility.PRIVATE)
    ]


class _Builder:
    def __init__(self, resolution: Resolution) -> None:
        self.resolution = resolution
        self.steps: dict[str, list[Step]] = {}
        self.creates: dict[tuple[str, str], Step] = {}
        self.attaches: dict[tuple[str, ObjectRef], Step] = {}
        self.reuses: dict[tuple[str, str], Step] = {}
        self.by_pod: dict[int, list[Step]] = {}
        self.by_secret: dict[tuple[str, str], list[Step]] = {}
        # per namespace, its usable pull secrets (by name) and their keys' locations: built once
        self._pull_keys: dict[str, list[tuple[Secret, list[str]]]] | None = None
        # per namespace: its pull secrets' keys, indexed (`covering_secret`)
        self._namespace_keys: dict[str, KeyHolders[Secret]] = {}

    def _add(self, namespace: str, step: Step) -> Step:
        self.steps.setdefault(namespace, []).append(step)
        return step

    def _touch(self, pod: PodCredentials, step: Step) -> None:
        steps = self.by_pod.setdefault(id(pod), [])
        if step not in steps:
            steps.append(step)
        step.serve(pod.template.owner)

    def secret_step(self, pod: PodCredentials, action: Action, name: str, registries: Iterable[str]) -> Step:
        namespace = pod.template.namespace
        key = (namespace, name)
        step = self.creates.get(key)
        if step is None:
            step = self._add(namespace, Step(action, namespace, name))
            self.creates[key] = step
            self.by_secret.setdefault(key, []).append(step)
        for registry in registries:
            if registry not in step.registries:
                step.registries.append(registry)
        self._touch(pod, step)
        return step

    def attach(self, pod: PodCredentials, name: str) -> None:
        namespace = pod.template.namespace
        template = pod.template
        own_list = bool(template.pull_secrets) or template.declares_pull_secrets
        if own_list:
            target = template.owner
            action = Action.ATTACH_WORKLOAD
        else:
            target = ObjectRef("ServiceAccount", namespace, template.service_account)
            action = Action.ATTACH_SERVICE_ACCOUNT
        key = (namespace, target)
        step = self.attaches.get(key)
        if step is None:
            step = self._add(namespace, Step(action, namespace, name, target=target))
            if action is Action.ATTACH_SERVICE_ACCOUNT:
                account = self.resolution.inventory.service_accounts.get(
                    (namespace, template.service_account)
                )
                step.sa_list = bool(account.pull_secrets) if account is not None else None
            self.attaches[key] = step
        if name not in step.secrets:
            step.secrets.append(name)
        self._touch(pod, step)

    def covering_secret(self, namespace: str, repository: str) -> Secret | None:
        """A usable pull secret of the namespace with a key for the repository (first by name):
        one whose own keyring `lookup` finds a key, looked up in an index of the namespace's keys."""
        holders = self._namespace_keys.get(namespace)
        if holders is None:
            holders = self._namespace_keys[namespace] = KeyHolders(
                self._usable_pull_secrets().get(namespace, [])
            )
        found = holders.holding(repository)
        return found[0] if found else None

    def _usable_pull_secrets(self) -> dict[str, list[tuple[Secret, list[str]]]]:
        """Each namespace's usable pull secrets, by name, with the locations of their keys: indexed
        once for the whole plan instead of sorting every secret for every pod."""
        if self._pull_keys is None:
            self._pull_keys = {}
            for (namespace, _name), secret in sorted(self.resolution.inventory.secrets.items()):
                if not secret.is_pull_secret_type or not secret.registries_known:
                    continue
                payload = secret.payload
                if payload is None or payload.error is not None or payload.missing:
                    continue
                locations = [
                    k.location for e in payload.entries if (k := parse_registry_key(e.key)) is not None
                ]
                self._pull_keys.setdefault(namespace, []).append((secret, locations))
        return self._pull_keys

    def plan_pod(self, pod: PodCredentials) -> None:
        needs = _needs(self.resolution, pod)
        broken = [
            r
            for r in pod.references
            if r.state in (SecretState.MALFORMED, SecretState.EMPTY, SecretState.WRONG_TYPE)
        ]
        if not needs and not any(r.state is SecretState.MALFORMED for r in broken):
            return
        registries = list(dict.fromkeys(j.use.ref.domain for j in needs if j.use.ref is not None))
        remaining = list(registries)
        for ref in broken:
            if ref.state is SecretState.WRONG_TYPE:
                assert ref.secret is not None
                if ref.secret.docker_keys_in_wrong_type:  # its data is a registry config: keep it
                    self.secret_step(pod, Action.RETYPE, ref.name, remaining)
                    remaining = []
                continue
            own = self._keys_of(ref.secret)
            self.secret_step(pod, Action.REPAIR, ref.name, [*own, *(r for r in remaining if r not in own)])
            remaining = []
        remaining = [r for r in remaining if not self.port_repair(pod, r, self._repository(needs, r))]
        for ref in pod.by_state(SecretState.MISSING):
            if remaining:
                self.secret_step(pod, Action.CREATE_MISSING, ref.name, remaining)
                remaining = []
        for registry in remaining:
            repository = self._repository(needs, registry)
            existing = self.covering_secret(pod.template.namespace, repository)
            if existing is not None:
                key = (pod.template.namespace, existing.ref.name)
                reuse = self.reuses.get(key)
                if reuse is None:
                    reuse = self._add(key[0], Step(Action.REUSE, key[0], existing.ref.name))
                    self.reuses[key] = reuse
                if reuse.renew is None:
                    reuse.renew = _unrefreshed_token(existing, repository)
                if registry not in reuse.registries:
                    reuse.registries.append(registry)
                self._touch(pod, reuse)
                name = existing.ref.name
            else:
                name = self._new_name(pod.template.namespace, registry)
                self.secret_step(pod, Action.CREATE, name, [registry])
            self.attach(pod, name)

    @staticmethod
    def _repository(needs: list[ImageJudgement], registry: str) -> str:
        return next(j.use.ref.repository for j in needs if j.use.ref and j.use.ref.domain == registry)

    def port_repair(self, pod: PodCredentials, registry: str, repository: str) -> bool:
        """A key with the image's port added to the pod's own pull secret, when exactly one key of
        the secrets the kubelet tries for the pod covers the image once the port is added (the
        rule `pullguard fix` applies to files)."""
        found = port_key_candidates(pod, repository)
        if len(found) != 1:
            return False
        secret, old, new = found[0]
        assert secret.payload is not None
        step = self.secret_step(pod, Action.ADD_PORT_KEY, secret.ref.name, [registry])
        step.data_key = secret.payload.data_key
        if (old, new) not in step.key_edits:
            step.key_edits.append((old, new))
        return True

    def _keys_of(self, secret: Secret | None) -> list[str]:
        if secret is None or secret.payload is None:
            return []
        return [e.key for e in secret.payload.entries]

    def _new_name(self, namespace: str, registry: str) -> str:
        """The registry's name; suffixed when a different secret of that name already exists."""
        base = secret_name_for(registry)
        name, n = base, 2
        while (namespace, name) in self.resolution.inventory.secrets or (
            (namespace, name) in self.creates and self.creates[(namespace, name)].registries != [registry]
        ):
            name, n = f"{base}-{n}", n + 1
        return name


def build(resolution: Resolution, findings: Iterable[Finding]) -> Plan:
    findings = list(findings)
    builder = _Builder(resolution)
    planned: dict[int, PodCredentials] = {}  # only pods a reported (not suppressed) finding concerns
    for finding in findings:
        if finding.breaks_pull:
            for pod in concerned_pods(resolution, finding):
                planned.setdefault(id(pod), pod)
    for pod in resolution.pods:
        if id(pod) in planned:
            builder.plan_pod(pod)
    plan = Plan([NamespacePlan(ns, steps) for ns, steps in sorted(builder.steps.items())])
    for finding in findings:
        steps = _steps_of(builder, resolution, finding)
        if steps:
            plan.by_finding[finding_key(finding)] = steps
            label = f"{finding.check_id} {finding.object}"
            for step in steps:
                step.fix(label)
    for namespace in plan.namespaces:  # order: secrets first, then attachments
        order = list(Action)
        namespace.steps.sort(key=lambda s: order.index(s.action) if s.action is not Action.REUSE else -1)
    return plan


def _steps_of(builder: _Builder, resolution: Resolution, finding: Finding) -> list[Step]:
    if finding.check_id not in ("PG001", "PG002", "PG003", "PG004"):
        return []
    target = finding.object
    namespace = target.namespace or "default"
    steps: list[Step] = []
    if target.kind == "Secret":
        steps += builder.by_secret.get((namespace, target.name), [])
    index = resolution.pod_index
    owned = index.by_owner.get(target, [])
    inheriting = index.by_inherited_account.get(target, []) if target.kind == "ServiceAccount" else []
    for pod in {id(pod): pod for pod in (*owned, *inheriting)}.values():
        for step in builder.by_pod.get(id(pod), []):
            if step not in steps:
                steps.append(step)
    return steps


def with_plan_remediation(findings: Iterable[Finding], plan: Plan) -> list[Finding]:
    """Findings the plan fixes carry the plan's steps as their remediation: one fix, never two that clash."""
    out: list[Finding] = []
    for finding in findings:
        steps = plan.steps_for(finding)
        out.append(
            replace(finding, remediation=remediation_text(plan, steps, finding.object)) if steps else finding
        )
    return out


def remediation_text(plan: Plan, steps: list[Step], about: ObjectRef) -> str:
    """A finding's remediation: the plan's steps for it, as commands about the finding's object."""
    lines: list[str] = []
    for step in steps:
        lines.append(f"# {step.title}")
        lines += plan.commands_about(step, about)
    return "\n".join(lines)
