"""The validating admission webhook: Pods and pod templates judged at CREATE/UPDATE from the watched inventory.

The API server POSTs an `admission.k8s.io/v1` AdmissionReview; the answer reuses the
request's `uid` (Kubernetes docs, "Dynamic Admission Control", webhook request and
response). The object is judged with the same resolution and the same `ScanOptions` as
the periodic judging (and as `scan`): the namespace's secrets and ServiceAccounts as the
watches hold them, the nodes' `kubeletVersion` from the watched Nodes, and the kubelet
configuration of `--config` (`kubelet:`: credential providers, KubeletConfiguration,
Kubernetes version) and `--kubernetes-version`. No API call per request, and an answer
within `--webhook-timeout` (else the object is allowed with a warning). Pods arrive after
the ServiceAccount admission plugin copied the account's pull secrets into them; a
workload's template is judged as its pods will be.

The checks judged at admission (`ADMISSION_CHECKS`) are those about the one object
admitted that its own spec and the watched inventory decide:

- PG001-PG004: pull secrets of the pod (missing, wrong type, matching no image) and its
  private images without a credential;
- PG017: a pod cloud identity (IRSA, GKE/Azure Workload Identity) on a workload whose
  private image nothing covers: the pod's ServiceAccount annotations and the providers;
- PG020: a credential provider matches the image but gives this pod nothing (token
  mode: no ServiceAccount, or a required ServiceAccount annotation missing);
- PG021: the pod's matching pull secret holds no usable credential and a node
  credential masks it;
- PG022: the pod names pull secrets its ServiceAccount does not list, and the
  ServiceAccount sets `kubernetes.io/enforce-mountable-secrets` (for a Pod the API
  server's own plugin rejects it; for a workload template, the warning comes at
  `kubectl apply` instead of as a controller's event);
- PG023: a mirror pod (annotation `kubernetes.io/config.mirror`) that names pull
  secrets;
- PG024: an `image` volume on a Kubernetes version where ImageVolume is off (the
  version from the configuration, else the oldest watched Node's kubeletVersion);
- PG027: `eks.amazonaws.com/ecr-role-arn` on the pod's ServiceAccount while a provider
  without tokenAttributes pulls its images with the node's role.

Not judged at admission, only by the periodic judging (and in the reports):

- PG025 (image only in a node's cache): it needs the running container's
  `status.containerStatuses[].imageID` and node, which an object being created has not;
- PG018, PG019, PG026 (provider matchImages that never match, a configuration the
  kubelet refuses, a token audience the nodes may not request): about the kubelet's
  configuration and cluster RBAC, not the object admitted;
- the other checks (age, reuse, exposure, RBAC, Pod Security labels...) are about
  secrets, namespaces and roles, not about the pod being created.

- warn (the default): `allowed: true` with `warnings`, which kubectl prints;
- deny, per namespace: label the Namespace `pullguard.io/admission=deny`; the
  response is `allowed: false` with a 403 Status naming the findings;
- a Namespace labelled `pullguard.io/admission=off` is not judged.

TLS: `tls.crt` and `tls.key` from a directory (a mounted Secret, e.g. written by
cert-manager); the files are read again when they change, so a renewed certificate
is served without a restart.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pullguard.checks import REGISTRY, Finding
from pullguard.counts import plural
from pullguard.errors import PullguardError
from pullguard.inventory.model import ObjectRef
from pullguard.pipeline import analyse
from pullguard.sources.model import Location, Manifest

if TYPE_CHECKING:
    from pullguard.serve.judge import Judge

log = logging.getLogger("pullguard.serve.webhook")

# the checks about the one object admitted (see the module docstring for each decision)
ADMISSION_CHECKS = frozenset(
    {"PG001", "PG002", "PG003", "PG004", "PG017", "PG020", "PG021", "PG022", "PG023", "PG024", "PG027"}
)
MODE_LABEL = "pullguard.io/admission"
MAX_REVIEW_BYTES = 3 * 1024 * 1024  # the API server's own request limit is about 3 MiB
MAX_WARNINGS = 10
MAX_WARNING_CHARS = 256  # longer warnings may be truncated by clients (Kubernetes docs, "Response: warnings")
# the kinds judged, with their apiVersion
KINDS = {
    "Pod": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}


class WebhookConfigError(PullguardError):
    pass


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    address: tuple[str, int]
    cert_file: Path
    key_file: Path
    timeout: float = 0.5

    @classmethod
    def from_cert_path(cls, address: tuple[str, int], directory: str, timeout: float) -> WebhookSettings:
        base = Path(directory)
        cert, key = base / "tls.crt", base / "tls.key"
        for path in (cert, key):
            if not path.is_file():
                raise WebhookConfigError(
                    f"--webhook-cert-path {directory}: {path.name} not found (mount the webhook's TLS Secret there, "
                    "e.g. one cert-manager writes)"
                )
        settings = cls(address, cert, key, timeout)
        settings.context()  # fail now on an unreadable pair, with the file names
        return settings

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as error:
            raise WebhookConfigError(
                f"webhook TLS: cannot load {self.cert_file} and {self.key_file}: {getattr(error, 'reason', None) or error}"
            ) from None
        return context


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    warnings: tuple[str, ...]
    message: str | None = None


class Admission:
    """Judges one AdmissionReview request; no I/O."""

    def __init__(self, judge: Judge) -> None:
        self.judge = judge

    def review(self, request: dict[str, Any]) -> Verdict:
        kind = str((request.get("kind") or {}).get("kind") or "")
        operation = request.get("operation")
        obj = request.get("object")
        if kind not in KINDS or operation not in ("CREATE", "UPDATE") or not isinstance(obj, dict):
            return Verdict(True, ())
        namespace = str(request.get("namespace") or (obj.get("metadata") or {}).get("namespace") or "default")
        if self.judge.scope and namespace not in self.judge.scope:
            return Verdict(True, ())  # not watched (serve --watch-namespace): its secrets are not known
        mode = self._mode(namespace)
        if mode == "off":
            return Verdict(True, ())
        findings = self.findings(kind, namespace, obj, str(request.get("name") or ""))
        if not findings:
            return Verdict(True, ())
        warnings = tuple(_warning(f) for f in findings[:MAX_WARNINGS])
        if len(findings) > MAX_WARNINGS:
            warnings += (
                f"pullguard: {plural(len(findings) - MAX_WARNINGS, 'more finding')} (pullguard scan --cluster -n {namespace})",
            )
        if mode == "deny":
            message = (
                f"pullguard denies this {kind} (namespace {namespace} is labelled {MODE_LABEL}=deny): "
                + "; ".join(f"{f.check_id}: {f.message}" for f in findings[:3])
            )
            return Verdict(False, warnings, message[:1024])
        return Verdict(True, warnings)

    def _mode(self, namespace: str) -> str:
        namespace_object = self.judge.store.get("namespaces", None, namespace) or {}
        labels = (namespace_object.get("metadata") or {}).get("labels") or {}
        mode = str(labels.get(MODE_LABEL) or "warn")
        return mode if mode in ("warn", "deny", "off") else "warn"

    def findings(self, kind: str, namespace: str, obj: dict[str, Any], request_name: str) -> list[Finding]:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or request_name or (str(meta.get("generateName") or "") + "<generated>"))
        body = {
            **obj,
            "kind": kind,
            "apiVersion": KINDS[kind],
            "metadata": {**meta, "name": name, "namespace": namespace},
        }
        path = f"admission:{kind}/{namespace}/{name}"
        manifest = Manifest(body["apiVersion"], body["kind"], name, namespace, body, Location(path, 1, 1))
        inventory, options = self.judge.inventory(namespace, [manifest], workloads=False)
        templates = inventory.pod_templates
        if not templates:
            return []
        options = _only(options, ADMISSION_CHECKS, self.judge.evidence)
        result = analyse(inventory, options)
        template = templates[0]
        owners = {template.owner, ObjectRef(body["kind"], namespace, name)}
        account = ObjectRef("ServiceAccount", namespace, template.service_account)
        pod_secrets = set(template.pull_secrets)
        if not template.pull_secrets and not template.admitted:
            sa = inventory.service_accounts.get((namespace, template.service_account))
            pod_secrets = set(sa.pull_secrets) if sa is not None else set()
        return [
            f
            for f in result.findings
            if f.object in owners
            or (f.object == account and f.check_id == "PG002")
            or (f.check_id == "PG003" and f.object.kind == "Secret" and f.object.name in pod_secrets)
        ]


def _only(options: Any, checks: frozenset[str], evidence: Any) -> Any:
    import dataclasses

    return dataclasses.replace(
        options,
        disabled_checks=frozenset(REGISTRY) - (checks - options.disabled_checks),
        evidence=evidence,
    )


def _warning(finding: Finding) -> str:
    text = f"pullguard {finding.check_id}: {finding.message}"
    return text if len(text) <= MAX_WARNING_CHARS else text[: MAX_WARNING_CHARS - 1] + "…"


class WebhookServer:
    """HTTPS, one thread per connection; each review judged on a worker with a deadline."""

    def __init__(self, judge: Judge, settings: WebhookSettings, ready: threading.Event) -> None:
        self.settings = settings
        self.admission = Admission(judge)
        self.ready = ready
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="admission")
        self.latencies: list[float] = []  # seconds per review, the last 10000
        self._cert_state: tuple[float, float] = (0.0, 0.0)
        self._context = settings.context()
        self._cert_state = self._mtimes()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                webhook.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in settings.address[0] else socket.AF_INET

            def get_request(self) -> tuple[socket.socket, Any]:
                connection, address = super().get_request()
                connection.settimeout(10)
                # headers and body leave in separate writes: without this, Nagle's algorithm and the
                # client's delayed ACK add ~40 ms to every answer
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # the handshake happens on the connection's own thread, not in the accept loop
                tls = webhook.tls_context().wrap_socket(
                    connection, server_side=True, do_handshake_on_connect=False
                )
                return tls, address

        self.server = Server(settings.address, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def _mtimes(self) -> tuple[float, float]:
        try:
            return os.stat(self.settings.cert_file).st_mtime, os.stat(self.settings.key_file).st_mtime
        except OSError:
            return self._cert_state

    def tls_context(self) -> ssl.SSLContext:
        """The current certificate: reloaded when the mounted files change (a renewed Secret)."""
        state = self._mtimes()
        if state != self._cert_state:
            try:
                self._context = self.settings.context()
                self._cert_state = state
                log.info("webhook certificate reloaded", extra={"cert": str(self.settings.cert_file)})
            except WebhookConfigError as error:
                log.warning("webhook certificate not reloaded", extra={"error": str(error)})
        return self._context

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        length = int(handler.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_REVIEW_BYTES:
            _reply(
                handler,
                413 if length > 0 else 400,
                {"error": f"an AdmissionReview of 1 to {MAX_REVIEW_BYTES} bytes"},
            )
            return
        try:
            review = json.loads(handler.rfile.read(length))
            request = review["request"]
            uid = str(request["uid"])
        except (ValueError, KeyError, TypeError):
            _reply(handler, 400, {"error": "not an admission.k8s.io/v1 AdmissionReview with a request.uid"})
            return
        verdict = self._verdict(request)
        response: dict[str, Any] = {"uid": uid, "allowed": verdict.allowed}
        if verdict.warnings:
            response["warnings"] = list(verdict.warnings)
        if not verdict.allowed:
            response["status"] = {"code": 403, "reason": "Forbidden", "message": verdict.message or "denied"}
        api_version = str(review.get("apiVersion") or "admission.k8s.io/v1")
        _reply(handler, 200, {"apiVersion": api_version, "kind": "AdmissionReview", "response": response})
        elapsed = time.monotonic() - started
        self.latencies.append(elapsed)
        del self.latencies[:-10000]
        log.debug(
            "admission",
            extra={
                "uid": uid,
                "allowed": verdict.allowed,
                "warnings": len(verdict.warnings),
                "seconds": round(elapsed, 4),
            },
        )

    def _verdict(self, request: dict[str, Any]) -> Verdict:
        if not self.ready.is_set():
            return Verdict(True, ("pullguard: not judged (pullguard serve is still reading the cluster)",))
        future = self.pool.submit(self.admission.review, request)
        try:
            return future.result(timeout=self.settings.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return Verdict(True, (f"pullguard: not judged within {self.settings.timeout:g} s",))
        except Exception as error:  # a bad object must not block admission: allowed, and logged
            log.warning(
                "admission review failed", extra={"error": f"{type(error).__name__}: {str(error)[:200]}"}
            )
            return Verdict(True, ("pullguard: not judged (the object could not be read)",))


def _reply(handler: BaseHTTPRequestHandler, status: int, document: dict[str, Any]) -> None:
    body = json.dumps(document, separators=(",", ":")).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
