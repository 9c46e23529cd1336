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
  token) and RBAC denials (403 `Forbidden` Status with the API server's message): chosen
  ones (`denials`), or, with `grants`, everything the given Role/ClusterRole rules do not
  allow, as the RBAC authorizer decides (`rbac_allows`); refusals are kept in `forbidden`.

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

Changes and watches (for `pullguard serve`), as kube-apiserver's watch cache serves them
(k8s.io/apiserver `pkg/storage/cacher/cacher.go`, `watch_cache.go`; docs "API concepts:
Efficient detection of changes", "Watch bookmarks", "Resource versions"):

- `create`/`update`/`delete` bump one cluster-wide resourceVersion, stamp it into the object's
  `metadata.resourceVersion`, and record an event; lists report the current one;
- `GET ...?watch=1&resourceVersion=RV`: HTTP 200, `Transfer-Encoding: chunked`, one JSON
  event per line (`{"type": "ADDED|MODIFIED|DELETED|BOOKMARK|ERROR", "object": ...}`) for
  every change after RV that matches the field and label selectors; without RV (or "0")
  first a synthetic ADDED per current object (as the cache does);
- `compact()` forgets the events so far: a watch from an older RV gets HTTP 200 and one
  ERROR event carrying a `Status` with code 410, reason `Expired`, "too old resource
  version: RV (OLDEST)" (the cacher answers with an error watcher, not an HTTP 410);
- `allowWatchBookmarks=true`: a BOOKMARK event (an object of the kind holding only
  `metadata.resourceVersion`) when the watch has been idle `bookmark_interval` seconds;
- `timeoutSeconds`: the server ends the stream (the client watches again from its last RV);
- `Accept: ...;as=PartialObjectMetadata` turns each event's object into metadata only.

Custom resources and server-side apply (for PolicyReports; docs "Server-Side Apply",
k8s.io/apiserver `pkg/endpoints/handlers/patch.go`):

- PolicyReport/ClusterPolicyReport (`wgpolicyk8s.io/v1alpha2`) and Report/ClusterReport
  (`openreports.io/v1alpha1`) are served only when their CRD is in `crds`; discovery
  (`GET /apis/GROUP/VERSION`, an APIResourceList) answers 404 otherwise;
- `PATCH` with `Content-Type: application/apply-patch+yaml` needs `fieldManager` (else 400);
  it creates the object (201) or updates it (200). Ownership is tracked per top-level field
  (and per metadata label/annotation) in `metadata.managedFields` (`operation: Apply`,
  `fieldsType: FieldsV1`): a field another manager owns with a different value is a 409
  Conflict unless `force=true` (then ownership moves); a field this manager applied before
  and leaves out now is removed. (The real server tracks ownership down to list items by
  their keys; the reports' `results` list has no list-map keys, so it is atomic there too.)
  Other patch types are 415.

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
    "policyreports": ("/apis/wgpolicyk8s.io/v1alpha2", "PolicyReport", True),
    "clusterpolicyreports": ("/apis/wgpolicyk8s.io/v1alpha2", "ClusterPolicyReport", False),
    "reports": ("/apis/openreports.io/v1alpha1", "Report", True),
    "clusterreports": ("/apis/openreports.io/v1alpha1", "ClusterReport", False),
    "leases": ("/apis/coordination.k8s.io/v1", "Lease", True),
}
# custom resources: served only when their CRD (plural.group) is installed
CUSTOM = {
    "policyreports": "policyreports.wgpolicyk8s.io",
    "clusterpolicyreports": "clusterpolicyreports.wgpolicyk8s.io",
    "reports": "reports.openreports.io",
    "clusterreports": "clusterreports.openreports.io",
}
APPLY_PATCH = "application/apply-patch+yaml"
_BY_PREFIX = {(prefix, plural): plural for plural, (prefix, _kind, _ns) in RESOURCES.items()}
_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.3", "platform": "linux/amd64"}


@dataclass(frozen=True, slots=True)
class Denial:
    """RBAC says no to `verb` on `resource` in `namespace` (None: cluster-wide requests; "*": every namespace)."""

    verb: str
    resource: str
    namespace: str | None = None


def _group_of(plural: str) -> str:
    prefix = RESOURCES[plural][0]
    return "" if prefix == "/api/v1" else prefix.split("/")[2]


def rbac_allows(
    grants: Sequence[tuple[str | None, Mapping[str, Any]]],
    verb: str,
    group: str,
    plural: str,
    namespace: str | None,
) -> bool:
    """kube-apiserver's RBAC authorizer for one subject (plugin/pkg/auth/authorizer/rbac/rbac.go
    `RuleAllows`, rbac/v1 helpers `VerbMatches`, `APIGroupMatches`, `ResourceMatches`): allowed when a
    rule of a role bound to it matches, else denied (no deny rules). A Role's rules (bound by a
    RoleBinding) apply in its namespace only; a ClusterRole bound by a ClusterRoleBinding applies
    everywhere, to cluster-scoped requests too. `*` matches any verb, group or resource. Requests
    the double answers without a name (list, watch) are matched by verb and resource; rules with
    resourceNames never allow them, as in the real authorizer."""
    for scope, rule in grants:
        if scope is not None and scope != namespace:
            continue
        verbs, groups, resources = (
            rule.get("verbs") or (),
            rule.get("apiGroups") or (),
            rule.get("resources") or (),
        )
        if (
            ("*" in verbs or verb in verbs)
            and ("*" in groups or group in groups)
            and ("*" in resources or plural in resources)
            and not (rule.get("resourceNames") and verb in ("list", "watch"))
        ):
            return True
    return False


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
    # the RBAC authorizer (see `rbac_allows`): None lets everything not in `denials` through; a list of
    # (namespace or None for a ClusterRole bound cluster-wide, PolicyRule) allows only what a rule grants
    grants: list[tuple[str | None, Mapping[str, Any]]] | None = None
    forbidden: list[tuple[str, str, str | None]] = field(default_factory=list)  # (verb, plural, ns) refused
    resource_version: str = "987654"
    max_limit: int = 500  # the server caps `limit` like a real one may
    requests: list[RequestLog] = field(default_factory=list)
    log_requests: bool = True
    on_request: Callable[[RequestLog], None] | None = None
    # fault injection: may answer a request instead of the server (status, document), or None
    intercept: Callable[[RequestLog, Any], tuple[int, Any] | None] | None = None
    bookmark_interval: float = 1.0  # seconds of idle watch before a BOOKMARK (the server's is ~1 min)
    max_watch_seconds: float = 30.0  # the server's cap on one watch (kube-apiserver: --min-request-timeout)
    # True: open watches end and new ones get 503 ServiceUnavailable (an API server restarting)
    watch_unavailable: bool = False
    crds: set[str] = field(default_factory=set)  # installed CRDs by name, e.g. "policyreports.wgpolicyk8s.io"
    # a misbehaving raw answer for some requests (see Fault: endless, trickled); None: answer normally
    fault: Callable[[RequestLog], Fault | None] | None = None

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.last_body = b""  # the last write's body (fault injection replays it)
        self._changed = threading.Condition(self._lock)
        self._oldest = int(
            self.resource_version
        )  # events after this RV are kept; older watches are 410 Expired
        self._events: list[tuple[int, str, str, dict[str, Any]]] = []  # (rv, type, plural, object)
        self._stopping = False
        self.watches_started = 0
        self.patches = 0

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
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def kubeconfig(
        self, context: str = "double", namespace: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
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

    # -- changes ---------------------------------------------------------------------

    @property
    def current_resource_version(self) -> str:
        return self.resource_version

    @property
    def _rv(self) -> int:
        """The cluster-wide resourceVersion (main's writes and the changes below bump the same one)."""
        return int(self.resource_version)

    @_rv.setter
    def _rv(self, value: int) -> None:
        self.resource_version = str(value)

    def create(self, plural: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        return self._change(plural, "ADDED", obj)

    def update(self, plural: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        return self._change(plural, "MODIFIED", obj)

    def delete(self, plural: str, namespace: str | None, name: str) -> dict[str, Any]:
        found = self._find(plural, namespace, name)
        if found is None:
            raise KeyError(f"{plural} {namespace}/{name}")
        return self._change(plural, "DELETED", found)

    def set_watch_unavailable(self, unavailable: bool) -> None:
        with self._changed:
            self.watch_unavailable = unavailable
            self._changed.notify_all()

    def compact(self) -> None:
        """As etcd compaction: events up to now are gone; watching from before now is 410 Expired."""
        with self._changed:
            self._oldest = self._rv
            self._events.clear()

    def _find(self, plural: str, namespace: str | None, name: str) -> Mapping[str, Any] | None:
        for item in self.objects.get(plural, ()):
            meta = item.get("metadata", {})
            if meta.get("name") == name and meta.get("namespace") == namespace:
                return item
        return None

    def _change(self, plural: str, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        with self._changed:
            return self._change_locked(plural, kind, obj)

    def _change_locked(self, plural: str, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = obj.get("metadata", {})
        name, namespace = meta.get("name"), meta.get("namespace")
        items = self.objects.get(plural)
        current = list(items) if items is not None else []  # a lazy sequence becomes a list
        index = next(
            (
                i
                for i, item in enumerate(current)
                if item.get("metadata", {}).get("name") == name
                and item.get("metadata", {}).get("namespace") == namespace
            ),
            None,
        )
        if kind == "ADDED" and index is not None:
            kind = "MODIFIED"
        self._rv += 1
        stored = json.loads(json.dumps(obj))
        stored.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
        if kind == "DELETED":
            if index is not None:
                del current[index]
        elif index is None:
            current.append(stored)
        else:
            current[index] = stored
        self.objects[plural] = current
        self._events.append((self._rv, kind, plural, stored))
        self._changed.notify_all()
        return stored

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
        custom = self._custom_discovery(path)
        if custom is not None:
            return custom
        if method == "GET" and (path in ("/api", "/apis") or path.rstrip("/") in _GROUP_VERSIONS):
            return 200, self._installed(_discovery(path.rstrip("/"), self.url))
        route = _route(path)
        if route is None or (route[0] in CUSTOM and CUSTOM[route[0]] not in self.crds):
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        plural, namespace, name = route
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        if method == "PATCH" and content_type == APPLY_PATCH:
            denied = self._denied("patch", plural, namespace)
            if denied is not None:
                return 403, denied
            if name is None:
                return 405, _status(405, "MethodNotAllowed", "PATCH needs an object name")
            return self._apply(plural, namespace, name, query, content_type, body)
        if method != "GET":
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "")
            denied = self._denied(verb, plural, namespace)
            if denied is not None:
                return 403, denied
            with self._changed:
                before = self._rv
                status, document = apiserver_writes.write(
                    self, method, plural, namespace, name, query, headers, body
                )
                if status in (200, 201) and self._rv != before:  # stored: watchers see it
                    stored = {k: v for k, v in document.items() if k not in ("kind", "apiVersion")}
                    self._events.append((self._rv, "ADDED" if status == 201 else "MODIFIED", plural, stored))
                    self._changed.notify_all()
            return status, document
        verb = "get" if name else ("list" if "watch" not in query else "watch")
        denied = self._denied(verb, plural, namespace)
        if denied is not None:
            return 403, denied
        if name is not None:
            return self._get(plural, namespace, name)
        if query.get("watch") in ("1", "true"):
            if self.watch_unavailable:
                return 503, _status(
                    503, "ServiceUnavailable", "the server is currently unable to handle the request"
                )
            return 200, _Watch(self, plural, namespace, query, accept)
        return self._list(plural, namespace, query, accept)

    def watch_events(self, watch: _Watch) -> Iterator[dict[str, Any]]:
        """The events of one watch request, as the watch cache sends them (see the module docstring)."""
        prefix, kind, _ = RESOURCES[watch.plural]
        api_version = prefix.removeprefix("/apis/").removeprefix("/api/")
        selectors = _field_selector(watch.query.get("fieldSelector", ""))
        labels = _label_selector(watch.query.get("labelSelector", ""))
        metadata_only = "as=PartialObjectMetadata" in watch.accept
        bookmarks = watch.query.get("allowWatchBookmarks") in ("1", "true")
        timeout = min(
            float(watch.query.get("timeoutSeconds") or self.max_watch_seconds), self.max_watch_seconds
        )
        deadline = time.monotonic() + timeout

        def shaped(item: Mapping[str, Any]) -> dict[str, Any]:
            if metadata_only:
                return {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": item.get("metadata", {}),
                }
            return {"kind": kind, "apiVersion": api_version, **item}

        with self._changed:
            self.watches_started += 1
            requested = watch.query.get("resourceVersion") or "0"
            since = int(requested) if requested.isdigit() else -1
            if since < 0:
                yield {
                    "type": "ERROR",
                    "object": _status(400, "BadRequest", f"invalid resource version {requested!r}"),
                }
                return
            if since == 0:
                initial = [
                    i
                    for i in self.objects.get(watch.plural, ())
                    if _selected(i, watch.namespace, selectors, labels)
                ]
                since = self._rv
            else:
                initial = []
                if since < self._oldest:
                    message = f"too old resource version: {since} ({self._oldest})"
                    yield {"type": "ERROR", "object": _status(410, "Expired", message)}
                    return
        for item in initial:
            yield {"type": "ADDED", "object": shaped(item)}
        last_sent = time.monotonic()
        while True:
            with self._changed:
                pending = [e for e in self._events if e[0] > since and e[2] == watch.plural]
                if not pending and not self._stopping:
                    wait = min(deadline, last_sent + self.bookmark_interval) - time.monotonic()
                    if wait > 0:
                        self._changed.wait(wait)
                    pending = [e for e in self._events if e[0] > since and e[2] == watch.plural]
                stopping, current, oldest = self._stopping or self.watch_unavailable, self._rv, self._oldest
            if stopping:
                return
            if since < oldest:
                # compacted under an open watch: the cacher closes a watcher it cannot feed, and the
                # client's next watch from its resourceVersion is 410 Expired
                yield {
                    "type": "ERROR",
                    "object": _status(410, "Expired", f"too old resource version: {since} ({oldest})"),
                }
                return
            for rv, event_type, _, item in pending:
                since = rv
                if _selected(item, watch.namespace, selectors, labels):
                    yield {"type": event_type, "object": shaped(item)}
                    last_sent = time.monotonic()
            now = time.monotonic()
            if now >= deadline:
                return
            if bookmarks and now - last_sent >= self.bookmark_interval:
                since = max(since, current)
                yield {
                    "type": "BOOKMARK",
                    "object": {
                        "kind": kind,
                        "apiVersion": api_version,
                        "metadata": {"resourceVersion": str(since)},
                    },
                }
                last_sent = now

    def _custom_discovery(self, path: str) -> tuple[int, Any] | None:
        """`GET /apis/GROUP/VERSION` for the custom resources: served only with the CRD installed."""
        parts = [p for p in path.split("/") if p]
        if len(parts) != 3 or parts[0] != "apis":
            return None
        prefix = "/" + "/".join(parts)
        served = [p for p, crd in CUSTOM.items() if RESOURCES[p][0] == prefix and crd in self.crds]
        if not any(RESOURCES[p][0] == prefix for p in CUSTOM):
            return None
        if not served:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        resources = [
            {
                "name": p,
                "singularName": RESOURCES[p][1].lower(),
                "namespaced": RESOURCES[p][2],
                "kind": RESOURCES[p][1],
                "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
            }
            for p in served
        ]
        return 200, {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": "/".join(parts[1:]),
            "resources": resources,
        }

    def _installed(self, document: dict[str, Any]) -> dict[str, Any]:
        """Legacy discovery without the custom resources whose CRD is not installed."""
        if document.get("kind") == "APIGroupList":
            custom_groups = {RESOURCES[p][0].removeprefix("/apis/").split("/")[0] for p in CUSTOM}
            installed = {crd.split(".", 1)[1] for crd in self.crds}
            document["groups"] = [g for g in document["groups"] if g["name"] not in custom_groups - installed]
        return document

    def _apply(
        self,
        plural: str,
        namespace: str | None,
        name: str,
        query: Mapping[str, str],
        content_type: str,
        body: bytes,
    ) -> tuple[int, Any]:
        """Server-side apply (see the module docstring)."""
        if content_type.split(";")[0].strip() != APPLY_PATCH:
            return 415, _status(415, "UnsupportedMediaType", f"the double only applies {APPLY_PATCH} patches")
        manager = query.get("fieldManager")
        if not manager:
            return 400, _status(400, "BadRequest", "PATCH /apply requires a fieldManager parameter")
        import yaml

        try:
            applied = yaml.safe_load(body.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as error:
            return 400, _status(400, "BadRequest", f"error decoding YAML: {error}")
        prefix, kind, _ = RESOURCES[plural]
        api_version = prefix.removeprefix("/apis/").removeprefix("/api/")
        meta = (applied or {}).get("metadata") or {}
        if (
            not isinstance(applied, dict)
            or applied.get("kind") != kind
            or applied.get("apiVersion") != api_version
        ):
            return 400, _status(
                400, "BadRequest", f"the applied object must be apiVersion {api_version}, kind {kind}"
            )
        if meta.get("name") != name or (
            namespace is not None and meta.get("namespace", namespace) != namespace
        ):
            return 400, _status(
                400, "BadRequest", "the name (and namespace) of the object and the URL differ"
            )
        fields = _fields(applied)
        with self._changed:
            existing = self._find(plural, namespace, name)
            current: dict[str, Any] = json.loads(json.dumps(existing)) if existing is not None else {}
            managed = list((current.get("metadata") or {}).get("managedFields") or [])
            conflicts = []
            for entry in managed:
                if entry.get("manager") == manager:
                    continue
                theirs = _fields_of(entry)
                for path in sorted(theirs & fields):
                    if _at(current, path) != _at(applied, path):
                        conflicts.append((entry.get("manager"), path))
            if conflicts and query.get("force") != "true":
                message = (
                    f"Apply failed with {len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''}: "
                    + "; ".join(f'conflict with "{who}": .{".".join(path)}' for who, path in conflicts)
                )
                return 409, {
                    **_status(409, "Conflict", message),
                    "details": {
                        "causes": [
                            {
                                "type": "FieldManagerConflict",
                                "message": f'conflict with "{who}"',
                                "field": "." + ".".join(path),
                            }
                            for who, path in conflicts
                        ]
                    },
                }
            mine_before = next((_fields_of(e) for e in managed if e.get("manager") == manager), set())
            others: set[tuple[str, ...]] = set()
            entries = []
            for entry in managed:
                if entry.get("manager") == manager:
                    continue
                kept = _fields_of(entry) - fields  # forced: the fields move to this manager
                others |= kept
                if kept:
                    entries.append({**entry, "fieldsV1": _fields_v1(kept)})
            result = current or {"apiVersion": api_version, "kind": kind, "metadata": {}}
            for path in mine_before - fields - others:
                _remove(result, path)
            for path in fields:
                _put(result, path, _at(applied, path))
            result["apiVersion"], result["kind"] = api_version, kind
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            entries.append(
                {
                    "manager": manager,
                    "operation": "Apply",
                    "apiVersion": api_version,
                    "time": now,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": _fields_v1(fields),
                }
            )
            result_meta = result.setdefault("metadata", {})
            result_meta.update({"name": name, "managedFields": entries})
            if namespace is not None:
                result_meta["namespace"] = namespace
            result_meta.setdefault("uid", f"uid-{plural}-{namespace}-{name}")
            result_meta.setdefault("creationTimestamp", now)
            result_meta["generation"] = int(result_meta.get("generation") or 0) + 1
            self.patches += 1
            stored = self._change_locked(plural, "MODIFIED" if existing is not None else "ADDED", result)
        return (200 if existing is not None else 201), stored

    def _denied(self, verb: str, plural: str, namespace: str | None) -> dict[str, Any] | None:
        listed = Denial(verb, plural, namespace) in self.denials or (
            namespace is not None and Denial(verb, plural, "*") in self.denials
        )
        granted = self.grants is None or rbac_allows(self.grants, verb, _group_of(plural), plural, namespace)
        if not listed and granted:
            return None
        with self._lock:
            self.forbidden.append((verb, plural, namespace))
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
                return 200, {
                    "kind": kind,
                    "apiVersion": prefix.removeprefix("/apis/").removeprefix("/api/"),
                    **item,
                }
        message = f'{plural} "{name}" not found'
        return 404, {**_status(404, "NotFound", message), "details": {"name": name, "kind": plural}}

    def _list(
        self, plural: str, namespace: str | None, query: Mapping[str, str], accept: str
    ) -> tuple[int, Any]:
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
        metadata: dict[str, Any] = {"resourceVersion": str(self._rv)}
        if end < len(items):
            metadata["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": str(self._rv), "start": end}).encode()
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
                    {
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": i.get("metadata", {}),
                    }
                    for i in page
                ],
            }
        return 200, {
            "kind": f"{kind}List",
            "apiVersion": api_version,
            "metadata": metadata,
            "items": list(page),
        }


_GROUP_VERSIONS = sorted({prefix for prefix, _kind, _ns in RESOURCES.values()})
_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def _discovery(path: str, url: str) -> dict[str, Any]:
    """Legacy (unaggregated) discovery, as kubectl falls back to it: /api, /apis, /api/v1, /apis/G/V."""
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": url.split("//")[1]}],
        }
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
        {
            "name": plural,
            "singularName": kind.lower(),
            "namespaced": namespaced,
            "kind": kind,
            "verbs": _VERBS,
        }
        for plural, (prefix, kind, namespaced) in RESOURCES.items()
        if prefix == path
    ]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


@dataclass(frozen=True, slots=True)
class _Watch:
    api: ApiServerDouble
    plural: str
    namespace: str | None
    query: Mapping[str, str]
    accept: str


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
        if isinstance(document, _Watch):
            self._stream(document)
            return
        body = json.dumps(document, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Audit-Id", "00000000-0000-0000-0000-000000000000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, watch: _Watch) -> None:
        """A watch: chunked transfer encoding, one JSON event per line, as kube-apiserver streams them."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event in self.api.watch_events(watch):
                line = json.dumps(event, separators=(",", ":")).encode() + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

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


def _fields(obj: Mapping[str, Any]) -> set[tuple[str, ...]]:
    """The fields an apply sets: top-level fields, and metadata labels and annotations one by one."""
    found: set[tuple[str, ...]] = {(k,) for k in obj if k not in ("apiVersion", "kind", "metadata", "status")}
    meta = obj.get("metadata") or {}
    for group in ("labels", "annotations"):
        found |= {("metadata", group, k) for k in meta.get(group) or {}}
    return found


def _fields_v1(fields: set[tuple[str, ...]]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(fields):
        node = tree
        for step in path:
            node = node.setdefault(f"f:{step}", {})
    return tree


def _fields_of(entry: Mapping[str, Any]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()

    def walk(node: Mapping[str, Any], path: tuple[str, ...]) -> None:
        if not node:
            found.add(path)
        for key, child in node.items():
            walk(child or {}, (*path, key.removeprefix("f:")))

    for key, child in (entry.get("fieldsV1") or {}).items():
        walk(child or {}, (key.removeprefix("f:"),))
    return found


def _at(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = obj
    for step in path:
        node = node.get(step) if isinstance(node, Mapping) else None
    return node


def _put(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for step in path[:-1]:
        obj = obj.setdefault(step, {})
    obj[path[-1]] = value


def _remove(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    for step in path[:-1]:
        obj = obj.get(step) or {}
    obj.pop(path[-1], None)


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
    item: Mapping[str, Any],
    namespace: str | None,
    fields: Iterable[tuple[str, str, bool]],
    labels: Mapping[str, str],
) -> bool:
    meta = item.get("metadata", {})
    if namespace is not None and meta.get("namespace") != namespace:
        return False
    for key, value, equal in fields:
        if (str(_path_value(item, key) or "") == value) != equal:
            return False
    item_labels = meta.get("labels") or {}
    return all(item_labels.get(k) == v for k, v in labels.items())


def _table(
    kind: str, page: Sequence[Mapping[str, Any]], metadata: dict[str, Any], include: str
) -> dict[str, Any]:
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
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
            }
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
