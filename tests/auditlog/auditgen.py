"""Real-shaped Kubernetes audit events (audit.k8s.io/v1 Event), as the API server's log backend writes them.

Shape reproduced from k8s.io/apiserver/pkg/apis/audit/v1/types.go (field order of the Go
struct, which encoding/json keeps: kind, apiVersion, level, auditID, stage, requestURI,
verb, user, impersonatedUser, sourceIPs, userAgent, objectRef, responseStatus,
requestObject, responseObject, requestReceivedTimestamp, stageTimestamp, annotations),
written compact, one event per line (the log backend's JSON format). The request
URI and verb follow RequestInfo (endpoints/request/requestinfo.go): a GET without a name
is `list`, or `watch` with `?watch=true`; a `metadata.name` field selector names the
object in `objectRef.name`. Annotations are the authorizer's
(`authorization.k8s.io/decision`, `authorization.k8s.io/reason`).

Also a CLI for benchmarks: `python tests/auditlog/auditgen.py OUT --bytes N [--gzip]`.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import sys
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CANARY = "CANARY-audit-body-5f1e2d9c"  # a password that must never appear in any report
KUBELET_UA = "kubelet/v1.30.2 (linux/amd64) kubernetes/3968350"
KUBECTL_UA = "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"
T0 = datetime(2026, 6, 1, 9, 0, 0, tzinfo=UTC)  # a Monday
_COUNTER = iter(range(1, 1 << 62))


def stamp(moment: datetime) -> str:
    """metav1.MicroTime as the API server writes it: UTC, microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dockerconfig(password: str = CANARY) -> str:
    auth = base64.b64encode(f"robot:{password}".encode()).decode()
    config = {"auths": {"registry.corp.example": {"username": "robot", "password": password, "auth": auth}}}
    return base64.b64encode(json.dumps(config).encode()).decode()


def secret_object(namespace: str, name: str, password: str = CANARY) -> dict[str, Any]:
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}")),
        },
        "data": {".dockerconfigjson": dockerconfig(password)},
        "type": "kubernetes.io/dockerconfigjson",
    }


def _uri(verb: str, namespace: str | None, name: str | None, resource: str, field_name: str | None) -> str:
    base = f"/api/v1/namespaces/{namespace}/{resource}" if namespace else f"/api/v1/{resource}"
    if verb == "get":
        return f"{base}/{name}"
    query = []
    if field_name:
        query.append(f"fieldSelector=metadata.name%3D{field_name}")
    if verb == "watch":
        query += ["allowWatchBookmarks=true", "resourceVersion=12345", "timeoutSeconds=420", "watch=true"]
    else:
        query.append("limit=500")
    return f"{base}?{'&'.join(query)}"


def event(
    *,
    verb: str,
    user: str,
    groups: Sequence[str] = ("system:authenticated",),
    namespace: str | None = "shop",
    name: str | None = None,
    resource: str = "secrets",
    field_name: str | None = None,
    stage: str = "ResponseComplete",
    code: int | None = 200,
    level: str = "Metadata",
    impersonated: str | None = None,
    impersonated_groups: Sequence[str] = ("system:authenticated",),
    source_ip: str = "10.0.0.5",
    user_agent: str = KUBECTL_UA,
    at: datetime = T0,
    audit_id: str | None = None,
    reason: str = "",
    body_password: str = CANARY,
) -> dict[str, Any]:
    """One audit event; with level Request/RequestResponse the secret's data is in the body."""
    object_name = name or field_name
    ev: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": audit_id or str(uuid.UUID(int=next(_COUNTER))),
        "stage": stage,
        "requestURI": _uri(verb, namespace, name, resource, field_name),
        "verb": verb,
        "user": {"username": user, "groups": list(groups)},
    }
    if user.startswith("system:serviceaccount:"):
        ev["user"]["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, user))
    if impersonated:
        ev["impersonatedUser"] = {"username": impersonated, "groups": list(impersonated_groups)}
    ev["sourceIPs"] = [source_ip]
    ev["userAgent"] = user_agent
    ref: dict[str, Any] = {"resource": resource}
    if namespace:
        ref["namespace"] = namespace
    if object_name:
        ref["name"] = object_name
    ref["apiVersion"] = "v1"
    ev["objectRef"] = ref
    if code is not None and stage != "RequestReceived":
        if code == 403:
            who = impersonated or user
            what = f'{resource} "{object_name}"' if object_name else resource
            ev["responseStatus"] = {
                "metadata": {},
                "status": "Failure",
                "message": f'{what} is forbidden: User "{who}" cannot {verb} resource "{resource}" in API group "" '
                + (f'in the namespace "{namespace}"' if namespace else "at the cluster scope"),
                "reason": "Forbidden",
                "details": {"name": object_name or "", "kind": resource},
                "code": 403,
            }
        elif code >= 400:
            ev["responseStatus"] = {"metadata": {}, "status": "Failure", "reason": "NotFound", "code": code}
        else:
            ev["responseStatus"] = {"metadata": {}, "code": code}
    if level == "RequestResponse" and resource == "secrets" and stage == "ResponseComplete" and code == 200:
        if name or field_name:
            ev["responseObject"] = secret_object(namespace or "default", object_name or "", body_password)
        else:
            ev["responseObject"] = {
                "kind": "SecretList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": "12345"},
                "items": [secret_object(namespace or "default", "regcred", body_password)],
            }
    ev["requestReceivedTimestamp"] = stamp(at)
    ev["stageTimestamp"] = stamp(at + timedelta(milliseconds=3))
    if stage != "RequestReceived":
        decision = "forbid" if code == 403 else "allow"
        ev["annotations"] = {"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": reason}
    return ev


def watch(**fields: Any) -> list[dict[str, Any]]:
    """A watch as logged: ResponseStarted when it starts streaming, ResponseComplete when it ends."""
    at = fields.pop("at", T0)
    audit_id = str(uuid.UUID(int=next(_COUNTER)))
    started = event(verb="watch", stage="ResponseStarted", at=at, audit_id=audit_id, **fields)
    done = event(
        verb="watch", stage="ResponseComplete", at=at + timedelta(minutes=7), audit_id=audit_id, **fields
    )
    return [started, done]


def stages(**fields: Any) -> list[dict[str, Any]]:
    """A get or list with the default policy stages: RequestReceived, then ResponseComplete."""
    audit_id = str(uuid.UUID(int=next(_COUNTER)))
    return [
        event(stage="RequestReceived", audit_id=audit_id, **{**fields, "level": "Metadata"}),
        event(stage="ResponseComplete", audit_id=audit_id, **fields),
    ]


def line(ev: dict[str, Any]) -> str:
    return json.dumps(ev, separators=(",", ":")) + "\n"


def write(path: Path, events: Iterable[dict[str, Any]], *, compress: bool = False) -> Path:
    text = "".join(line(ev) for ev in events)
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def kubelet_get(
    namespace: str = "shop", name: str = "regcred", node: str = "node-1", **fields: Any
) -> dict[str, Any]:
    return event(
        verb="get",
        user=f"system:node:{node}",
        groups=("system:nodes", "system:authenticated"),
        namespace=namespace,
        name=name,
        user_agent=KUBELET_UA,
        source_ip="10.0.1.11",
        **fields,
    )


# -- a large, mixed log for benchmarks -----------------------------------------------------------

_NAMESPACES = [f"team-{i:02d}" for i in range(40)]


def _pool(rng: random.Random) -> list[str]:
    """Templates of a busy cluster's log: mostly other resources, a share of secret reads."""
    templates: list[dict[str, Any]] = []
    for _ in range(4000):
        namespace = rng.choice(_NAMESPACES)
        roll = rng.random()
        if roll < 0.55:
            templates.append(
                event(
                    verb=rng.choice(["get", "list", "watch", "update", "patch"]),
                    user="system:serviceaccount:kube-system:replicaset-controller",
                    groups=(
                        "system:serviceaccounts",
                        "system:serviceaccounts:kube-system",
                        "system:authenticated",
                    ),
                    namespace=namespace,
                    name=f"web-{rng.randrange(1000)}",
                    resource=rng.choice(["pods", "configmaps", "leases", "endpoints"]),
                    user_agent="kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350/system:serviceaccount:kube-system:replicaset-controller",
                )
            )
        elif roll < 0.85:
            node = f"node-{rng.randrange(200)}"
            templates.extend(
                watch(
                    user=f"system:node:{node}",
                    groups=("system:nodes", "system:authenticated"),
                    namespace=namespace,
                    field_name=rng.choice(["regcred", "app-config", "tls"]),
                    user_agent=KUBELET_UA,
                    source_ip=f"10.0.{rng.randrange(4)}.{rng.randrange(250)}",
                )
            )
        elif roll < 0.97:
            templates.append(
                event(
                    verb=rng.choice(["get", "list"]),
                    user="system:serviceaccount:ci:deployer",
                    groups=("system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"),
                    namespace=namespace,
                    name="regcred" if rng.random() < 0.5 else None,
                    reason='RBAC: allowed by ClusterRoleBinding "deployer" of ClusterRole "edit" to ServiceAccount "deployer/ci"',
                )
            )
        else:
            templates.append(
                event(
                    verb="get",
                    user=f"user-{rng.randrange(30)}@corp.example",
                    namespace=namespace,
                    name="regcred",
                    code=rng.choice([200, 403]),
                    source_ip=f"192.0.2.{rng.randrange(250)}",
                )
            )
    out = []
    for ev in templates:
        ev["auditID"] = "@@ID@@"
        ev["requestReceivedTimestamp"] = ev["stageTimestamp"] = "@@TS@@"
        out.append(line(ev))
    return out


def write_big(path: Path, size: int, seed: int = 1, compress: bool = False) -> int:
    """A log of about `size` bytes (uncompressed); returns the number of events."""
    rng = random.Random(seed)
    pool = _pool(rng)
    written = events = 0
    moment = T0
    with gzip.open(path, "wb", compresslevel=1) if compress else path.open("wb") as out:
        batch: list[str] = []
        while written < size:
            template = pool[rng.randrange(len(pool))]
            moment += timedelta(microseconds=rng.randrange(2000))
            text = template.replace("@@ID@@", f"{events:08x}-0000-4000-8000-{seed:012x}").replace(
                "@@TS@@", stamp(moment)
            )
            batch.append(text)
            written += len(text)
            events += 1
            if len(batch) >= 2000:
                out.write("".join(batch).encode())
                batch.clear()
        out.write("".join(batch).encode())
    return events


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument("--bytes", type=int, default=1 << 30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args(argv)
    count = write_big(args.out, args.bytes, args.seed, args.gzip)
    print(f"{args.out}: {count} events", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
