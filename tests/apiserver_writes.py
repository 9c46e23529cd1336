"""Write semantics of the API-server double (``apiserver_double.py``), as kube-apiserver has them.

Each behaviour and its upstream source (kubernetes/kubernetes):

- POST creates: 201 with `uid`, `resourceVersion`, `creationTimestamp` set by the
  server; 409 `AlreadyExists` ("secrets \\"x\\" already exists") when the name is taken
  (`staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`, `Create`).
- PUT updates: `metadata.resourceVersion` in the body is a precondition; a mismatch is
  409 `Conflict` with `OptimisticLockErrorMsg` ("the object has been modified; please
  apply your changes to the latest version and try again"); an empty one is an
  unconditional update, allowed for Secrets, ServiceAccounts and the workloads
  (`store.go` `Update`/`GuaranteedUpdate`, `AllowUnconditionalUpdate` of their
  strategies); a missing object is 404 (`AllowCreateOnUpdate` false). `uid` and
  `creationTimestamp` are kept from the stored object.
- PATCH (`staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go`):
  - `application/json-patch+json` (RFC 6902: add, remove, replace, move, copy,
    test); an operation that fails (a failed `test`, a missing path) is 422
    (`applyJSPatch`: `NewGenericServerResponse(http.StatusUnprocessableEntity, …)`);
  - `application/merge-patch+json` (RFC 7386: objects merge, `null` deletes, lists
    are replaced);
  - `application/strategic-merge-patch+json`: like a merge patch, except for lists
    whose Go field has `patchStrategy:"merge"` with a `patchMergeKey`, which merge
    item by item on that key. In `staging/src/k8s.io/api/core/v1/types.go`
    `PodSpec.ImagePullSecrets`, `Containers`, `InitContainers`, `Volumes` and
    `ServiceAccount.Secrets` carry `patchStrategy:"merge" patchMergeKey:"name"`;
    `ServiceAccount.ImagePullSecrets` carries none, so a strategic merge patch
    **replaces** a ServiceAccount's whole `imagePullSecrets` list (what
    `kubectl patch serviceaccount … -p '{"imagePullSecrets": …}'` does);
  - a patched object whose `metadata.resourceVersion` differs from the stored one
    is 409 `Conflict` (the patch carries an optimistic-lock precondition,
    `GuaranteedUpdate` in `store.go`).
- `?dryRun=All`: validation, admission and the answer as for a real request, and
  nothing is stored (`staging/src/k8s.io/apiserver/pkg/endpoints/handlers/create.go`,
  `update.go`, `patch.go`: `dryrun.IsDryRun`); any other value is 400.
- NamespaceLifecycle admission (`plugin/pkg/admission/namespace/lifecycle/admission.go`):
  a create in a namespace that does not exist is 404 `namespaces "x" not found` (when the
  double was given namespaces at all).
- Secret validation (`pkg/apis/core/validation/validation.go` `ValidateSecret`,
  `ValidateSecretUpdate`): a `kubernetes.io/dockerconfigjson` Secret needs
  `.dockerconfigjson` holding JSON (422 `Invalid`, the value redacted); data keys
  match `[-._a-zA-Z0-9]+`; `type` is immutable (422 "field is immutable").
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apiserver_double import ApiServerDouble

OPTIMISTIC_LOCK = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

# (kind, path of the list inside the object) -> merge key, from k8s.io/api core/v1 types.go tags.
_POD_SPEC_LISTS = {
    "imagePullSecrets": "name",
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
}
_TEMPLATE_SPEC = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def write(
    api: ApiServerDouble,
    method: str,
    plural: str,
    namespace: str | None,
    name: str | None,
    query: Mapping[str, str],
    headers: Any,
    body: bytes,
) -> tuple[int, Any]:
    from apiserver_double import RESOURCES, _status

    dry_run = query.get("dryRun")
    if dry_run not in (None, "All"):
        return 400, _status(400, "BadRequest", f'unsupported dry run option: "{dry_run}"')
    prefix, kind, namespaced = RESOURCES[plural]
    api_version = prefix.removeprefix("/apis/").removeprefix("/api/")
    items = _items(api, plural)
    if method == "POST":
        if name is not None:
            return 405, _status(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        obj, error = _json_body(body)
        if error:
            return 400, _status(400, "BadRequest", error)
        meta = obj.setdefault("metadata", {})
        if namespaced and meta.get("namespace") not in (None, namespace):
            return 400, _status(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        if not meta.get("name"):
            return 422, _invalid(kind, "", "metadata.name: Required value: name or generateName is required")
        if (
            namespace is not None
            and "namespaces" in api.objects
            and _find(_items(api, "namespaces"), None, namespace) is None
        ):
            # NamespaceLifecycle admission (plugin/pkg/admission/namespace/lifecycle): no create in a missing namespace
            return 404, {
                **_status(404, "NotFound", f'namespaces "{namespace}" not found'),
                "details": {"name": namespace, "kind": "namespaces"},
            }
        if _find(items, namespace, meta["name"]) is not None:
            return 409, {
                **_status(409, "AlreadyExists", f'{plural} "{meta["name"]}" already exists'),
                "details": {"name": meta["name"], "kind": plural},
            }
        invalid = _validate(kind, obj, None)
        if invalid:
            return 422, _invalid(kind, meta["name"], invalid)
        meta["namespace"] = namespace
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
        stored = _strip(obj)
        if dry_run:
            meta.pop("resourceVersion", None)
            return 201, {"kind": kind, "apiVersion": api_version, **stored}
        stored["metadata"]["resourceVersion"] = _bump(api)
        items.append(stored)
        return 201, {"kind": kind, "apiVersion": api_version, **copy.deepcopy(stored)}

    if name is None:
        return 405, _status(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )
    index = _find(items, namespace, name)
    if index is None:
        return 404, {
            **_status(404, "NotFound", f'{plural} "{name}" not found'),
            "details": {"name": name, "kind": plural},
        }
    current = items[index]
    current_rv = str(current.get("metadata", {}).get("resourceVersion") or api.resource_version)
    if method == "PUT":
        obj, error = _json_body(body)
        if error:
            return 400, _status(400, "BadRequest", error)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") != name:
            return 400, _status(
                400, "BadRequest", "the name of the object does not match the name on the URL"
            )
        wanted = str(meta.get("resourceVersion") or "")
        if wanted and wanted != current_rv:
            return 409, _conflict(plural, name)
    elif method == "PATCH":
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            patch = json.loads(body)
        except ValueError:
            return 400, _status(400, "BadRequest", "error decoding patch: invalid JSON")
        base = {"kind": kind, "apiVersion": api_version, **copy.deepcopy(current)}
        base["metadata"].setdefault("resourceVersion", current_rv)
        if content_type == "application/json-patch+json":
            try:
                obj = json_patch(base, patch)
            except PatchError as failure:
                return 422, _status(422, "", str(failure))
        elif content_type == "application/merge-patch+json":
            obj = merge_patch(base, patch)
        elif content_type == "application/strategic-merge-patch+json":
            obj = strategic_merge_patch(base, patch, kind)
        else:
            return 415, _status(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json",
            )
        if not isinstance(obj, dict):
            return 422, _status(422, "", "the patched object is not an object")
        meta = obj.setdefault("metadata", {})
        if str(meta.get("resourceVersion") or "") not in ("", current_rv):
            return 409, _conflict(plural, name)
    else:
        return 405, _status(405, "MethodNotAllowed", f"the double does not implement {method}")
    invalid = _validate(kind, obj, current)
    if invalid:
        return 422, _invalid(kind, name, invalid)
    meta["namespace"] = namespace
    meta["uid"] = current.get("metadata", {}).get("uid") or str(uuid.uuid4())
    if current.get("metadata", {}).get("creationTimestamp"):
        meta["creationTimestamp"] = current["metadata"]["creationTimestamp"]
    stored = _strip(obj)
    if dry_run:
        stored["metadata"]["resourceVersion"] = current_rv
        return 200, {"kind": kind, "apiVersion": api_version, **stored}
    unchanged = _strip(
        {**copy.deepcopy(current), "metadata": {**current.get("metadata", {}), "resourceVersion": ""}}
    )
    if _strip({**stored, "metadata": {**stored["metadata"], "resourceVersion": ""}}) == unchanged:
        stored["metadata"]["resourceVersion"] = current_rv  # a no-op write keeps the resourceVersion
    else:
        stored["metadata"]["resourceVersion"] = _bump(api)
    items[index] = stored
    return 200, {"kind": kind, "apiVersion": api_version, **copy.deepcopy(stored)}


# -- helpers ----------------------------------------------------------------------


def _items(api: ApiServerDouble, plural: str) -> list[dict[str, Any]]:
    items = api.objects.get(plural)
    if not isinstance(items, list):
        items = [dict(item) for item in (items or [])]
        api.objects[plural] = items
    return items  # type: ignore[return-value]


def _find(items: list[dict[str, Any]], namespace: str | None, name: str) -> int | None:
    for index, item in enumerate(items):
        meta = item.get("metadata", {})
        if meta.get("name") == name and (namespace is None or meta.get("namespace") == namespace):
            return index
    return None


def _bump(api: ApiServerDouble) -> str:
    api.resource_version = str(int(api.resource_version) + 1)
    return api.resource_version


def _strip(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Stored objects carry no kind/apiVersion (the double adds them when answering)."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("kind", "apiVersion")}


def _json_body(body: bytes) -> tuple[dict[str, Any], str | None]:
    try:
        obj = json.loads(body)
    except ValueError:
        return {}, "the body of the request is not JSON"
    if not isinstance(obj, dict):
        return {}, "the body of the request is not a JSON object"
    return obj, None


def _conflict(plural: str, name: str) -> dict[str, Any]:
    from apiserver_double import _status

    message = f'Operation cannot be fulfilled on {plural} "{name}": {OPTIMISTIC_LOCK}'
    return {**_status(409, "Conflict", message), "details": {"name": name, "kind": plural}}


def _invalid(kind: str, name: str, cause: str) -> dict[str, Any]:
    from apiserver_double import _status

    return {
        **_status(422, "Invalid", f'{kind} "{name}" is invalid: {cause}'),
        "details": {"name": name, "kind": kind},
    }


def _validate(kind: str, obj: Mapping[str, Any], current: Mapping[str, Any] | None) -> str | None:
    if kind != "Secret":
        return None
    data = obj.get("data") or {}
    if not isinstance(data, dict):
        return "data: Invalid value: must be a map"
    for key, value in data.items():
        if not _KEY.match(key):
            return f"data[{key}]: Invalid value: a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
        try:
            base64.b64decode(str(value), validate=True)
        except ValueError:
            return f"data[{key}]: Invalid value: illegal base64 data"
    secret_type = obj.get("type") or "Opaque"
    if current is not None and secret_type != (current.get("type") or "Opaque"):
        return "type: Invalid value: field is immutable"
    if secret_type == "kubernetes.io/dockerconfigjson":
        raw = data.get(".dockerconfigjson")
        if raw is None:
            return "data[.dockerconfigjson]: Required value"
        try:
            json.loads(base64.b64decode(str(raw)))
        except ValueError as error:
            return f'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": {type(error).__name__}'
    return None


# -- RFC 6902 JSON patch ---------------------------------------------------------------


class PatchError(Exception):
    pass


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"doc is missing path: {path}")
    return node, parts[-1]


def _get_at(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise PatchError(f"doc is missing path: {path}")


def _remove_at(doc: Any, path: str) -> Any:
    parent, last = _parent(doc, _pointer(path), path)
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise PatchError(f"unable to remove nonexistent key: {path}")


def _add_at(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise PatchError(f"Unable to access invalid index: {last}")
    else:
        raise PatchError(f"doc is missing path: {path}")
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "path" not in op:
            raise PatchError("an operation needs 'op' and 'path'")
        kind, path = op.get("op"), str(op["path"])
        if kind == "add":
            doc = _add_at(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove_at(doc, path)
        elif kind == "replace":
            _get_at(doc, path)
            parts = _pointer(path)
            if not parts:
                doc = copy.deepcopy(op.get("value"))
            else:
                parent, last = _parent(doc, parts, path)
                parent[int(last) if isinstance(parent, list) else last] = copy.deepcopy(op.get("value"))
        elif kind == "test":
            if _get_at(doc, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
        elif kind in ("move", "copy"):
            value = _get_at(doc, str(op.get("from", "")))
            if kind == "move":
                _remove_at(doc, str(op.get("from", "")))
            doc = _add_at(doc, path, copy.deepcopy(value))
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


# -- RFC 7386 merge patch and strategic merge patch ---------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: dict[str, Any], patch: Any, kind: str) -> Any:
    """A merge patch whose lists merge on their patchMergeKey where types.go declares one."""
    merge_lists: dict[tuple[str, ...], str] = {}
    if kind == "ServiceAccount":
        merge_lists[("secrets",)] = "name"  # ServiceAccount.Secrets: patchStrategy merge, key name
        # ServiceAccount.ImagePullSecrets: no patch tags -> replaced as a whole
    spec = _TEMPLATE_SPEC.get(kind)
    if spec is not None:
        for field_name, key in _POD_SPEC_LISTS.items():
            merge_lists[(*spec, field_name)] = key
    return _smp(target, patch, (), merge_lists)


def _smp(target: Any, patch: Any, path: tuple[str, ...], merge_lists: Mapping[tuple[str, ...], str]) -> Any:
    if isinstance(patch, list) and path in merge_lists and isinstance(target, list):
        key = merge_lists[path]
        result = copy.deepcopy(target)
        for item in patch:
            if not isinstance(item, dict):
                result.append(copy.deepcopy(item))
                continue
            match = next(
                (
                    i
                    for i, old in enumerate(result)
                    if isinstance(old, dict) and old.get(key) == item.get(key)
                ),
                None,
            )
            if item.get("$patch") == "delete":
                if match is not None:
                    result.pop(match)
            elif match is None:
                result.append(copy.deepcopy(item))
            else:
                result[match] = _smp(result[match], item, (*path, "[]"), merge_lists)
        return result
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _smp(result.get(key), value, (*path, key), merge_lists)
    return result
