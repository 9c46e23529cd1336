"""Which finding becomes which edit of a manifest file.

- PG003, a pull secret of the wrong type: a Secret whose data (or stringData) holds a
  well-formed ``.dockerconfigjson`` (``.dockercfg``) gets ``type:
  kubernetes.io/dockerconfigjson`` (``kubernetes.io/dockercfg``); the kubelet ignores
  the keys of any other type. A malformed payload is left to the user (the API
  server would refuse the new type). The type of a Secret cannot be changed in
  place: the note says to delete and re-apply it.
- PG001, a private image without pull credentials, when a pull secret among the
  scanned files, in the pod's namespace, has an ``auths`` key that covers the
  image (the kubelet's matching rules): the secret is appended to the pod
  template's ``imagePullSecrets`` when it has its own list; otherwise to its
  ServiceAccount's list when that ServiceAccount is among the files (all its pods
  inherit it); otherwise a list is added to the pod template.
- PG002, a reference to a pull secret that does not exist: the dangling name is
  removed from the list that holds it (the kubelet skips it anyway).

Edits only ever add or remove a reference or set a type: no credential value is
written, and a file without a fix is never touched. Everything else is left to
the findings' remediation text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pullguard.checks import Finding
from pullguard.errors import DockerConfigError, PullguardError
from pullguard.fixer.rtyaml import YamlFile
from pullguard.semantics.dockerconfig import decode_secret_value, parse_dockercfg, parse_dockerconfigjson
from pullguard.semantics.imageref import parse_image
from pullguard.semantics.keyring import key_matches, parse_registry_key

__all__ = ["FixPlan", "plan_fixes"]

_TYPES = {".dockerconfigjson": "kubernetes.io/dockerconfigjson", ".dockercfg": "kubernetes.io/dockercfg"}
_MISSING = re.compile(
    r"pull secret '([^']+)', which (?:does not exist|is not in the input)"
)  # PG002's wording


@dataclass(slots=True)
class FixPlan:
    files: dict[str, YamlFile] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)  # one line per edit
    manual: list[str] = field(default_factory=list)  # findings a file edit cannot fix safely
    secret_values: set[str] = field(default_factory=set)  # Secret data in the files: never shown

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


class _Planner:
    def __init__(self, default_namespace: str) -> None:
        self.plan = FixPlan()
        self.default_namespace = default_namespace
        self._secrets: list[_PullSecret] | None = None
        self._accounts: dict[tuple[str, str], tuple[str, int, int | None]] = {}

    def file(self, path: str) -> YamlFile:
        path = os.path.normpath(path)
        if path not in self.plan.files:
            self.plan.files[path] = YamlFile.parse(path, Path(path).read_text(encoding="utf-8"))
        return self.plan.files[path]

    def obj(self, path: str, document: int, item: int | None) -> Any:
        data = self.file(path).document(document)
        if item is not None:
            data = (data or {}).get("items", [])[item]
        return data

    # -- what the files hold ---------------------------------------------------------------

    def scan_files(self, paths: Iterable[str]) -> None:
        """Pull secrets (name, namespace, auths keys) and ServiceAccounts of the scanned YAML files."""
        self._secrets = []
        for path in paths:
            try:
                yaml_file = self.file(path)
            except (OSError, UnicodeDecodeError):
                continue
            for chunk in yaml_file.chunks:
                if chunk.number is None:
                    continue
                try:
                    document = yaml.safe_load(chunk.text)
                except yaml.YAMLError:
                    continue
                items = (
                    document.get("items")
                    if isinstance(document, dict) and document.get("kind", "").endswith("List")
                    else None
                )
                for index, obj in enumerate(items if isinstance(items, list) else [document]):
                    self._note(path, chunk.number, index if items is not None else None, obj)

    def _note(self, path: str, number: int, item: int | None, obj: Any) -> None:
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
            return
        meta = obj["metadata"]
        namespace = str(meta.get("namespace") or self.default_namespace)
        if obj.get("kind") == "Secret":
            for values in (obj.get("data"), obj.get("stringData")):
                if isinstance(values, dict):
                    self.plan.secret_values.update(
                        str(v) for v in values.values() if v is not None and len(str(v)) >= 6
                    )
        if obj.get("kind") == "ServiceAccount":
            self._accounts[(namespace, str(meta.get("name")))] = (path, number, item)
        elif obj.get("kind") == "Secret" and obj.get("type") in _TYPES.values():
            keys = _secret_keys(obj)
            if keys:
                assert self._secrets is not None
                self._secrets.append(_PullSecret(str(meta.get("name")), namespace, keys))

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
            if obj.get("type") == wanted:
                return
            try:
                payload = decode_secret_value(str(raw)) if raw is not None else str(plain).encode()
                (parse_dockerconfigjson if key == ".dockerconfigjson" else parse_dockercfg)(payload)
            except (DockerConfigError, ValueError):
                self.plan.manual.append(
                    f"PG003 {where}: Secret '{finding.object.name}' holds a malformed {key}: fix its content, then set type {wanted}"
                )
                return
            old = obj.get("type") or "(none: Opaque)"
            obj["type"] = wanted  # type: ignore[index]
            keys = _secret_keys({**obj, "type": wanted})
            if keys and self._secrets is not None:
                namespace = finding.object.namespace or self.default_namespace
                self._secrets.append(_PullSecret(finding.object.name, namespace, keys))
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
        covering = sorted(
            s.name
            for s in self._secrets
            if s.namespace == namespace
            and any(
                (k := parse_registry_key(key)) is not None and key_matches(k.location, repository)
                for key in s.keys
            )
        )
        if not covering:
            self.plan.manual.append(
                f"PG001 {where}: no pull secret in the files covers {finding.image} in namespace {namespace}: "
                f"create one (pullguard secret create NAME -n {namespace} --registry …)"
            )
            return
        secret = covering[0]
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

    def _fix_dangling(self, finding: Finding, where: str) -> None:
        match = _MISSING.search(finding.message)
        if match is None:
            return
        name = match.group(1)
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


def plan_fixes(
    findings: Iterable[Finding], files: Iterable[str], default_namespace: str = "default"
) -> FixPlan:
    planner = _Planner(default_namespace)
    yaml_files = sorted({os.path.normpath(f) for f in files if f.endswith((".yaml", ".yml"))})
    planner.scan_files(yaml_files)
    order = {
        "PG003": 0,
        "PG002": 1,
        "PG001": 2,
    }  # types first: a secret whose type is fixed then covers images
    for finding in sorted(
        findings, key=lambda f: (order.get(f.check_id, 9), f.location.path, f.location.document)
    ):
        if finding.check_id in order and os.path.normpath(finding.location.path) in yaml_files:
            planner.fix(finding)
    planner.plan.files = {p: f for p, f in planner.plan.files.items() if any(c.changed for c in f.chunks)}
    return planner.plan
