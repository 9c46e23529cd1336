"""The live-cluster source: read-only, paginated LISTs from the Kubernetes API.

Kubeconfig handling (``--kubeconfig``, ``KUBECONFIG`` with several files merged,
``--context``, exec credential plugins, client certificates, tokens, in-cluster
service-account config) is the official ``kubernetes`` client's, so pullguard
connects wherever kubectl does. Requests go through the client's authenticated
connection pool, but responses are not turned into its models: each page is
parsed as JSON, handed on object by object and dropped, so memory is bounded by
the inventory, not by the size of the cluster.

Secret data is read only for pull-secret types (a ``type=`` field selector) and
for secrets that pods or ServiceAccounts reference as pull secrets; with
``secret_data=False`` secrets are listed as a Table (name, type, data count),
which carries no data. Values stay in memory; the kubectl last-applied
annotation, which copies a Secret's data, is dropped on arrival.

Errors a user can act on are typed (``ClusterUnreachable``, ``ClusterAuthError``,
``ClusterForbidden``) and read as one line. A namespace the credentials may not
read does not stop the scan: it becomes an input problem and the result is
marked partial.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

from pullguard import __version__
from pullguard.errors import ClusterError, PullguardError
from pullguard.semantics.dockerconfig import PULL_SECRET_TYPES
from pullguard.sources.bounded import (
    DEFAULT_DEADLINE,
    DEFAULT_REQUEST_TIMEOUT,
    MAX_RESPONSE_BYTES,
    Budget,
    TooLarge,
    TooLate,
    read_bounded,
    run_within,
)
from pullguard.sources.model import InputProblem, Level, Location, Manifest, ReadStats

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
TABLE = "application/json;as=Table;g=meta.k8s.io;v=v1,application/json"
METADATA = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


@dataclass(frozen=True, slots=True)
class Resource:
    plural: str
    prefix: str  # "/api/v1", "/apis/apps/v1"
    kind: str
    namespaced: bool = True
    essential: bool = False  # forbidden in a namespace: the result is partial (error), else a warning

    @property
    def group(self) -> str:
        return "" if self.prefix == "/api/v1" else self.prefix.split("/")[2]

    api_version: str = field(init=False, repr=False, compare=False)  # "v1", "apps/v1"

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_version", self.prefix.removeprefix("/apis/").removeprefix("/api/"))

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        where = (
            f"{self.prefix}/namespaces/{namespace}/{self.plural}"
            if namespace
            else f"{self.prefix}/{self.plural}"
        )
        return f"{where}/{name}" if name else where


NAMESPACES = Resource("namespaces", "/api/v1", "Namespace", namespaced=False)
NODES = Resource("nodes", "/api/v1", "Node", namespaced=False)
SECRETS = Resource("secrets", "/api/v1", "Secret", essential=True)
SERVICE_ACCOUNTS = Resource("serviceaccounts", "/api/v1", "ServiceAccount", essential=True)
PODS = Resource("pods", "/api/v1", "Pod", essential=True)
EVENTS = Resource("events", "/api/v1", "Event")
WORKLOADS = (
    Resource("deployments", "/apis/apps/v1", "Deployment"),
    Resource("statefulsets", "/apis/apps/v1", "StatefulSet"),
    Resource("daemonsets", "/apis/apps/v1", "DaemonSet"),
    Resource("cronjobs", "/apis/batch/v1", "CronJob"),
    Resource("jobs", "/apis/batch/v1", "Job"),
)
REPLICA_SETS = Resource("replicasets", "/apis/apps/v1", "ReplicaSet")
RBAC = (
    Resource("roles", "/apis/rbac.authorization.k8s.io/v1", "Role"),
    Resource("rolebindings", "/apis/rbac.authorization.k8s.io/v1", "RoleBinding"),
    Resource("clusterroles", "/apis/rbac.authorization.k8s.io/v1", "ClusterRole", namespaced=False),
    Resource(
        "clusterrolebindings", "/apis/rbac.authorization.k8s.io/v1", "ClusterRoleBinding", namespaced=False
    ),
)


# -- errors ------------------------------------------------------------------------


class ClusterUnreachable(ClusterError):
    """The API server did not answer (DNS, refused, TLS, timeout)."""


class ClusterAuthError(ClusterError):
    """401: the credentials are expired or not accepted."""


class ClusterNotFound(ClusterError):
    """404 for one object (a pod, a secret)."""


class ClusterResponseError(ClusterError):
    """One answer that cannot be used: an error status other than 401/403/404, not JSON, the wrong
    shape, too large, too slow, or paging that never ends. It costs that list, not the scan."""


class ClusterDeadline(ClusterError):
    """The whole scan's time (--deadline) is spent: what was read so far is analysed."""


class ClusterForbidden(ClusterError):
    """403: RBAC does not allow `verb` on `resource` (in `namespace`)."""

    def __init__(
        self, cluster: str, verb: str, resource: Resource, namespace: str | None, reason: str
    ) -> None:
        self.cluster = cluster
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        self.reason = reason
        where = f"in namespace '{namespace}'" if namespace else "cluster-wide"
        super().__init__(
            f"cluster '{cluster}': forbidden: cannot {verb} {resource.plural} {where} ({reason}); "
            f"allowed by the RBAC rule {self.rule} in a "
            f"{'Role bound in ' + repr(namespace) if namespace else 'ClusterRole bound by a ClusterRoleBinding'} "
            "(see deploy/rbac.yaml)"
        )

    @property
    def rule(self) -> str:
        return f'{{apiGroups: ["{self.resource.group}"], resources: ["{self.resource.plural}"], verbs: ["{self.verb}"]}}'


# -- transport ---------------------------------------------------------------------


class Transport(Protocol):
    """The only thing the source needs from a Kubernetes client: GET a path, get JSON."""

    name: str
    server: str

    def get(self, path: str, query: list[tuple[str, str]], accept: str = "application/json") -> Any: ...


@dataclass(frozen=True, slots=True)
class Connection:
    """A cluster to read: its name (the kubeconfig context), its transport and default namespace."""

    name: str
    transport: Transport
    namespace: str = "default"


class KubernetesTransport:
    """GETs through the official client's ApiClient (auth, TLS, exec plugins), parsed as plain JSON.

    Every request is bounded: in time as a whole, answer included (`request_timeout`, like
    kubectl's --request-timeout; a server trickling one byte at a time cannot hold it), by the
    run's `deadline`, and in bytes (`MAX_RESPONSE_BYTES`)."""

    def __init__(
        self,
        name: str,
        api_client: Any,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        budget: Budget | None = None,
    ) -> None:
        self.name = name
        self._client = api_client
        self.server = str(api_client.configuration.host)
        self._timeout = (connect_timeout, read_timeout)
        self.budget = budget or Budget(request_timeout=read_timeout)

    @property
    def api_client(self) -> Any:
        """The authenticated client (``pullguard secret`` writes, ``pullguard serve`` watches through it)."""
        return self._client

    def get(self, path: str, query: list[tuple[str, str]], accept: str = "application/json") -> Any:
        seconds, by_deadline = self.budget.next_request()
        if seconds <= 0:
            raise ClusterDeadline(f"cluster '{self.name}': {self.budget.spent()}")
        # the waiting side gives up at `seconds` (and names the bound); the reading thread,
        # abandoned then, stops reading a moment later instead of reading on
        until = time.monotonic() + seconds + 1.0
        status, data = run_within(
            seconds, lambda: self._fetch(path, query, accept, until), self._late(path, by_deadline)
        )
        return decode_answer(self.name, self.server, status, data, path)

    def _late(self, path: str, by_deadline: bool) -> Callable[[], ClusterError]:
        def error() -> ClusterError:
            if by_deadline:
                return ClusterDeadline(f"cluster '{self.name}': {self.budget.spent()}")
            return ClusterResponseError(
                f"cluster '{self.name}': no complete answer for {path} within the request timeout "
                f"({self.budget.request_timeout:g}s, --request-timeout)"
            )

        return error

    def _fetch(self, path: str, query: list[tuple[str, str]], accept: str, until: float) -> tuple[int, bytes]:
        try:
            answer = send(
                self.name,
                self._client,
                "GET",
                path,
                query=query,
                headers={"Accept": accept},
                timeout=self._timeout,
            )
            return answer.status, answer.read(until)
        except NoAnswer as lost:
            raise unreachable(self.name, self.server, lost.reason) from None
        except TooLate:
            raise ClusterResponseError(
                f"cluster '{self.name}': no complete answer for {path} in time"
            ) from None


def list_query(
    limit: int,
    *,
    field_selector: str | None = None,
    label_selector: str | None = None,
    token: str | None = None,
) -> list[tuple[str, str]]:
    """The query of one page of a LIST: `limit` objects, the selectors, and the `continue` token of
    the page before (API concepts, "Retrieving large results sets in chunks")."""
    query = [("limit", str(limit))]
    if field_selector:
        query.append(("fieldSelector", field_selector))
    if label_selector:
        query.append(("labelSelector", label_selector))
    if token:
        query.append(("continue", token))
    return query


def unreachable(cluster: str, server: str, reason: str) -> ClusterUnreachable:
    """No answer from the API server (`NoAnswer.reason`: refused, DNS, TLS, timed out), worded the same
    for every command: scan, doctor, the secret commands, serve, audit-log."""
    return ClusterUnreachable(
        f"cluster '{cluster}': cannot reach the API server at {server}: {reason} "
        "(check the kubeconfig's server address, VPN or proxy, and that the cluster is up)"
    )


class NoAnswer(Exception):
    """No HTTP answer came back (refused, TLS, DNS, timeout, a reset); `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Answer:
    """An HTTP answer: its status and its body, read bounded (`read`) or streamed (`response`)."""

    __slots__ = ("_body", "cluster", "path", "response", "status")

    def __init__(self, cluster: str, path: str, status: int, response: Any | None, body: bytes = b"") -> None:
        self.cluster = cluster
        self.path = path
        self.status = status
        self.response = response  # the urllib3 response, unread; None when the client read it
        self._body = body

    def read(self, until: float = float("inf")) -> bytes:
        """The whole body: at most MAX_RESPONSE_BYTES (past it, ClusterResponseError) and until
        `until` (`TooLate`)."""
        from urllib3.exceptions import HTTPError

        limit = MAX_RESPONSE_BYTES
        if self.response is None:
            return self._body[:limit]
        try:
            data = read_bounded(self.response, limit, f"the answer for {self.path}", until)
        except BaseException as error:
            self.response.close()  # a half-read connection never goes back to the pool
            if isinstance(error, TooLarge):
                raise ClusterResponseError(f"cluster '{self.cluster}': {error}") from None
            if isinstance(error, HTTPError | OSError):  # reset or timed out while reading
                raise NoAnswer(_reason_of(error)) from None
            raise
        self.response.release_conn()
        return data


def send(
    cluster: str,
    api_client: Any,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str],
    body: Any = None,
    timeout: tuple[float, float],
) -> Answer:
    """One request through the official client's authenticated connection pool (its kubeconfig,
    exec plugins, certificates and token refresh), the answer left unread: the one way every
    command talks to the API server. `NoAnswer` when none came; `ClusterAuthError` when the
    client could not authenticate (an exec credential plugin failed)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        serialized = api_client.param_serialize(
            method,
            path,
            query_params=query or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = api_client.call_api(*serialized[:5], _request_timeout=timeout)
    except ApiException as error:
        if not error.status:
            raise NoAnswer(_reason_of(error)) from None
        return Answer(
            cluster, path, int(error.status), None, (error.body or "").encode()[:MAX_RESPONSE_BYTES]
        )
    except (HTTPError, OSError) as error:
        raise NoAnswer(_reason_of(error)) from None
    except ClusterError:
        raise
    except Exception as error:  # exec plugin failures surface here with the client's message
        raise ClusterAuthError(
            f"cluster '{cluster}': cannot authenticate: {type(error).__name__}: {str(error)[:200]}"
        ) from None
    return Answer(cluster, path, int(response.status), response.response)


def _reason_of(error: BaseException) -> str:
    seen: BaseException | None = error
    text = ""
    while seen is not None:
        name = type(seen).__name__
        if "SSL" in name or "Certificate" in str(seen)[:200]:
            return "TLS handshake failed (x509 certificate not trusted or not for this name)"
        if "NewConnectionError" in name or "ConnectionRefused" in name or "refused" in str(seen):
            text = "connection refused"
        elif "Timeout" in name and not text:
            text = "timed out"
        elif "NameResolution" in name or "Name or service not known" in str(seen):
            text = "DNS name not found"
        seen = seen.__cause__ or seen.__context__
    if not text:
        text = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        if "refused" in text:
            text = "connection refused"
        elif "timed out" in text.lower():
            text = "timed out"
    return text


def decode_answer(cluster: str, server: str, status: int, data: bytes, path: str) -> Any:
    """An API answer as JSON, or the error it means (see status_error); never anything else."""
    if status >= 400:
        raise status_error(cluster, server, status, data, path)
    try:
        return json.loads(data)
    except RecursionError:
        raise ClusterResponseError(
            f"cluster '{cluster}': the answer for {path} is nested too deeply"
        ) from None
    except ValueError:
        raise ClusterResponseError(
            f"cluster '{cluster}': the API server sent a response that is not JSON for {path}"
        ) from None


def status_error(cluster: str, server: str, status: int, data: bytes, path: str) -> ClusterError:
    """The API server's Status document as one actionable error; never quotes anything but its message."""
    message = ""
    try:
        document = json.loads(data)
        if isinstance(document, Mapping):
            message = str(document.get("message") or "")[:300]
    except (ValueError, RecursionError):
        pass
    if status == 401:
        return ClusterAuthError(
            f"cluster '{cluster}': the API server at {server} rejected the credentials (401 Unauthorized): "
            "the token or client certificate has expired or is not valid; log in again "
            "(e.g. `aws eks update-kubeconfig`, `gcloud container clusters get-credentials`, `az aks get-credentials`, "
            "or your OIDC login) and retry"
        )
    if status == 403:
        resource, namespace = _resource_of(path)
        verb = "get" if _is_single_object(path) else "list"
        return ClusterForbidden(cluster, verb, resource, namespace, message or "403 Forbidden")
    if status == 404:
        return ClusterNotFound(f"cluster '{cluster}': {message or 'not found: ' + path}")
    if status == 410:
        return ClusterResponseError(
            f"cluster '{cluster}': the list changed too much while paging ({message or '410 Gone'}); run the scan again"
        )
    return ClusterResponseError(
        f"cluster '{cluster}': the API server answered {status} for {path}: {message}"
    )


def _resource_of(path: str) -> tuple[Resource, str | None]:
    parts = [p for p in path.split("/") if p]
    namespace = None
    if "namespaces" in parts:
        index = parts.index("namespaces")
        if index + 2 < len(parts):
            namespace = parts[index + 1]
            parts = parts[:index] + parts[index + 2 :]
    prefix_len = 2 if parts[0] == "api" else 3
    prefix = "/" + "/".join(parts[:prefix_len])
    plural = parts[prefix_len] if len(parts) > prefix_len else "namespaces"
    for resource in (
        NAMESPACES,
        NODES,
        SECRETS,
        SERVICE_ACCOUNTS,
        PODS,
        EVENTS,
        REPLICA_SETS,
        *WORKLOADS,
        *RBAC,
    ):
        if resource.plural == plural and resource.prefix == prefix:
            return resource, namespace
    kind = plural.rstrip("s").capitalize()
    return Resource(plural, prefix, kind, namespace is not None), namespace


def _is_single_object(path: str) -> bool:
    parts = [p for p in path.split("/") if p]
    if "namespaces" in parts:
        index = parts.index("namespaces")
        if index + 2 < len(parts):
            parts = parts[:index] + parts[index + 2 :]
        else:
            return len(parts) == index + 2  # /api/v1/namespaces/NAME
    prefix_len = 2 if parts[0] == "api" else 3
    return len(parts) > prefix_len + 1


# -- kubeconfig ----------------------------------------------------------------------

INSTALL_CLUSTER_EXTRA = (
    "reading a live cluster needs the Kubernetes client, an optional part of pullguard: "
    "install it with `pipx install --force 'pullguard[cluster]'` "
    "(or `pipx inject pullguard kubernetes`, or `pip install 'pullguard[cluster]'`); "
    "scanning files does not need it"
)


class ClusterClientMissing(PullguardError):
    """The `kubernetes` package (the `pullguard[cluster]` extra) is not installed.

    Not a ClusterError: it is the same for every context of a fleet, so it stops the
    command once instead of being reported per cluster.
    """


def require_client() -> None:
    """Fail with an actionable message when the `cluster` extra is not installed."""
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        raise ClusterClientMissing(INSTALL_CLUSTER_EXTRA) from None


def kubeconfig_path(kubeconfig: str | None) -> str:
    """What kubectl reads: --kubeconfig, else $KUBECONFIG (several files, ':'-separated), else ~/.kube/config."""
    return kubeconfig or os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())


def _in_cluster_possible(kubeconfig: str | None) -> bool:
    if kubeconfig or os.environ.get("KUBECONFIG"):
        return False
    return not Path("~/.kube/config").expanduser().exists() and bool(
        os.environ.get("KUBERNETES_SERVICE_HOST")
    )


def _choices(kubeconfig_set: bool) -> str:
    """What a person can do instead, the way kubectl users know it."""
    instead = "point KUBECONFIG at an existing file" if kubeconfig_set else "set KUBECONFIG"
    return (
        f"pass --kubeconfig FILE, {instead}, or run pullguard in a pod, where it uses the pod's "
        "ServiceAccount (the in-cluster config)"
    )


def missing_kubeconfig(kubeconfig: str | None) -> str | None:
    """Why no kubeconfig file can be read, or None when one exists.

    The Kubernetes client skips kubeconfig files that do not exist, as kubectl's loading rules
    skip those of $KUBECONFIG (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/),
    and then says only "Invalid kube-config file. No configuration found.": this names the
    file(s) looked for and what to do instead.
    """
    if kubeconfig:  # --kubeconfig names one file, as kubectl's flag does
        if Path(kubeconfig).expanduser().exists():
            return None
        return (
            f"kubeconfig {kubeconfig} (--kubeconfig) does not exist: check the path; without --kubeconfig, "
            "pullguard reads KUBECONFIG, else ~/.kube/config, else (in a pod) the pod's ServiceAccount"
        )
    listed = os.environ.get("KUBECONFIG")
    if listed:
        paths = [p for p in listed.split(os.pathsep) if p]
        if any(Path(p).expanduser().exists() for p in paths):
            return None
        if len(paths) == 1:
            return f"kubeconfig {paths[0]} (from KUBECONFIG) does not exist; {_choices(True)}"
        return f"kubeconfig: no file in KUBECONFIG exists ({', '.join(paths) or 'it is empty'}); {_choices(True)}"
    default = Path("~/.kube/config").expanduser()
    if default.exists():
        return None
    return f"no kubeconfig: {default} does not exist and KUBECONFIG is not set; {_choices(False)}"


def list_contexts(kubeconfig: str | None = None) -> tuple[list[str], str | None]:
    require_client()
    from kubernetes import config as kube_config

    missing = missing_kubeconfig(kubeconfig)
    if missing:
        raise ClusterError(missing)
    try:
        contexts, active = kube_config.list_kube_config_contexts(config_file=kubeconfig_path(kubeconfig))  # type: ignore[no-untyped-call]
    except Exception as error:
        raise ClusterError(f"kubeconfig {kubeconfig_path(kubeconfig)}: {_config_reason(error)}") from None
    return [c["name"] for c in contexts], (active or {}).get("name")


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    budget: Budget | None = None,
) -> Connection:
    """A connection as kubectl would make it; never writes the kubeconfig (persist_config=False)."""
    require_client()
    from kubernetes import client as kube_client
    from kubernetes import config as kube_config

    configuration = kube_client.Configuration()
    if context is None and _in_cluster_possible(kubeconfig):
        try:
            kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except Exception as error:
            raise ClusterError(f"in-cluster config: {_config_reason(error)}") from None
        namespace_file = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        namespace = namespace_file.read_text().strip() if namespace_file.exists() else "default"
        api = _api_client(kube_client, configuration)
        return Connection(
            "in-cluster",
            KubernetesTransport("in-cluster", api, connect_timeout, read_timeout, budget),
            namespace,
        )
    path = kubeconfig_path(kubeconfig)
    names, active = list_contexts(kubeconfig)
    name = context or active
    if name is None:
        raise ClusterError(
            f"kubeconfig {path}: no current-context; pass --context (one of: {', '.join(names) or 'none'})"
        )
    if name not in names:
        raise ClusterError(
            f"kubeconfig {path}: no context named '{name}' (contexts: {', '.join(names) or 'none'})"
        )
    try:
        kube_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=name, client_configuration=configuration, persist_config=False
        )
    except Exception as error:
        raise ClusterError(f"kubeconfig {path}, context '{name}': {_config_reason(error)}") from None
    contexts, _ = kube_config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    namespace = (
        next((c["context"].get("namespace") for c in contexts if c["name"] == name), None) or "default"
    )
    api = _api_client(kube_client, configuration)
    return Connection(name, KubernetesTransport(name, api, connect_timeout, read_timeout, budget), namespace)


def _api_client(kube_client: Any, configuration: Any) -> Any:
    """An API client that names pullguard in its User-Agent, so audit logs tell its reads apart
    (`pullguard audit-log` expects its scanner's reads)."""
    api = kube_client.ApiClient(configuration=configuration)
    api.user_agent = f"pullguard/{__version__} (cluster scan)"
    return api


def _config_reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


# -- the source ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    namespaces: tuple[str, ...] = ()  # empty with all_namespaces=False: the context's namespace
    all_namespaces: bool = False
    secret_data: bool = True
    page_size: int = 500
    # Only what manifests in files are judged against (namespaces, nodes, secrets,
    # ServiceAccounts): no workloads, pods or RBAC. `scan PATH --context NAME`.
    context_only: bool = False
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT  # one request, answer included (0: none)
    deadline: float = DEFAULT_DEADLINE  # the whole scan
    started: float = field(default_factory=time.monotonic)
    # ask for the next page (and the next list's first page) while judging this one
    page_ahead: bool = True

    def budget(self) -> Budget:
        return Budget(self.request_timeout, self.deadline, self.started)


ListKey = tuple[str, str | None, str]
"""One list as asked for: path, field selector, Accept."""


@dataclass(slots=True)
class Denied:
    """A list that RBAC refused: what, where, and the rule that would allow it."""

    error: ClusterForbidden
    essential: bool


@dataclass(slots=True)
class ClusterSource:
    """Streams a cluster's objects as Manifests, page by page; see the module docstring."""

    connection: Connection
    options: ClusterOptions = field(default_factory=ClusterOptions)
    stats: ReadStats = field(default_factory=ReadStats)
    problems: list[InputProblem] = field(default_factory=list)
    denied: list[Denied] = field(default_factory=list)
    requests: int = 0
    # (namespace, name) of every secret referenced as a pull secret by a pod or ServiceAccount
    referenced: set[tuple[str, str]] = field(default_factory=set)
    # namespaces (None: all) whose secrets could not be listed: references there are unknown, not missing
    unreadable_secrets: set[str | None] = field(default_factory=set)
    # an essential list failed (an error answer, a wrong shape) or the deadline stopped the scan
    incomplete: bool = False
    stopped: ClusterDeadline | None = None
    _namespace_cache: list[str | None] | None = None
    # list -> the list `read` asks for after it; the first page of that one, asked for ahead
    _next_list: dict[ListKey, ListKey] = field(default_factory=dict)
    _speculated: tuple[ListKey, _Ahead] | None = None
    _counting: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.connection.name

    @property
    def partial(self) -> bool:
        return self.incomplete or any(d.essential for d in self.denied)

    @property
    def origin(self) -> str:
        return f"cluster {self.connection.name}"

    @property
    def context(self) -> bool:
        return self.options.context_only

    @property
    def live(self) -> bool:
        return not self.options.context_only

    @property
    def secret_data(self) -> bool:
        return self.options.secret_data

    def read(self) -> Iterator[Manifest]:
        """Namespaces and nodes, pull secrets, ServiceAccounts, workloads, pods, RBAC, referenced secrets."""
        with prompt_page_threads():
            yield from self._read()

    def _read(self) -> Iterator[Manifest]:
        scopes = self._scopes()
        planned = self._planned(scopes)
        self._next_list = dict(pairwise(planned))
        yield from (
            self._list(NAMESPACES, [None], optional=True) if scopes == [None] else self._namespaces(scopes)
        )
        # whole Nodes: status.nodeInfo.kubeletVersion rates the node-cache trap (PG025) per node
        yield from self._list(NODES, [None], optional=True)
        known_secrets: set[tuple[str, str]] = set()
        other_secrets: dict[tuple[str, str], str] = {}
        if self.options.secret_data:
            for secret_type in PULL_SECRET_TYPES:
                for manifest in self._list(SECRETS, scopes, selector=f"type={secret_type}"):
                    known_secrets.add((manifest.namespace or "", manifest.name))
                    yield manifest
        for manifest in self._list_secret_table(scopes):
            key = (manifest.namespace or "", manifest.name)
            if key in known_secrets:
                continue
            secret_type = str((manifest.body or {}).get("type") or "Opaque")
            if not self.options.secret_data and secret_type in PULL_SECRET_TYPES:
                yield manifest  # metadata only: name and type
            elif self.options.context_only:
                # the files' pods may reference any of them: name and type, never data
                yield self._referenced_secret(key, secret_type) if key in self.referenced else manifest
            else:
                other_secrets[key] = secret_type
        for manifest in self._list(SERVICE_ACCOUNTS, scopes):
            self._note_references(manifest, manifest.body or {})
            yield manifest
        if self.options.context_only:
            return
        for resource in WORKLOADS:
            yield from self._list(resource, scopes)
        for manifest in self._list(PODS, scopes):
            body = manifest.body or {}
            self._note_references(manifest, body.get("spec") or {})
            yield manifest
        for resource in RBAC:
            yield from self._list(resource, scopes if resource.namespaced else [None], optional=True)
        for key in sorted(self.referenced & other_secrets.keys()):
            yield self._referenced_secret(key, other_secrets[key])

    # -- scopes and pages ------------------------------------------------------------

    def _planned(self, scopes: list[str | None]) -> list[ListKey]:
        """The lists `read` asks for, in its order, when every answer is readable: the first page
        of the next one is asked for while the last page of this one is judged (`_pages`)."""
        json_ = "application/json"
        lists: list[tuple[Resource, list[str | None], str | None, str]] = []
        if scopes == [None]:
            lists.append((NAMESPACES, [None], None, json_))
        lists.append((NODES, [None], None, json_))
        if self.options.secret_data:
            lists += [(SECRETS, scopes, f"type={secret_type}", json_) for secret_type in PULL_SECRET_TYPES]
        lists += [(SECRETS, scopes, None, TABLE), (SERVICE_ACCOUNTS, scopes, None, json_)]
        if not self.options.context_only:
            lists += [(resource, scopes, None, json_) for resource in (*WORKLOADS, PODS)]
            lists += [(r, scopes if r.namespaced else [None], None, json_) for r in RBAC]
        return [
            (resource.path(scope), selector, accept)
            for resource, where, selector, accept in lists
            for scope in where
        ]

    def _scopes(self) -> list[str | None]:
        if self.options.all_namespaces:
            return [None]
        return list(self.options.namespaces or (self.connection.namespace,))

    def _namespaces(self, scopes: list[str | None]) -> Iterator[Manifest]:
        for namespace in scopes:
            assert namespace is not None
            try:
                document = _object(
                    self._get(NAMESPACES.path(name=namespace), []), NAMESPACES.path(name=namespace)
                )
            except ClusterForbidden:
                continue  # reading the namespace object is not needed to read what is in it
            except ClusterResponseError as failed:
                self._failed(NAMESPACES, namespace, failed, essential=False)
                continue
            except ClusterDeadline as stopped:
                self._stop(stopped)
                return
            except ClusterNotFound:
                self.problems.append(
                    InputProblem(
                        self._where(NAMESPACES, None, namespace),
                        Level.ERROR,
                        "not-found",
                        f"cluster '{self.name}': namespace '{namespace}' does not exist",
                    )
                )
                continue
            yield self._manifest(NAMESPACES, document)

    def _list(
        self,
        resource: Resource,
        scopes: list[str | None],
        *,
        selector: str | None = None,
        optional: bool = False,
        accept: str = "application/json",
    ) -> Iterator[Manifest]:
        """Every object of `resource` in `scopes`. Without cluster-wide permission, namespace by
        namespace; a namespace RBAC refuses is recorded (partial result). Pods that cannot be
        read anywhere end the scan: there would be nothing to judge."""
        essential = resource.essential and not optional
        readable = 0
        first_denial: ClusterForbidden | None = None
        for scope in scopes:
            if self.stopped is not None:
                return
            try:
                for page in self._pages(resource.path(scope), selector, accept):
                    for item in page["items"]:
                        yield self._manifest(resource, item)
                    self.stats.lists += 1
                readable += 1
            except ClusterResponseError as failed:
                self._failed(resource, scope, failed, essential)
                if resource is SECRETS:
                    self.unreadable_secrets.add(scope)
            except ClusterDeadline as stopped:
                self._stop(stopped)
                return
            except ClusterForbidden as denied:
                if scope is None and resource.namespaced:
                    names = self._namespace_names()
                    if names is not None:
                        yield from self._list(
                            resource, names, selector=selector, optional=optional, accept=accept
                        )
                        return
                first_denial = first_denial or denied
                if resource is SECRETS:
                    self.unreadable_secrets.add(scope)
                self._deny(denied, essential)
        if first_denial is not None and readable == 0 and resource is PODS:
            raise first_denial

    def _list_secret_table(self, scopes: list[str | None]) -> Iterator[Manifest]:
        """Every secret's name and type, without data (Table), for existence and type checks."""
        for scope in scopes:
            if self.stopped is not None:
                return
            try:
                for page in self._pages(SECRETS.path(scope), None, TABLE, items="rows"):
                    for row in page["rows"]:
                        cells = row.get("cells")
                        cells = cells if isinstance(cells, list) else []
                        row_object = row.get("object")
                        row_meta = row_object.get("metadata") if isinstance(row_object, Mapping) else None
                        meta = dict(row_meta) if isinstance(row_meta, Mapping) else {}
                        meta.setdefault("name", str(cells[0]) if cells else "")
                        if scope is not None:
                            meta.setdefault("namespace", scope)
                        secret_type = str(cells[1]) if len(cells) > 1 else "Opaque"
                        body = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": secret_type}
                        yield self._manifest(SECRETS, body)
            except ClusterResponseError as failed:
                self.unreadable_secrets.add(scope)
                self._failed(SECRETS, scope, failed, self.options.secret_data)
            except ClusterDeadline as stopped:
                self._stop(stopped)
                return
            except ClusterForbidden as denied:
                if scope is None:
                    names = self._namespace_names()
                    if names is not None:
                        yield from self._list_secret_table(names)
                        continue
                self.unreadable_secrets.add(scope)
                if not any(d.error.resource is SECRETS and d.error.namespace == scope for d in self.denied):
                    self._deny(denied, self.options.secret_data)

    def _namespace_names(self) -> list[str | None] | None:
        """All namespace names (for namespace-by-namespace reading), or None when they cannot be listed."""
        if self._namespace_cache is None:
            try:
                names: list[str | None] = []
                for page in self._pages(NAMESPACES.path(), None, METADATA):
                    names.extend(_name_of(item) for item in page["items"])
                self._namespace_cache = [name for name in names if name]
            except (ClusterForbidden, ClusterResponseError):
                return None
        return self._namespace_cache

    def _pages(
        self, path: str, selector: str | None, accept: str, *, items: str = "items", labels: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The pages of one list, each checked for shape (`items` a list of objects). The next
        page is asked for while the caller works on this one (one page ahead, so at most two
        pages are held): the API server's time to serve a page overlaps ours to judge the last
        one (README "Scale"). After a list's last page comes the first page of the list `read`
        asks for next (`_planned`), so the server never waits for us between lists either.
        Paging ends when the continue token is empty; a token seen before, or more than
        MAX_PAGES pages, is an answer that cannot be used (a server that pages forever)."""

        def fetch(token: str | None) -> dict[str, Any]:
            return self._page(path, selector, accept, items, labels, token)

        key = (path, selector, accept)
        speculated = self._speculated
        if speculated is not None and speculated[0] == key and labels is None:
            self._speculated = None
            page = speculated[1].result()
        else:  # a list read in between (namespace by namespace where RBAC refuses): left waiting
            page = fetch(None)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            token = page["metadata"].get("continue") or None
            repeated = token is not None and token in seen
            if token is not None:
                seen.add(token)
                ahead = None if repeated else self._ahead(partial(fetch, token))
            else:
                ahead = None
                if labels is None:
                    self._speculate(self._next_list.get(key))
            yield page
            if repeated:
                raise ClusterResponseError(
                    f"cluster '{self.name}': the API server repeated a continue token for {path}: paging stopped"
                )
            if ahead is None:
                return
            page = ahead.result()
        raise ClusterResponseError(
            f"cluster '{self.name}': more than {MAX_PAGES} pages for {path}: paging stopped"
        )

    def _speculate(self, following: ListKey | None) -> None:
        """Ask for the first page of `following` now; `_pages` takes it when that list is read.
        Only where reading goes on: a scan stopped by its deadline asks for nothing more."""
        if following is None or self.stopped is not None or not self.options.page_ahead:
            return
        path, selector, accept = following
        items = "rows" if accept == TABLE else "items"
        self._speculated = (following, _Ahead(partial(self._page, path, selector, accept, items, None, None)))

    def _ahead(self, work: Callable[[], dict[str, Any]]) -> _Ahead | _Later:
        return _Ahead(work) if self.options.page_ahead else _Later(work)

    def _page(
        self, path: str, selector: str | None, accept: str, items: str, labels: str | None, token: str | None
    ) -> dict[str, Any]:
        query = list_query(
            self.options.page_size, field_selector=selector, label_selector=labels, token=token
        )
        return _list_page(self.name, self._get(path, query, accept), path, items)

    def _get(self, path: str, query: list[tuple[str, str]], accept: str = "application/json") -> Any:
        with self._counting:  # pages ahead are asked for on other threads
            self.requests += 1
        return self.connection.transport.get(path, query, accept)

    def _failed(
        self, resource: Resource, scope: str | None, failed: ClusterResponseError, essential: bool
    ) -> None:
        """A list whose answer cannot be used: an input problem; the objects read before it stay."""
        where = f"in namespace '{scope}'" if scope else "cluster-wide"
        if essential:
            self.incomplete = True
        self.problems.append(
            InputProblem(
                self._where(resource, scope, None),
                Level.ERROR if essential else Level.WARNING,
                "api-error",
                f"{'PARTIAL: ' if essential else ''}{failed}; {resource.plural} {where} not (fully) read"
                + ("" if essential else " (checks that need them are skipped there)"),
            )
        )

    def _stop(self, stopped: ClusterDeadline) -> None:
        if self.stopped is None:
            self.stopped = stopped
            self.incomplete = True
            self.problems.append(
                InputProblem(
                    Location(f"{self.name}:", 1, 1),
                    Level.ERROR,
                    "deadline",
                    f"PARTIAL: {stopped}; the objects read until then are analysed",
                )
            )

    def _deny(self, denied: ClusterForbidden, essential: bool) -> None:
        self.denied.append(Denied(denied, essential))
        what = "PARTIAL: " if essential else ""
        consequence = "" if essential else " (checks that need it are skipped there)"
        self.problems.append(
            InputProblem(
                self._where(denied.resource, denied.namespace, None),
                Level.ERROR if essential else Level.WARNING,
                "forbidden",
                f"{what}{denied}{consequence}",
            )
        )

    # -- objects -------------------------------------------------------------------------

    def _manifest(self, resource: Resource, item: Mapping[str, Any]) -> Manifest:
        """Items of a typed list carry no kind/apiVersion: they come from the list."""
        body = dict(item)
        found = body.get("metadata")
        meta = dict(found) if isinstance(found, Mapping) else {}
        meta.pop("managedFields", None)
        for field_name in ("labels", "annotations"):  # string maps in the API; anything else is dropped
            if field_name in meta and not isinstance(meta[field_name], Mapping):
                del meta[field_name]
        if resource is SECRETS and meta.get("annotations"):
            annotations = dict(meta["annotations"])
            annotations.pop(LAST_APPLIED, None)
            meta["annotations"] = annotations
        body["metadata"] = meta
        kind, api_version = resource.kind, resource.api_version
        body["kind"] = kind
        body["apiVersion"] = api_version
        name = meta.get("name")
        name = name if type(name) is str else str(name or "")
        namespace = meta.get("namespace")
        namespace = namespace if namespace and isinstance(namespace, str) else None
        stats = self.stats
        stats.objects += 1
        stats.documents += 1
        stats.kinds[kind] += 1
        return Manifest(api_version, kind, name, namespace, body, self._where(resource, namespace, name))

    def _where(self, resource: Resource, namespace: str | None, name: str | None) -> Location:
        if namespace:
            where = f"{self.name}:{resource.prefix}/namespaces/{namespace}/{resource.plural}"
        else:
            where = f"{self.name}:{resource.prefix}/{resource.plural}"
        return Location(f"{where}/{name}" if name else where, 1, 1)

    def _note_references(self, manifest: Manifest, holder: Mapping[str, Any]) -> None:
        namespace = manifest.namespace or ""
        secrets = holder.get("imagePullSecrets")
        if isinstance(secrets, list):
            for item in secrets:
                if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                    self.referenced.add((namespace, item["name"]))

    def _referenced_secret(self, key: tuple[str, str], secret_type: str) -> Manifest:
        """A secret of another type that is referenced as a pull secret: its data keys (PG003), never its values."""
        namespace, name = key
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": secret_type,
        }
        if self.options.secret_data:
            try:
                document = _object(
                    self._get(SECRETS.path(namespace, name), []), SECRETS.path(namespace, name)
                )
                body = dict(document)
                data = document.get("data")
                body["data"] = {str(k): "" for k in data} if isinstance(data, Mapping) else {}
                body.pop("stringData", None)
            except ClusterForbidden as denied:
                self._deny(denied, False)
            except ClusterNotFound:
                pass
            except ClusterResponseError as failed:
                self._failed(SECRETS, namespace, failed, essential=False)
            except ClusterDeadline as stopped:
                self._stop(stopped)
        return self._manifest(SECRETS, body)

    def get_object(self, resource: Resource, namespace: str | None, name: str) -> Manifest:
        """One object (the doctor's pod, deployment or secret)."""
        path = resource.path(namespace, name)
        return self._manifest(resource, _object(self._get(path, []), path))

    def list_objects(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        field_selector: str | None = None,
        label_selector: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Raw items of a list (events for the doctor), paginated and bounded as every list."""
        for page in self._pages(
            resource.path(namespace), field_selector, "application/json", labels=label_selector
        ):
            yield from page["items"]


class _Ahead:
    """One request run on its own thread; `result()` waits for it and returns or raises as the
    request did. Abandoned (the caller stopped reading), it ends with the request's own timeout."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._work = work
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pullguard-page-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as error:  # re-raised by result() on the reading thread
            self._error = error

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


class _Later:
    """A request run when its result is asked for (`ClusterOptions.page_ahead` off)."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._work = work

    def result(self) -> Any:
        return self._work()


PAGE_THREAD_SWITCH_INTERVAL = 0.001
"""Seconds the reading thread may hold the interpreter lock while a page-ahead thread waits for it."""

_switching = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextmanager
def prompt_page_threads() -> Iterator[None]:
    """While lists are read, a page-ahead thread whose answer has arrived takes the interpreter
    lock within a millisecond, not after Python's default 5 ms switch interval: it reads the
    answer in several socket reads, each waiting for the thread that judges the last page.
    At 20,000 pods, scan/fetch wall 1.53 -> 1.31-1.39 (benchmarks/cluster_bench.py --compare).
    Scans of a fleet read concurrently: the first to start sets the interval, the last to end
    restores it."""
    global _switch_users, _switch_saved
    with _switching:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, PAGE_THREAD_SWITCH_INTERVAL))
        _switch_users += 1
    try:
        yield
    finally:
        with _switching:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


MAX_PAGES = 100_000
"""Pages per list: 50 million objects at 500 a page; an API server that pages past it pages forever."""


def _list_page(cluster: str, page: Any, path: str, items: str) -> dict[str, Any]:
    """A list answer checked for the shape every caller relies on: a JSON object whose `metadata`
    is an object with a string `continue` (or none), whose `items` (`rows` for a Table) is a list
    of objects (or absent/null: empty)."""

    def wrong(what: str) -> ClusterResponseError:
        return ClusterResponseError(
            f"cluster '{cluster}': the API server sent a list of the wrong shape for {path}: {what}"
        )

    if not isinstance(page, Mapping):
        raise wrong(f"a JSON {type(page).__name__}, not an object")
    metadata = page.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise wrong("'metadata' is not an object")
    token = metadata.get("continue")
    if token is not None and not isinstance(token, str):
        raise wrong("'metadata.continue' is not a string")
    found = page.get(items)
    if found is None:
        found = []
    if not isinstance(found, list):
        raise wrong(f"'{items}' is not a list")
    if not all(isinstance(item, Mapping) for item in found):
        raise wrong(f"an element of '{items}' is not an object")
    return {**page, "metadata": metadata, items: found}


def _object(document: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise ClusterResponseError(
            f"the API server sent a JSON {type(document).__name__}, not an object, for {path}"
        )
    return document


def _name_of(item: Mapping[str, Any]) -> str | None:
    metadata = item.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) and name else None
