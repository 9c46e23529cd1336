"""`pullguard secret attach`: append a pull secret to a ServiceAccount or a workload's pod template.

- Appends, never replaces: a JSON patch (RFC 6902) ``add`` at ``/imagePullSecrets/-``.
  A strategic merge patch would replace a ServiceAccount's whole list, because
  ``ServiceAccount.imagePullSecrets`` has no ``patchMergeKey`` in k8s.io/api
  ``core/v1/types.go`` (``kubectl patch serviceaccount … -p '{"imagePullSecrets": …}'``
  silently detaches the other secrets).
- Idempotent: an already attached secret is a no-op.
- Optimistic concurrency: the patch replaces ``/metadata/resourceVersion`` with the
  version that was read, so a concurrent change makes the API server answer 409
  Conflict; the object is read again and the append decided afresh.
- Shadowing (https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#add-imagepullsecrets-to-a-service-account):
  the ServiceAccount admission plugin copies the ServiceAccount's list only into
  pods that declare none. Attaching to a ServiceAccount whose pods declare their own
  list has no effect on them (a warning names them); attaching to a pod template
  that declares none, when its ServiceAccount has a list, makes those pods stop
  using the ServiceAccount's secrets (risky: needs ``--apply``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pullguard.errors import ConfigError
from pullguard.secrets.kube import Conflict, KubeApi
from pullguard.secrets.plan import Plan, Report
from pullguard.sources.cluster import (
    PODS,
    SECRETS,
    SERVICE_ACCOUNTS,
    WORKLOADS,
    ClusterForbidden,
    ClusterNotFound,
    Resource,
)

__all__ = ["KINDS", "plan_attach_serviceaccount", "plan_attach_workload", "workload_resource"]

_MAX_ATTEMPTS = 5
KINDS: dict[str, str] = {
    "deployment": "deployments",
    "deployments": "deployments",
    "deploy": "deployments",
    "statefulset": "statefulsets",
    "statefulsets": "statefulsets",
    "sts": "statefulsets",
    "daemonset": "daemonsets",
    "daemonsets": "daemonsets",
    "ds": "daemonsets",
    "cronjob": "cronjobs",
    "cronjobs": "cronjobs",
    "cj": "cronjobs",
    "job": "jobs",
    "jobs": "jobs",
}


def workload_resource(text: str) -> tuple[Resource, str]:
    kind, sep, name = text.partition("/")
    if not sep or not name:
        raise ConfigError(f"--workload {text!r}: expected KIND/NAME, e.g. deployment/web")
    if kind.lower() in ("pod", "pods", "po"):
        raise ConfigError(
            "--workload: a pod's imagePullSecrets cannot be changed after it is created; attach to its "
            "Deployment/StatefulSet/DaemonSet/Job/CronJob or to its ServiceAccount"
        )
    plural = KINDS.get(kind.lower())
    if plural is None:
        raise ConfigError(
            f"--workload {text!r}: unknown kind {kind!r} (deployment, statefulset, daemonset, cronjob, job)"
        )
    return next(r for r in WORKLOADS if r.plural == plural), name


def _template_path(resource: Resource) -> tuple[str, ...]:
    if resource.plural == "cronjobs":
        return ("spec", "jobTemplate", "spec", "template", "spec")
    return ("spec", "template", "spec")


def _dig(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = obj
    for step in path:
        node = node.get(step) if isinstance(node, Mapping) else None
    return node


def _names(listing: Any) -> list[str]:
    return [str(i.get("name")) for i in listing or [] if isinstance(i, Mapping)]


def append_operations(obj: Mapping[str, Any], path: tuple[str, ...], secret: str) -> list[dict[str, Any]]:
    """The JSON patch: the read resourceVersion as precondition, then an append (or a new list)."""
    pointer = "/" + "/".join(path)
    holder = _dig(obj, path[:-1]) if len(path) > 1 else obj
    operations: list[dict[str, Any]] = [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": obj["metadata"]["resourceVersion"]}
    ]
    if isinstance(holder, Mapping) and isinstance(holder.get(path[-1]), list):
        operations.append({"op": "add", "path": pointer + "/-", "value": {"name": secret}})
    else:
        operations.append({"op": "add", "path": pointer, "value": [{"name": secret}]})
    return operations


def _apply_locally(obj: Mapping[str, Any], path: tuple[str, ...], secret: str) -> dict[str, Any]:
    import copy

    result: dict[str, Any] = copy.deepcopy(dict(obj))
    node: Any = result
    for step in path[:-1]:
        node = node.setdefault(step, {})
    node.setdefault(path[-1], []).append({"name": secret})
    for key in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"):
        result.get("metadata", {}).pop(key, None)
    result.pop("status", None)
    return result


def _secret_note(api: KubeApi, namespace: str, secret: str) -> list[str]:
    try:
        found = api.get_or_none(SECRETS, namespace, secret)
    except ClusterForbidden:
        return []  # may not read secrets: nothing to say
    if found is None:
        return [
            f"warning: secret {namespace}/{secret} does not exist yet: pods pull without it until it does "
            f"(create it: pullguard secret create {secret} -n {namespace} …)"
        ]
    if found.get("type") not in ("kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"):
        return [
            f"warning: secret {namespace}/{secret} has type {found.get('type') or 'Opaque'!r}: the kubelet ignores "
            "pull secrets that are not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg"
        ]
    return []


def _patch_loop(
    api: KubeApi,
    resource: Resource,
    namespace: str,
    name: str,
    path: tuple[str, ...],
    secret: str,
    first: dict[str, Any],
    server_dry_run: bool,
) -> Report:
    report = Report()
    current = first
    label = f"{resource.kind.lower()}/{name}"
    for attempt in range(_MAX_ATTEMPTS):
        if secret in _names(_dig(current, path)):
            report.lines.append(f"{label}: {secret} is already attached (nothing to do)")
            return report
        try:
            api.json_patch(
                resource, namespace, name, append_operations(current, path, secret), dry_run=server_dry_run
            )
        except Conflict:
            api.stats.conflicts += 1
            report.lines.append(
                f"{label} changed while attaching (409 Conflict): read it again (attempt {attempt + 2})"
            )
            current = api.get(resource, namespace, name)
            continue
        suffix = " (server dry run: nothing stored)" if server_dry_run else ""
        report.lines.append(f"{label}: {secret} appended to imagePullSecrets{suffix}")
        return report
    return report.fail(
        f"{label} kept changing: {_MAX_ATTEMPTS} conflicts in a row; nothing was overwritten, run again"
    )


def _pod_specs_of(api: KubeApi, namespace: str) -> tuple[list[tuple[str, Mapping[str, Any]]], list[str]]:
    """(label, pod spec) of every workload template and unowned pod; and notes for what could not be read."""
    specs: list[tuple[str, Mapping[str, Any]]] = []
    notes: list[str] = []
    for resource in (*WORKLOADS, PODS):
        try:
            items = api.list_objects(resource, namespace)
        except ClusterForbidden:
            notes.append(
                f"note: may not list {resource.plural} in {namespace}; their own lists were not checked"
            )
            continue
        for item in items:
            meta = item.get("metadata") or {}
            if resource is PODS and meta.get("ownerReferences"):
                continue
            if resource.plural == "jobs" and any(
                o.get("kind") == "CronJob" for o in meta.get("ownerReferences") or []
            ):
                continue
            spec = item.get("spec") if resource is PODS else _dig(item, _template_path(resource))
            if isinstance(spec, Mapping):
                specs.append((f"{resource.kind.lower()}/{meta.get('name')}", spec))
    return specs, notes


def plan_attach_serviceaccount(api: KubeApi, namespace: str, secret: str, account: str) -> Plan:
    try:
        sa = api.get(SERVICE_ACCOUNTS, namespace, account)
    except ClusterNotFound:
        raise ConfigError(f"serviceaccount {namespace}/{account} not found") from None
    warnings = _secret_note(api, namespace, secret)
    path = ("imagePullSecrets",)
    names = _names(sa.get("imagePullSecrets"))
    if secret in names:
        return Plan(
            [f"serviceaccount/{account}: {secret} is already attached (nothing to do)"], warnings=warnings
        )
    specs, notes = _pod_specs_of(api, namespace)
    shadowed = [
        label
        for label, spec in specs
        if (spec.get("serviceAccountName") or spec.get("serviceAccount") or "default") == account
        and _names(spec.get("imagePullSecrets"))
    ]
    for label in shadowed:
        warnings.append(
            f"warning: {label} declares its own imagePullSecrets: its pods do not use the ServiceAccount's list "
            f"(the admission plugin copies it only into pods that declare none), so this attach does not reach "
            f"them; to reach them: pullguard secret attach {secret} -n {namespace} --workload {label}"
        )
    warnings += notes
    operations = append_operations(sa, path, secret)
    summary = [
        f"serviceaccount/{account} in {namespace}: imagePullSecrets {names or '[]'} -> {[*names, secret]}",
        "JSON patch (RFC 6902; appends, never replaces the list):",
        *(f"  {op}" for op in operations),
        "Pods take the ServiceAccount's list when they are created: running pods keep theirs until they are "
        "recreated (kubectl rollout restart).",
    ]

    def execute(server_dry_run: bool) -> Report:
        return _patch_loop(api, SERVICE_ACCOUNTS, namespace, account, path, secret, sa, server_dry_run)

    return Plan(
        summary,
        execute,
        objects=[_typed(_apply_locally(sa, path, secret), "v1", "ServiceAccount")],
        warnings=warnings,
    )


def plan_attach_workload(api: KubeApi, namespace: str, secret: str, workload: str) -> Plan:
    resource, name = workload_resource(workload)
    try:
        obj = api.get(resource, namespace, name)
    except ClusterNotFound:
        raise ConfigError(f"{resource.kind.lower()} {namespace}/{name} not found") from None
    warnings = _secret_note(api, namespace, secret)
    path = (*_template_path(resource), "imagePullSecrets")
    spec = _dig(obj, _template_path(resource)) or {}
    names = _names(spec.get("imagePullSecrets"))
    label = f"{resource.kind.lower()}/{name}"
    if secret in names:
        return Plan([f"{label}: {secret} is already attached (nothing to do)"], warnings=warnings)
    risky = False
    if not names:
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        try:
            sa = api.get_or_none(SERVICE_ACCOUNTS, namespace, account)
        except ClusterForbidden:
            sa = None
            warnings.append(
                f"note: may not read serviceaccount {namespace}/{account}; its list was not checked"
            )
        inherited = _names((sa or {}).get("imagePullSecrets"))
        if inherited:
            risky = True
            warnings.append(
                f"warning: {label}'s pods now use serviceaccount/{account}'s imagePullSecrets {inherited}; a list "
                f"in the pod template replaces them (the admission plugin copies the ServiceAccount's list only into "
                f"pods that declare none), so these pods would stop using {inherited}. Attach to the ServiceAccount "
                f"instead: pullguard secret attach {secret} -n {namespace} --serviceaccount {account}"
            )
    operations = append_operations(obj, path, secret)
    summary = [
        f"{label} in {namespace}: pod template imagePullSecrets {names or '[]'} -> {[*names, secret]}",
        "JSON patch (RFC 6902; appends, never replaces the list):",
        *(f"  {op}" for op in operations),
        f"Changing the pod template rolls out new pods for {label}.",
    ]

    def execute(server_dry_run: bool) -> Report:
        return _patch_loop(api, resource, namespace, name, path, secret, obj, server_dry_run)

    return Plan(
        summary,
        execute,
        objects=[_typed(_apply_locally(obj, path, secret), resource.api_version, resource.kind)],
        risky=risky,
        warnings=warnings,
    )


def _typed(obj: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    obj.pop("kind", None)
    obj.pop("apiVersion", None)
    return {"apiVersion": api_version, "kind": kind, **obj}
