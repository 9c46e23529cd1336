"""Which finding becomes which edit of a manifest file.

- PG003, a pull secret of the wrong type: a Secret whose data (or stringData) holds a
  well-formed ``.dockerconfigjson`` (``.dockercfg``) gets ``type:
  kubernetes.io/dockerconfigjson`` (``kubernetes.io/dockercfg``); the kubelet ignores
  the keys of any other type. A malformed payload is left to the user (the API
  server would refuse the new type). The type of a Secret cannot be changed in
  place: the note says to delete and re-apply it.
- PG001, a private image without pull credentials, when a pull secret among the
  scanned files, in the pod's namespace, has an ``auths`` key that covers the
  image (the kubelet's matching rules, its fallback to the Docker Hub key
  included): the secret is appended to the pod
  template's ``imagePullSecrets`` when it has its own list; otherwise to its
  ServiceAccount's list when that ServiceAccount is among the files (all its pods
  inherit it); otherwise a list is added to the pod template.
- PG002, a reference to a pull secret that does not exist, as the scan's fix plan
  (remediation/plan.py) sees it: when an image needs the name (the plan creates
  the missing secret for the pod's private image, or a Secret of that name in
  another namespace of the input covers the image: pull secrets are
  namespace-local), the reference is kept and the plan's `kubectl create secret`
  command is listed to do by hand; the PG001 of that pod's image is then left to
  the same step (no second secret is attached). Only a name no image needs is
  removed from the list that holds it (the kubelet skips it anyway); an image with
  no usable credential on a registry of unknown visibility may need it, so it stays.
- PG001/PG004, an `auths` key that misses the image's port (the kubelet compares
  ports as strings, no default port: kubernetes/kubernetes
  pkg/credentialprovider/keyring.go `URLsMatch`): see ``_fix_ports`` and
  ``authport``; the key gets the port, the credential stays byte for byte.

Edits add or remove a reference, set a type, or change an `auths` key; a
credential is never written but where it already was (the edited key's own
value, re-encoded and verified), and a file without a fix is never touched.
Everything else is left to the findings' remediation text.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from pullguard.breakage import will_not_pull
from pullguard.checks import Finding
from pullguard.errors import DockerConfigError, PullguardError
from pullguard.fixer.authport import KeyEdit, RepairRefused, edit_config
from pullguard.fixer.rtyaml import YamlFile
from pullguard.fixer.textfile import read_manifest
from pullguard.inventory.model import ObjectRef, Secret, SecretOrigin
from pullguard.inventory.resolve import Coverage, PodCredentials, Resolution, SecretsFrom, SecretState
from pullguard.remediation.plan import Action, Plan, Step, create_secret, port_key_candidates
from pullguard.result import ScanResult
from pullguard.semantics.dockerconfig import decode_secret_value, parse_dockercfg, parse_dockerconfigjson
from pullguard.semantics.imageref import parse_image
from pullguard.semantics.keyring import KeyHolders, key_matches, lookup, parse_registry_key
from pullguard.semantics.registries import Visibility
from pullguard.text_safety import shell_word as q

__all__ = ["FixPlan", "plan_fixes"]

_TYPES = {".dockerconfigjson": "kubernetes.io/dockerconfigjson", ".dockercfg": "kubernetes.io/dockercfg"}


@dataclass(slots=True)
class FixPlan:
    files: dict[str, YamlFile] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)  # one line per edit
    manual: list[str] = field(default_factory=list)  # findings a file edit cannot fix safely
    secret_values: set[str] = field(default_factory=set)  # Secret data in the files: never shown
    # (path, document, data key) -> what an edit of that Secret value did, shown instead of the value
    value_notes: dict[tuple[str, int, str], str] = field(default_factory=dict)

    def changed(self) -> dict[str, tuple[str, str]]:
        """path -> (original text, fixed text), for files whose text changed."""
        out = {}
        for path, yaml_file in self.files.items():
            text = yaml_file.render()
            if text != yaml_file.original:
                out[path] = (yaml_file.original, text)
        return out


@dataclass(frozen=True, slots=True)
class _PullSecret:
    name: str
    namespace: str
    keys: tuple[str, ...]


def _template_spec(kind: str, obj: Any) -> Any:
    if kind == "Pod":
        return obj.get("spec")
    if kind == "CronJob":
        return (
            (((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {})
            .get("template", {})
            .get("spec")
        )
    return ((obj.get("spec") or {}).get("template") or {}).get("spec")


def _names(listing: Any) -> list[str]:
    return [str(item.get("name")) for item in listing or [] if isinstance(item, Mapping)]


# where the credential of a pull secret that cannot be edited here is changed
_ELSEWHERE = {
    SecretOrigin.SOPS: "it is SOPS-encrypted: `sops edit` the file, change the key, save",
    SecretOrigin.SEALED_SECRET: "it is a SealedSecret: seal the Secret again (kubeseal) with the key changed",
    SecretOrigin.EXTERNAL_SECRET: "an ExternalSecret writes it: change the key in its template or the store",
    SecretOrigin.DECLARED: "it is declared in the configuration (externalPullSecrets), not defined in these "
    "files: change the key where the secret is created, and in the declaration",
}


@dataclass(slots=True)
class _PortRepair:
    """The keys of one pull secret that need the image's port, and the images that need them."""

    secret: Secret
    edits: dict[str, set[str]] = field(default_factory=dict)  # key as written -> keys with a port
    images: list[str] = field(default_factory=list)
    where: str = ""


class _Planner:
    def __init__(self, default_namespace: str, resolution: Resolution | None, scan_plan: Plan) -> None:
        self.plan = FixPlan()
        self.default_namespace = default_namespace
        self.resolution = resolution
        self.scan_plan = scan_plan
        # the pull secrets of the files, per namespace and name (None: not learnt yet)
        self._secrets: dict[str, dict[str, _PullSecret]] | None = None
        self._holders: dict[str, KeyHolders[str]] = {}  # per namespace: its secrets' keys, indexed
        self._accounts: dict[tuple[str, str], tuple[str, int, int | None]] = {}
        self._ports: dict[tuple[str, str], _PortRepair] = {}
        self._files: set[str] = set()
        self._port_images: set[tuple[str, str]] = set()  # (namespace, image) a port repair is about
        self._repaired: set[tuple[str, str]] = set()  # (namespace, image) a port repair made pull

    def file(self, path: str) -> YamlFile:
        path = os.path.normpath(path)
        if path not in self.plan.files:
            self.plan.files[path] = YamlFile.parse(path, *read_manifest(path))
        return self.plan.files[path]

    def obj(self, path: str, document: int, item: int | None) -> Any:
        data = self.file(path).document(document)
        if item is not None:
            data = (data or {}).get("items", [])[item]
        return data

    # -- what the files hold ---------------------------------------------------------------

    def _know_secret(self, secret: _PullSecret) -> None:
        """A pull secret of the files, as it now is (a repair replaces what was known of it)."""
        assert self._secrets is not None
        self._secrets.setdefault(secret.namespace, {})[secret.name] = secret
        self._holders.pop(secret.namespace, None)

    def _covering(self, namespace: str, repository: str) -> list[str]:
        """The names of the namespace's pull secrets with a key that covers `repository`, sorted,
        the Docker Hub key included for an image Docker Hub serves (the kubelet falls back to it:
        keyring.go `Lookup`), as the scan's plan counts them. Looked up in an index of the
        namespace's keys: a search of every secret for every finding grew with their product."""
        assert self._secrets is not None
        holders = self._holders.get(namespace)
        if holders is None:
            holders = self._holders[namespace] = KeyHolders(
                (
                    secret.name,
                    [k.location for raw in secret.keys if (k := parse_registry_key(raw)) is not None],
                )
                for secret in self._secrets.get(namespace, {}).values()
            )
        return sorted(holders.holding(repository))

    def learn(self, yaml_files: set[str]) -> None:
        """The pull secrets (name, namespace, auths keys) and ServiceAccounts of the scanned YAML files,
        as the scan read them (its inventory: no second parse of every file)."""
        self._secrets = {}
        if self.resolution is None:
            return
        inventory = self.resolution.inventory
        for (namespace, name), secret in sorted(inventory.secrets.items()):
            payload = secret.payload
            if (
                secret.origin is SecretOrigin.PLAIN
                and payload is not None
                and payload.error is None
                and payload.entries
                and os.path.normpath(secret.location.path) in yaml_files
            ):
                self._know_secret(_PullSecret(name, namespace, tuple(e.key for e in payload.entries)))
        for (namespace, name), account in sorted(inventory.service_accounts.items()):
            where = account.location
            if os.path.normpath(where.path) in yaml_files:
                self._accounts[(namespace, name)] = (os.path.normpath(where.path), where.document, where.item)

    def _remember(self, values: Iterable[str]) -> None:
        """Secret values never shown: whole, and each line of a multi-line one."""
        for value in values:
            for part in (value, *value.splitlines()):
                if len(part.strip()) >= 6:
                    self.plan.secret_values.add(part.strip())

    # -- fixes -----------------------------------------------------------------------------

    def fix(self, finding: Finding) -> None:
        where = f"{os.path.normpath(finding.location.path)}: document {finding.location.document}"
        try:
            if finding.check_id == "PG003":
                self._fix_type(finding, where)
            elif finding.check_id == "PG001":
                self._fix_missing_credentials(finding, where)
            elif finding.check_id == "PG002":
                self._fix_dangling(finding, where)
        except PullguardError as error:
            self.plan.manual.append(f"{finding.check_id} {where}: {error}")

    def _fix_type(self, finding: Finding, where: str) -> None:
        location = finding.location
        obj = self.obj(location.path, location.document, location.item)
        if not isinstance(obj, Mapping) or obj.get("kind") != "Secret":
            return
        for key, wanted in _TYPES.items():
            raw = (obj.get("data") or {}).get(key)
            plain = (obj.get("stringData") or {}).get(key)
            if raw is None and plain is None:
                continue
            typed = obj.get("type") == wanted
            try:
                payload = decode_secret_value(str(raw)) if raw is not None else str(plain).encode()
                (parse_dockerconfigjson if key == ".dockerconfigjson" else parse_dockercfg)(payload)
            except (DockerConfigError, ValueError):
                repair = self._plan_step(finding, Action.REPAIR)
                then = "" if typed else f", then set type {wanted}"
                how = f": {repair.commands[0]}" if repair is not None and repair.commands else ""
                self.plan.manual.append(
                    f"PG003 {where}: Secret '{finding.object.name}' holds a malformed {key} the kubelet cannot "
                    f"decode: repair its content{then}{how}"
                )
                return
            if typed:
                return
            old = obj.get("type") or "(none: Opaque)"
            obj["type"] = wanted  # type: ignore[index]
            keys = _secret_keys({**obj, "type": wanted})
            if keys and self._secrets is not None:
                namespace = finding.object.namespace or self.default_namespace
                self._know_secret(_PullSecret(finding.object.name, namespace, keys))
            self.file(location.path).touch(location.document)
            self.plan.applied.append(
                f"{where}: Secret '{finding.object.name}' type {old} -> {wanted} (a Secret's type cannot change in "
                "place: delete it and apply again)"
            )
            return
        self.plan.manual.append(
            f"PG003 {where}: Secret '{finding.object.name}' has no .dockerconfigjson or .dockercfg key"
        )

    def _fix_missing_credentials(self, finding: Finding, where: str) -> None:
        if finding.image is None or self._secrets is None:
            return
        try:
            repository = parse_image(finding.image).repository
        except PullguardError:
            return
        namespace = finding.object.namespace or self.default_namespace
        missing = self._plan_step(finding, Action.CREATE_MISSING)
        if missing is not None and (namespace, finding.image) not in self._repaired:
            # the scan's plan creates the name the pod lists: so does fix
            self.plan.manual.append(
                f"PG001 {where}: {finding.image} is left to the missing pull secret '{missing.secret}' that "
                f"{self._lister(finding.object)} lists: create it (see PG002 above)"
            )
            return
        repair = self._plan_step(finding, Action.REPAIR)
        if repair is not None:
            # the pod's own secret cannot be decoded: the kubelet fails every pull of the pod until it is
            # repaired, whatever else is attached (the scan's plan repairs it: so does fix)
            self.plan.manual.append(
                f"PG001 {where}: {finding.image} is left to the repair of pull secret '{repair.secret}', which "
                "the kubelet cannot decode (see PG003 above)"
            )
            return
        covering = self._covering(namespace, repository)
        if not covering:
            if (namespace, finding.image) in self._port_images:
                return  # its secret misses the port: that repair (or why it is not made) is listed
            self.plan.manual.append(
                f"PG001 {where}: no pull secret in the files covers {finding.image} in namespace {namespace}: "
                f"create one (pullguard secret create NAME -n {q(namespace)} --registry …)"
            )
            return
        secret = covering[0]
        reuse = self._plan_step(finding, Action.REUSE)
        if reuse is not None and reuse.secret == secret and reuse.renew is not None and reuse.commands:
            # attached as it is, a token written once pulls until it expires: the plan renews it first
            self.plan.manual.append(
                f"PG006 {where}: pull secret '{secret}', attached for {finding.image}, holds {reuse.renew.what} "
                f"that nothing refreshes: renew it before the pods restart: {reuse.commands[0]}"
            )
        location = finding.location
        obj = self.obj(location.path, location.document, location.item)
        spec = _template_spec(finding.object.kind, obj) if isinstance(obj, Mapping) else None
        if not isinstance(spec, dict):
            return
        label = f"{finding.object.kind} '{finding.object.name}'"
        own = spec.get("imagePullSecrets")
        if own:
            if secret not in _names(own):
                own.append({"name": secret})
                self.file(location.path).touch(location.document)
                self.plan.applied.append(
                    f"{where}: {label}: imagePullSecrets += {secret} (covers {finding.image})"
                )
            return
        account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
        held = self._accounts.get((namespace, account))
        if held is not None:
            sa = self.obj(*held)
            listing = sa.get("imagePullSecrets")
            if listing is None:
                sa["imagePullSecrets"] = [{"name": secret}]
            elif secret not in _names(listing):
                listing.append({"name": secret})
            else:
                return
            self.file(held[0]).touch(held[1])
            self.plan.applied.append(
                f"{held[0]}: document {held[1]}: ServiceAccount '{account}': imagePullSecrets += {secret} "
                f"(its pods, {label} among them, inherit it; covers {finding.image})"
            )
            return
        spec["imagePullSecrets"] = [{"name": secret}]
        self.file(location.path).touch(location.document)
        self.plan.applied.append(
            f"{where}: {label}: imagePullSecrets = [{secret}] (covers {finding.image}; a pod template list "
            f"replaces its ServiceAccount's, which is not among the files)"
        )

    def _plan_step(self, finding: Finding, action: Action) -> Step | None:
        """The scan plan's step of this kind for the finding, if any (creating a missing secret the
        finding's pod lists, repairing a secret it holds)."""
        for step in self.scan_plan.steps_for(finding):
            if step.action is action:
                return step
        return None

    def _plan_creates(self, namespace: str, name: str) -> Step | None:
        for plan in self.scan_plan.namespaces:
            for step in plan.steps:
                if (
                    step.namespace == namespace
                    and step.secret == name
                    and step.action is Action.CREATE_MISSING
                ):
                    return step
        return None

    def _covered_elsewhere(self, owner: ObjectRef, name: str) -> tuple[str, str] | None:
        """(namespace, image) when a Secret of this name in another namespace covers an image of a
        pod that lists the name: the user meant it, and forgot that pull secrets are namespace-local."""
        if self.resolution is None:
            return None
        namespace = owner.namespace or self.default_namespace
        others = [
            s
            for (ns, n), s in sorted(self.resolution.inventory.secrets.items())
            if n == name and ns != namespace and s.payload is not None and s.payload.entries
        ]
        if not others:
            return None
        for pod in self.resolution.pod_index.about(owner):
            if name not in (r.name for r in pod.by_state(SecretState.MISSING)):
                continue
            for judgement in self.resolution.images_of(pod):
                ref = judgement.use.ref
                if ref is None or judgement.visibility is Visibility.PUBLIC:
                    continue
                for other in others:
                    assert other.payload is not None
                    keys = [k.location for e in other.payload.entries if (k := parse_registry_key(e.key))]
                    if lookup(keys, ref.repository):
                        return (other.ref.namespace or self.default_namespace, judgement.use.image)
        return None

    def _lister(self, owner: ObjectRef) -> str:
        """Who lists the pull secrets of the owner's pods: the owner, or the ServiceAccount its pods
        inherit them from (a pod without a list of its own gets its ServiceAccount's)."""
        if self.resolution is not None:
            for pod in self.resolution.pod_index.by_owner.get(owner, ()):
                account = pod.service_account
                if pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT and account is not None:
                    return f"ServiceAccount '{account.ref.name}'"
        return f"{owner.kind} '{owner.name}'"

    def _all_repaired(self, owner: ObjectRef) -> bool:
        """Every image of the owner's pods that needs a credential pulls after this run's port repairs
        (the scan's plan, made before them, would still create the missing name)."""
        if self.resolution is None or not self._repaired:
            return False
        needs = [
            (pod.template.namespace, j.use.image)
            for pod in self.resolution.pod_index.about(owner)
            for j in self.resolution.images_of(pod)
            if will_not_pull(j) and j.visibility is not Visibility.PUBLIC
        ]
        return bool(needs) and all(need in self._repaired for need in needs)

    def _cannot_tell(self, owner: ObjectRef) -> str | None:
        """Why the input cannot show that no image needs the reference, if it cannot."""
        if self.resolution is None:
            return "no resolution"
        pods = self.resolution.pod_index.about(owner)
        if not pods:
            return f"no pod in the input runs as {owner.kind} '{owner.name}'"
        for pod in pods:
            for judgement in self.resolution.images_of(pod):
                if judgement.use.ref is None:
                    return f"the image '{judgement.use.image}' is not a valid reference"
                if judgement.visibility is Visibility.UNKNOWN and judgement.coverage in (
                    Coverage.NONE,
                    Coverage.BROKEN,
                ):
                    # the name may be the very credential this image pulls with: removing it
                    # from a ServiceAccount would leave every pod that inherits it without one
                    return (
                        f"the registry of '{judgement.use.image}' is not known to be public or private: "
                        "declare it with --private-registry or --public-registry"
                    )
        return None

    def _fix_dangling(self, finding: Finding, where: str) -> None:
        name = finding.secret  # structured: the check names the missing secret
        if name is None:
            return
        namespace = finding.object.namespace or self.default_namespace
        label = f"{finding.object.kind} '{finding.object.name}'"
        step = self._plan_creates(namespace, name)
        if step is not None and not self._all_repaired(finding.object):
            self.plan.manual.append(
                f"PG002 {where}: {label} lists '{name}', which its images need: create secret {name} in "
                f"namespace {namespace}: {step.commands[0]}"
            )
            return
        unknown = self._cannot_tell(finding.object)
        if unknown is not None:
            self.plan.manual.append(
                f"PG002 {where}: {label} lists '{name}', which may be needed ({unknown}): create secret {name} "
                f"in namespace {namespace}, or remove the reference if no image needs it"
            )
            return
        elsewhere = self._covered_elsewhere(finding.object, name)
        if elsewhere is not None:
            registry = parse_image(elsewhere[1]).domain
            self.plan.manual.append(
                f"PG002 {where}: {label} lists '{name}', which exists in namespace {elsewhere[0]} and covers "
                f"{elsewhere[1]}; pull secrets are namespace-local: create secret {name} in namespace "
                f"{namespace}: {create_secret(name, namespace, [registry])}"
            )
            return
        location = finding.location
        obj = self.obj(location.path, location.document, location.item)
        if not isinstance(obj, Mapping):
            return
        holder = obj if finding.object.kind == "ServiceAccount" else _template_spec(finding.object.kind, obj)
        if not isinstance(holder, dict):
            return
        listing = holder.get("imagePullSecrets")
        if not listing or name not in _names(listing):
            return
        kept = [item for item in listing if not (isinstance(item, Mapping) and item.get("name") == name)]
        if kept:
            for item in [i for i in listing if i not in kept]:
                listing.remove(item)
        else:
            del holder["imagePullSecrets"]
        self.file(location.path).touch(location.document)
        self.plan.applied.append(
            f"{where}: {finding.object.kind} '{finding.object.name}': imagePullSecrets -= {name} (no such Secret "
            f"in namespace {finding.object.namespace or self.default_namespace}; the kubelet skips it)"
        )

    # -- an auths key that misses the port --------------------------------------------------

    def _collect_ports(self, finding: Finding, where: str) -> None:
        """PG001/PG004: a pull secret of the pod has exactly one key that covers the image once the
        image's port is added; remember it (applied by ``apply_ports``, grouped per secret)."""
        if self.resolution is None:
            return
        for pod in self.resolution.pod_index.by_owner.get(finding.object, ()):
            for judgement in self.resolution.images_of(pod):
                ref = judgement.use.ref
                if (
                    ref is None
                    or not will_not_pull(judgement)
                    or judgement.coverage is Coverage.BROKEN
                    or judgement.visibility is Visibility.PUBLIC
                    or (finding.check_id == "PG001" and judgement.use.image != finding.image)
                ):
                    continue
                self._port_candidate(pod, judgement.use.image, ref.repository, where)

    def _port_candidate(self, pod: PodCredentials, image: str, repository: str, where: str) -> None:
        found = port_key_candidates(pod, repository)
        if not found:
            return
        self._port_images.add((pod.template.namespace, image))
        if len(found) > 1:
            keys = ", ".join(f"'{s.ref.name}' key \"{old}\"" for s, old, _ in found)
            self.plan.manual.append(
                f"PG004 {where}: {image}: several auths keys would cover it with its port ({keys}): "
                "add the port to the one whose credential the registry accepts"
            )
            return
        secret, old, new = found[0]
        key = (secret.ref.namespace or self.default_namespace, secret.ref.name)
        repair = self._ports.setdefault(key, _PortRepair(secret, where=where))
        repair.edits.setdefault(old, set()).add(new)
        if image not in repair.images:
            repair.images.append(image)

    def _old_key_needed(self, namespace: str, key: str) -> bool:
        """Another image of the namespace still matches the key as it is (it must stay)."""
        if self.resolution is None:
            return True
        parsed = parse_registry_key(key)
        if parsed is None:
            return False
        return any(
            j.use.ref is not None
            and j.pod.template.namespace == namespace
            and key_matches(parsed.location, j.use.ref.repository)
            for j in self.resolution.images
        )

    def apply_ports(self) -> None:
        for (namespace, name), repair in sorted(self._ports.items()):
            edits = [
                KeyEdit(old, new, keep_old=len(news) > 1 or self._old_key_needed(namespace, old))
                for old, news in sorted(repair.edits.items())
                for new in sorted(news)
            ]
            wanted = "; ".join(
                f'add auths key "{e.new}" with the credential of "{e.old}"'
                if e.keep_old
                else f'rename auths key "{e.old}" to "{e.new}"'
                for e in edits
            )
            label = f"PG004 {repair.where}: Secret '{name}' in namespace {namespace}"
            try:
                self._edit_secret(repair, edits, namespace)
            except RepairRefused as refused:
                self.plan.manual.append(
                    f"{label}: {wanted} (the kubelet matches ports exactly; covers {', '.join(repair.images)}); "
                    f"not edited: {refused}"
                )

    def _edit_secret(self, repair: _PortRepair, edits: list[KeyEdit], namespace: str) -> None:
        secret = repair.secret
        payload = secret.payload
        assert payload is not None
        data_key = payload.data_key
        if secret.origin is not SecretOrigin.PLAIN:
            raise RepairRefused(_ELSEWHERE.get(secret.origin, "it is not a plain Secret in these files"))
        location = secret.location
        path = os.path.normpath(location.path)
        if path not in self._files:
            raise RepairRefused(f"{location.path} is not a YAML file among those fixed")
        obj = self.obj(path, location.document, location.item)
        if not isinstance(obj, dict) or obj.get("kind") != "Secret" or "sops" in obj:
            raise RepairRefused("its document is not a plain Secret (encrypted, or generated)")
        section = "stringData" if data_key in (obj.get("stringData") or {}) else "data"
        values = obj.get(section)
        value = values.get(data_key) if isinstance(values, dict) else None
        if not isinstance(values, dict) or not isinstance(value, str):
            raise RepairRefused(f"its {section}.{data_key} is not a string")
        if "ENC[" in value:
            raise RepairRefused(f"its {section}.{data_key} is SOPS-encrypted")
        try:
            before = decode_secret_value(value) if section == "data" else value.encode("utf-8")
        except DockerConfigError as error:
            raise RepairRefused(f"its {section}.{data_key}: {error.reason}") from None
        after = before
        for edit in edits:
            after = edit_config(after, data_key, edit)
        text = base64.b64encode(after).decode("ascii") if section == "data" else after.decode("utf-8")
        if section == "data" and decode_secret_value(text) != after:
            raise RepairRefused("the re-encoded value does not decode to the edited JSON")
        if isinstance(value, LiteralScalarString | FoldedScalarString):  # keep a block scalar's style
            text = type(value)(text)
        self._remember([value, text])
        values[data_key] = text
        self.file(path).touch(location.document)
        note = "; ".join(e.describe(data_key) for e in edits)
        self.plan.value_notes[(path, location.document, data_key)] = note
        if self._secrets is not None:  # the PG001 fixes that follow see the new keys
            keys = tuple(
                e.key
                for e in (parse_dockerconfigjson if data_key == ".dockerconfigjson" else parse_dockercfg)(
                    after
                )
            )
            self._know_secret(_PullSecret(secret.ref.name, namespace, keys))
        self._repaired.update((namespace, image) for image in repair.images)
        images = ", ".join(repair.images)
        self.plan.applied.append(
            f"{path}: document {location.document}: Secret '{secret.ref.name}': {note} (the kubelet matches "
            f"ports exactly; covers {images})"
        )


def _secret_keys(obj: Mapping[str, Any]) -> tuple[str, ...]:
    for key in _TYPES:
        raw = (obj.get("data") or {}).get(key)
        plain = (obj.get("stringData") or {}).get(key)
        if raw is None and plain is None:
            continue
        try:
            payload = decode_secret_value(str(raw)) if raw is not None else str(plain).encode()
            entries = (parse_dockerconfigjson if key == ".dockerconfigjson" else parse_dockercfg)(payload)
        except (DockerConfigError, ValueError):
            return ()
        return tuple(e.key for e in entries)
    return ()


def plan_fixes(result: ScanResult, files: Iterable[str], default_namespace: str = "default") -> FixPlan:
    """The edits for the findings of a scan of `files`, agreeing with the scan's fix plan."""
    planner = _Planner(default_namespace, result.resolution, result.plan)
    yaml_files = sorted({os.path.normpath(f) for f in files if f.endswith((".yaml", ".yml"))})
    planner._files = set(yaml_files)
    planner.learn(planner._files)
    # types first (a secret whose type is fixed then covers images), then keys that miss a port
    # (the secret then covers the image: no other secret is attached for it)
    findings = sorted(
        (f for f in result.findings if os.path.normpath(f.location.path) in yaml_files),
        key=lambda f: (f.check_id, f.location.path, f.location.document, f.location.line),
    )
    for finding in findings:
        if finding.check_id == "PG003":
            planner.fix(finding)
    for finding in findings:
        if finding.check_id in ("PG001", "PG004"):
            where = f"{os.path.normpath(finding.location.path)}: document {finding.location.document}"
            planner._collect_ports(finding, where)
    planner.apply_ports()
    for check_id in ("PG002", "PG001"):  # a dangling name first: the pod may then inherit its SA's list
        for finding in findings:
            if finding.check_id == check_id:
                planner.fix(finding)
    planner.plan.manual = list(dict.fromkeys(planner.plan.manual))
    planner.plan.files = {p: f for p, f in planner.plan.files.items() if any(c.changed for c in f.chunks)}
    return planner.plan
