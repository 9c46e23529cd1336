"""A Kubernetes API-server double over real HTTP, for the cluster source and the doctor.

It answers the read-only requests pullguard makes the way kube-apiserver does:

- typed lists (`kind: PodList`, items without kind/apiVersion, `metadata.resourceVersion`,
  `metadata.continue`, `metadata.remainingItemCount`) with `limit` + `continue` pagination,
  cluster-wide (`/api/v1/pods`) and per namespace;
- `GET` of one object, 404 `NotFound` Status;
- `fieldSelector` (`metadata.name`, `metadata.namespace`, `type` for secrets,
  `involvedObject.*` for events) and `labelSelector` (`k=v`, comma-separated);
- `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` for secrets (what
  `kubectl get secrets` shows: name, type, data count; no data) and
  `as=PartialObjectMetadataList` for any list;
- bearer-token authentication (401 `Unauthorized` Status for a wrong or expired
  token) and RBAC denials (403 `Forbidden` Status with the API server's message).

Writes (``pullguard secret``), as kube-apiserver answers them (sources in
``apiserver_writes.py``): POST (201, 409 `AlreadyExists`), PUT with
`metadata.resourceVersion` as a precondition (409 `Conflict` on a mismatch, an
unconditional update without one), PATCH as JSON patch (RFC 6902, 422 when an
operation fails), merge patch (RFC 7386) and strategic merge patch with the
list tags of k8s.io/api (ServiceAccount.imagePullSecrets has no patchMergeKey:
a strategic merge replaces the list; PodSpec.imagePullSecrets merges by name),
`dryRun=All`, and the validation of `kubernetes.io/dockerconfigjson` Secrets.

Also: legacy discovery (`/api`, `/apis`, `/api/v1`, `/apis/G/V`: what kubectl falls back to
when the aggregated discovery it asks for first is not offered), so `kubectl apply
--dry-run=server` runs against it; `TCP_NODELAY` on each connection, as Go's net/http sets
it (without it every response waits ~40 ms for a delayed ACK); and `intercept`, which lets
a test answer a request itself (an error status, or `-1`: the connection drops unanswered)
or change stored objects before the request is served (a concurrent writer).

Objects can be a plain list, or any sequence (the scale benchmark generates them lazily).
Nothing here is patched into a client: clients speak HTTP to it.

`fault` makes it misbehave for chosen requests, as a broken or hostile API server (or an
aggregated API server, or a proxy in front of one) can: `internal_error()` is kube-apiserver's
own 500 Status (k8s.io/apimachinery/pkg/api/errors NewInternalError: code 500, reason
InternalError); the others are no Kubernetes behaviour at all: valid JSON of the wrong shape,
a `continue` token that never ends or repeats, a body that never ends, a server that sends one
byte at a time.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import apiserver_writes

# plural -> (group/version path prefix, kind, namespaced)
RESOURCES: dict[str, tuple[str, str, bool]] = {
    "pods": ("/api/v1", "Pod", True),
    "serviceaccounts": ("/api/v1", "ServiceAccount", True),
    "secrets": ("/api/v1", "Secret", True),
    "events": ("/api/v1", "Event", True),
    "namespaces": ("/api/v1", "Namespace", False),
    "nodes": ("/api/v1", "Node", False),
    "deployments": ("/apis/apps/v1", "Deployment", True),
    "statefulsets": ("/apis/apps/v1", "StatefulSet", True),
    "daemonsets": ("/apis/apps/v1", "DaemonSet", True),
    "replicasets": ("/apis/apps/v1", "ReplicaSet", True),
    "jobs": ("/apis/batch/v1", "Job", True),
    "cronjobs": ("/apis/batch/v1", "CronJob", True),
    "roles": ("/apis/rbac.authorization.k8s.io/v1", "Role", True),
    "rolebindings": ("/apis/rbac.authorization.k8s.io/v1", "RoleBinding", True),
    "clusterroles": ("/apis/rbac.authorization.k8s.io/v1", "ClusterRole", False),
    "clusterrolebindings": ("/apis/rbac.authorization.k8s.io/v1", "ClusterRoleBinding", False),
}
_BY_PREFIX = {(prefix, plural): plural for plural, (prefix, _kind, _ns) in RESOURCES.items()}
_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.3", "platform": "linux/amd64"}


@dataclass(frozen=True, slots=True)
class Denial:
    """RBAC says no to `verb` on `resource` in `namespace` (None: cluster-wide requests; "*": every namespace)."""

    verb: str
    resource: str
    namespace: str | None = None


@dataclass(slots=True)
class RequestLog:
    method: str
    path: str
    query: dict[str, str]
    accept: str
    user_agent: str = ""  # the real API server logs it in every audit event (userAgent)


@dataclass(frozen=True, slots=True)
class Fault:
    """A raw answer: `body` sent as it is (chunks), `pause` seconds before each chunk; without a
    Content-Length when `length` is False (the body then ends when the connection closes)."""

    status: int = 200
    body: Iterable[bytes] = ()
    pause: float = 0.0
    length: bool = True


def internal_error(message: str = "Internal error occurred: etcdserver: request timed out") -> Fault:
    return Fault(500, [json.dumps(_status(500, "InternalError", message)).encode()])


def json_fault(document: Any) -> Fault:
    return Fault(200, [json.dumps(document).encode()])


@dataclass
class ApiServerDouble:
    """Start with `with ApiServerDouble(objects) as api:`; `api.url` is its address."""

    objects: dict[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    token: str = "double-token"
    user: str = "system:serviceaccount:pullguard:scanner"
    denials: set[Denial] = field(default_factory=set)
    resource_version: str = "987654"
    max_limit: int = 500  # the server caps `limit` like a real one may
    requests: list[RequestLog] = field(default_factory=list)
    log_requests: bool = True
    on_request: Callable[[RequestLog], None] | None = None
    # fault injection: may answer a request instead of the server (status, document), or None
    intercept: Callable[[RequestLog, Any], tuple[int, Any] | None] | None = None
    # a misbehaving raw answer for some requests (see Fault: endless, trickled); None: answer normally
    fault: Callable[[RequestLog], Fault | None] | None = None

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.last_body = b""  # the last write's body (fault injection replays it)

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> ApiServerDouble:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        double = self

        class Handler(_Handler):
            api = double

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def kubeconfig(self, context: str = "double", namespace: str | None = None, token: str | None = None) -> dict[str, Any]:
        ctx: dict[str, Any] = {"cluster": context, "user": f"{context}-user"}
        if namespace:
            ctx["namespace"] = namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": f"{context}-user", "user": {"token": token or self.token}}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
        }

    def paths(self, method: str = "GET") -> list[str]:
        return [r.path for r in self.requests if r.method == method]

    # -- answering -----------------------------------------------------------------

    def answer(self, method: str, raw_path: str, headers: Any, body: bytes = b"") -> tuple[int, Any]:
        split = urlsplit(raw_path)
        path = unquote(split.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        accept = headers.get("Accept", "")
        if self.log_requests:
            entry = RequestLog(method, path, query, accept, headers.get("User-Agent", ""))
            with self._lock:
                self.requests.append(entry)
            if self.on_request is not None:
                self.on_request(entry)
        else:
            entry = RequestLog(method, path, query, accept)
        if self.token and headers.get("Authorization") != f"Bearer {self.token}":
            return 401, _status(401, "Unauthorized", "Unauthorized")
        if method != "GET":
            self.last_body = body
        if self.intercept is not None:
            injected = self.intercept(entry, self)
            if injected is not None:
                return injected
        if path in ("/version", "/version/"):
            return 200, _VERSION
        if method == "GET" and (path in ("/api", "/apis") or path.rstrip("/") in _GROUP_VERSIONS):
            return 200, _discovery(path.rstrip("/"), self.url)
        route = _route(path)
        if route is None:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        plural, namespace, name = route
        if method != "GET":
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "")
            denied = self._denied(verb, plural, namespace)
            if denied is not None:
                return 403, denied
            with self._lock:
                return apiserver_writes.write(self, method, plural, namespace, name, query, headers, body)
        verb = "get" if name else ("list" if "watch" not in query else "watch")
        denied = self._denied(verb, plural, namespace)
        if denied is not None:
            return 403, denied
        if name is not None:
            return self._get(plural, namespace, name)
        return self._list(plural, namespace, query, accept)

    def _denied(self, verb: str, plural: str, namespace: str | None) -> dict[str, Any] | None:
        if Denial(verb, plural, namespace) not in self.denials and (
            namespace is None or Denial(verb, plural, "*") not in self.denials
        ):
            return None
        group = RESOURCES[plural][0].removeprefix("/apis/").removeprefix("/api/v1")
        group = group.rsplit("/", 1)[0] if group else ""
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        message = (
            f'{plural} is forbidden: User "{self.user}" cannot {verb} resource "{plural}" '
            f'in API group "{group}" {scope}'
        )
        return {**_status(403, "Forbidden", message), "details": {"kind": plural}}

    def _get(self, plural: str, namespace: str | None, name: str) -> tuple[int, Any]:
        prefix, kind, _ = RESOURCES[plural]
        for item in self.objects.get(plural, ()):
            meta = item.get("metadata", {})
            if meta.get("name") == name and (namespace is None or meta.get("namespace") == namespace):
                if not meta.get("resourceVersion"):  # every stored object has one on a real server
                    item = {**item, "metadata": {**meta, "resourceVersion": self.resource_version}}
                return 200, {"kind": kind, "apiVersion": prefix.removeprefix("/apis/").removeprefix("/api/"), **item}
        message = f'{plural} "{name}" not found'
        return 404, {**_status(404, "NotFound", message), "details": {"name": name, "kind": plural}}

    def _list(self, plural: str, namespace: str | None, query: Mapping[str, str], accept: str) -> tuple[int, Any]:
        prefix, kind, _ = RESOURCES[plural]
        items: Sequence[Mapping[str, Any]] = self.objects.get(plural, [])
        selectors = _field_selector(query.get("fieldSelector", ""))
        labels = _label_selector(query.get("labelSelector", ""))
        if namespace is not None or selectors or labels:
            items = [i for i in items if _selected(i, namespace, selectors, labels)]
        start = 0
        token = query.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                start = int(state["start"])
            except (ValueError, KeyError):
                return 400, _status(400, "BadRequest", "continue key is not valid")
        limit = int(query.get("limit") or 0)
        end = len(items) if limit <= 0 else min(len(items), start + min(limit, self.max_limit))
        page = items[start:end]
        metadata: dict[str, Any] = {"resourceVersion": self.resource_version}
        if end < len(items):
            metadata["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": self.resource_version, "start": end}).encode()
            ).decode()
            metadata["remainingItemCount"] = len(items) - end
        api_version = prefix.removeprefix("/apis/").removeprefix("/api/")
        if "as=Table" in accept:
            return 200, _table(kind, page, metadata, query.get("includeObject", "Metadata"))
        if "as=PartialObjectMetadataList" in accept:
            return 200, {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
                "items": [
                    {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": i.get("metadata", {})}
                    for i in page
                ],
            }
        return 200, {"kind": f"{kind}List", "apiVersion": api_version, "metadata": metadata, "items": list(page)}


_GROUP_VERSIONS = sorted({prefix for prefix, _kind, _ns in RESOURCES.values()})
_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def _discovery(path: str, url: str) -> dict[str, Any]:
    """Legacy (unaggregated) discovery, as kubectl falls back to it: /api, /apis, /api/v1, /apis/G/V."""
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": url.split("//")[1]}]}
    if path == "/apis":
        groups = []
        for prefix in _GROUP_VERSIONS:
            if prefix == "/api/v1":
                continue
            group, version = prefix.removeprefix("/apis/").split("/")
            entry = {"groupVersion": f"{group}/{version}", "version": version}
            groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    group_version = path.removeprefix("/apis/").removeprefix("/api/")
    resources = [
        {"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind, "verbs": _VERBS}
        for plural, (prefix, kind, namespaced) in RESOURCES.items()
        if prefix == path
    ]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


class _Handler(BaseHTTPRequestHandler):
    api: ApiServerDouble
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # As Go's net/http (kube-apiserver) does: no Nagle delay between the headers and the body.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._reply("GET")

    def do_POST(self) -> None:
        self._reply("POST")

    def do_PATCH(self) -> None:
        self._reply("PATCH")

    def do_PUT(self) -> None:
        self._reply("PUT")

    def do_DELETE(self) -> None:
        self._reply("DELETE")

    def _reply(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.api.fault is not None:
            split = urlsplit(self.path)
            request = RequestLog(
                method,
                unquote(split.path),
                {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()},
                self.headers.get("Accept", ""),
            )
            fault = self.api.fault(request)
            if fault is not None:
                if self.api.log_requests:
                    self.api.requests.append(request)
                self._fault(fault)
                return
        status, document = self.api.answer(method, self.path, self.headers, body)
        if status == -1:  # fault injection: the connection drops without an answer
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = json.dumps(document, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Audit-Id", "00000000-0000-0000-0000-000000000000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _fault(self, fault: Fault) -> None:
        chunks = list(fault.body) if fault.length else fault.body  # an endless body has no length
        self.send_response(fault.status)
        self.send_header("Content-Type", "application/json")
        if isinstance(chunks, list):
            self.send_header("Content-Length", str(sum(len(c) for c in chunks)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            for chunk in chunks:
                if fault.pause:
                    time.sleep(fault.pause)
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:  # the client gave up
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _route(path: str) -> tuple[str, str | None, str | None] | None:
    """`/api/v1/namespaces/NS/pods/NAME` -> ("pods", "NS", "NAME")."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        prefix, rest = "/api/v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        prefix, rest = "/" + "/".join(parts[:3]), parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return None
    if rest[0] == "namespaces" and namespace is None and (prefix, "namespaces") in _BY_PREFIX:
        return "namespaces", None, rest[1] if len(rest) > 1 else None
    plural = _BY_PREFIX.get((prefix, rest[0]))
    if plural is None or len(rest) > 2:
        return None
    return plural, namespace, rest[1] if len(rest) == 2 else None


def _field_selector(text: str) -> list[tuple[str, str, bool]]:
    selectors = []
    for part in filter(None, text.split(",")):
        if "!=" in part:
            key, value = part.split("!=", 1)
            selectors.append((key, value, False))
        else:
            key, value = part.replace("==", "=").split("=", 1)
            selectors.append((key, value, True))
    return selectors


def _label_selector(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in filter(None, text.replace("==", "=").split(",")))


def _path_value(item: Mapping[str, Any], dotted: str) -> Any:
    node: Any = item
    for step in dotted.split("."):
        node = node.get(step) if isinstance(node, Mapping) else None
    return node


def _selected(
    item: Mapping[str, Any], namespace: str | None, fields: Iterable[tuple[str, str, bool]], labels: Mapping[str, str]
) -> bool:
    meta = item.get("metadata", {})
    if namespace is not None and meta.get("namespace") != namespace:
        return False
    for key, value, equal in fields:
        if (str(_path_value(item, key) or "") == value) != equal:
            return False
    item_labels = meta.get("labels") or {}
    return all(item_labels.get(k) == v for k, v in labels.items())


def _table(kind: str, page: Sequence[Mapping[str, Any]], metadata: dict[str, Any], include: str) -> dict[str, Any]:
    """`kubectl get` columns; for secrets NAME, TYPE, DATA, AGE (the data itself never)."""
    include_object = include != "None"
    rows = []
    for item in page:
        meta = item.get("metadata", {})
        cells: list[Any] = [meta.get("name")]
        if kind == "Secret":
            cells += [item.get("type", "Opaque"), len(item.get("data") or {}), "5d"]
        row: dict[str, Any] = {"cells": cells}
        if include_object:
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
        rows.append(row)
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    if kind == "Secret":
        columns += [
            {"name": "Type", "type": "string", "format": "", "description": "", "priority": 0},
            {"name": "Data", "type": "string", "format": "", "description": "", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0},
        ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    }
