"""List+watch of one kind, as client-go's Reflector does it (k8s.io/client-go `tools/cache/reflector.go`).

1. LIST, paginated (`limit` + `continue`); the list's `metadata.resourceVersion` is the
   point in history the objects are from. Objects that were known before and are not in
   the new list are handed on as deleted (DeltaFIFO `Replace`).
2. WATCH from that resourceVersion with `allowWatchBookmarks=true` and a
   `timeoutSeconds` the server ends the stream at; each event moves the resourceVersion
   on, BOOKMARK events only move it (they carry no object change). When the server ends
   the stream, watch again from the last resourceVersion: no LIST, nothing missed.
3. An ERROR event with code 410 (`Expired`/`Gone`: the history was compacted) or an
   HTTP 410 means the resourceVersion is too old: LIST again (client-go
   `isExpiredError`, "The resourceVersion for the provided watch is too old").
4. Other failures back off exponentially (capped) and retry; the watch resumes from the
   last resourceVersion when it can.

Objects go to `handler(event_type, object)` one at a time; nothing here keeps them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pullguard.errors import ClusterError
from pullguard.serve.kube import KubeClient
from pullguard.sources.cluster import ClusterForbidden, Resource, list_query

Handler = Callable[[str, dict[str, Any]], None]
log = logging.getLogger("pullguard.serve.informer")


class Expired(Exception):
    """The watch's resourceVersion is older than the server keeps: list again."""


@dataclass(frozen=True, slots=True)
class Watched:
    """What one informer reads: a resource, optionally narrowed, in full or as metadata."""

    resource: Resource
    tag: str  # the store's name for it ("secrets" and "secretmeta" read the same resource)
    field_selector: str | None = None
    accept: str = "application/json"
    namespace: str | None = None  # list and watch in this namespace only (serve --watch-namespace)


@dataclass
class Informer:
    client: KubeClient
    watched: Watched
    handler: Handler
    stop: threading.Event
    page_size: int = 500
    watch_timeout: float = 300.0  # client-go: a random 5-10 minutes
    max_backoff: float = 30.0
    synced: threading.Event = field(default_factory=threading.Event)
    resource_version: str | None = None
    lists: int = 0
    watches: int = 0
    relists_expired: int = 0
    errors: int = 0
    last_error: str | None = None
    forbidden: bool = False
    _known: set[tuple[str | None, str]] = field(default_factory=set)
    _thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        selector = f"({self.watched.field_selector})" if self.watched.field_selector else ""
        return f"{self.watched.tag}{selector}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"informer-{self.name}", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                if self.resource_version is None:
                    self._list()
                self._watch()
                backoff = 0.5
            except Expired as expired:
                self.relists_expired += 1
                log.info(
                    "watch expired, listing again", extra={"resource": self.name, "reason": str(expired)}
                )
                self.resource_version = None
            except ClusterForbidden as denied:
                self.forbidden = True
                self._failed(denied)
                self.synced.set()  # nothing to wait for: it is reported, and retried slowly
                self.stop.wait(self.max_backoff)
            except ClusterError as error:
                if self.stop.is_set():
                    return
                self._failed(error)
                self.stop.wait(backoff * (1 + random.random()))
                backoff = min(backoff * 2, self.max_backoff)

    def _failed(self, error: Exception) -> None:
        self.errors += 1
        self.last_error = str(error)
        where = {"namespace": self.watched.namespace} if self.watched.namespace else {}
        log.warning("list/watch failed", extra={"resource": self.name, **where, "error": str(error)})

    def _list(self) -> None:
        path = self.watched.resource.path(self.watched.namespace)
        token: str | None = None
        version: str | None = None
        seen: set[tuple[str | None, str]] = set()
        while True:
            query = list_query(self.page_size, field_selector=self.watched.field_selector, token=token)
            page = self.client.get(path, query, self.watched.accept)
            metadata = page.get("metadata") or {}
            version = version or str(metadata.get("resourceVersion") or "")
            for item in page.get("items") or ():
                key = _key(item)
                seen.add(key)
                self.handler("ADDED" if key not in self._known else "MODIFIED", item)
            token = metadata.get("continue") or None
            if not token or self.stop.is_set():
                break
        for namespace, name in self._known - seen:
            self.handler("DELETED", {"metadata": {"namespace": namespace, "name": name}})
        self._known = seen
        self.lists += 1
        self.forbidden = False
        self.resource_version = version or "0"
        self.synced.set()

    def _watch(self) -> None:
        assert self.resource_version is not None
        timeout = self.watch_timeout * (1 + random.random())
        query = [
            ("watch", "1"),
            ("resourceVersion", self.resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(int(timeout))),
        ]
        if self.watched.field_selector:
            query.append(("fieldSelector", self.watched.field_selector))
        self.watches += 1
        try:
            events = self.client.watch(
                self.watched.resource.path(self.watched.namespace), query, self.watched.accept, timeout + 30
            )
            for event in events:
                if self.stop.is_set():
                    return
                self._event(event)
        except ClusterError as error:
            if "410" in str(error) or "too old" in str(error):
                raise Expired(str(error)) from None
            raise

    def _event(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type") or "")
        obj: dict[str, Any] = event["object"]
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "ERROR":
            code = obj.get("code")
            message = str(obj.get("message") or "")[:300]
            if code in (410,) or obj.get("reason") in ("Expired", "Gone"):
                raise Expired(message)
            raise ClusterError(f"cluster '{self.client.name}': watch of {self.name} failed: {code} {message}")
        if kind == "BOOKMARK":
            if version:
                self.resource_version = str(version)
            return
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            return
        key = _key(obj)
        if kind == "DELETED":
            self._known.discard(key)
        else:
            self._known.add(key)
        self.handler(kind, obj)
        if version:
            self.resource_version = str(version)


def _key(item: dict[str, Any]) -> tuple[str | None, str]:
    meta = item.get("metadata") or {}
    namespace = meta.get("namespace")
    return (str(namespace) if namespace else None, str(meta.get("name") or ""))


def wait_synced(informers: list[Informer], stop: threading.Event, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    for informer in informers:
        while not informer.synced.wait(0.1):
            if stop.is_set() or time.monotonic() > deadline:
                return False
    return True
