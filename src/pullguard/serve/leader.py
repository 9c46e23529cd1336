"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's `tools/leaderelection` does it.

With more than one replica every replica watches, judges, serves /metrics and the
webhook; only the leader writes PolicyReports. A replica becomes leader when the
Lease has no holder, or its holder has not renewed it for `lease_duration` (measured
on this replica's clock from when it last saw the record change, so clocks need not
agree); it then renews every `retry_period` and steps down when it could not renew
for `renew_deadline`. Updates carry the Lease's resourceVersion: of two replicas
racing, one gets 409 Conflict. On shutdown the leader releases the Lease (empty
holder, as client-go's ReleaseOnCancel), so another takes over at once.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pullguard.errors import ClusterError

if TYPE_CHECKING:
    from pullguard.serve.kube import KubeClient

log = logging.getLogger("pullguard.serve.leader")


def _micro_time(moment: float) -> str:
    """metav1.MicroTime as JSON: RFC 3339 with microseconds."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def identity() -> str:
    """hostname_uuid, as client-go's examples name candidates (the pod name is the hostname)."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


@dataclass
class LeaderElector:
    client: KubeClient
    namespace: str
    name: str = "pullguard-serve"
    identity: str = field(default_factory=identity)
    lease_duration: float = 15.0  # controller-runtime's defaults
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    on_change: Callable[[bool], None] | None = None
    leader: threading.Event = field(default_factory=threading.Event)
    transitions: int = 0
    _observed: tuple[str, float] | None = None  # (resourceVersion, local time it was first seen)
    _last_renew: float = 0.0
    _thread: threading.Thread | None = None

    @property
    def path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{self.name}"

    def start(self, stop: threading.Event) -> None:
        self._thread = threading.Thread(target=self._run, args=(stop,), name="leader-election", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                held = self.try_acquire_or_renew()
            except ClusterError as error:
                log.warning("leader election: cannot read or write the Lease", extra={"error": str(error)})
                held = False
            now = time.monotonic()
            if held:
                self._last_renew = now
                self._set(True)
            elif self.leader.is_set() and now - self._last_renew > self.renew_deadline:
                self._set(False)  # could not renew in time: someone else may hold it now
            stop.wait(self.retry_period)
        if self.leader.is_set():
            self.release()

    def _set(self, leading: bool) -> None:
        if leading == self.leader.is_set():
            return
        if leading:
            self.leader.set()
        else:
            self.leader.clear()
        log.info("leader election", extra={"leader": leading, "identity": self.identity, "lease": self.name})
        if self.on_change is not None:
            self.on_change(leading)

    def try_acquire_or_renew(self) -> bool:
        now = time.time()
        status, lease = self.client.request("GET", self.path, allow=(404,))
        if status == 404:
            body = self._lease(None, now, transitions=0)
            status, _ = self.client.request(
                "POST",
                self.path.rsplit("/", 1)[0],
                body=body,
                content_type="application/json",
                allow=(409,),
            )
            return status in (200, 201)
        spec = lease.get("spec") or {}
        version = str((lease.get("metadata") or {}).get("resourceVersion") or "")
        if self._observed is None or self._observed[0] != version:
            self._observed = (version, time.monotonic())
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        expired = time.monotonic() - self._observed[1] > duration
        if holder and holder != self.identity and not expired:
            return False
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if holder == self.identity else 1)
        acquired = spec.get("acquireTime") if holder == self.identity else None
        body = self._lease(lease, now, transitions, acquired)
        status, _ = self.client.request(
            "PUT", self.path, body=body, content_type="application/json", allow=(409,)
        )
        if status == 409:  # another replica updated it first
            return False
        self.transitions = transitions
        return True

    def _lease(
        self, current: dict[str, Any] | None, now: float, transitions: int, acquired: str | None = None
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if current is not None:
            metadata["resourceVersion"] = (current.get("metadata") or {}).get("resourceVersion")
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.lease_duration),
                "acquireTime": acquired or _micro_time(now),
                "renewTime": _micro_time(now),
                "leaseTransitions": transitions,
            },
        }

    def release(self) -> None:
        """Give the Lease up (empty holder, 1 s): the next replica need not wait for it to expire."""
        try:
            status, lease = self.client.request("GET", self.path, allow=(404,))
            if status == 404 or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            body = self._lease(
                lease, time.time(), int((lease.get("spec") or {}).get("leaseTransitions") or 0)
            )
            body["spec"].update({"holderIdentity": "", "leaseDurationSeconds": 1})
            self.client.request("PUT", self.path, body=body, content_type="application/json", allow=(409,))
        except ClusterError as error:
            log.warning("leader election: cannot release the Lease", extra={"error": str(error)})
        finally:
            self._set(False)
