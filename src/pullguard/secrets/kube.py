"""Writes to the Kubernetes API: create, replace with optimistic concurrency, JSON patch, dry runs.

- Every update carries the ``metadata.resourceVersion`` that was read: if the object
  changed since, the API server answers 409 Conflict and nothing is overwritten
  (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions;
  "Concurrency Control and Consistency" in the API conventions). ``update`` then
  reads the object again and asks the caller's ``change`` whether the change still
  applies.
- Lists are changed with JSON patch (RFC 6902), never with a strategic merge patch:
  ``ServiceAccount.imagePullSecrets`` has no merge key, so a strategic merge patch
  replaces the whole list.
- ``dry_run="server"`` sends ``?dryRun=All``: the server validates and admits the
  request and stores nothing.
- A write whose answer was lost (connection reset, timeout) is "unknown": the caller
  reads the object again to learn what happened.

Errors never quote a request body; API server messages are scrubbed of any value
registered with ``hide``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pullguard.errors import ClusterError
from pullguard.sources.cluster import (
    ClusterAuthError,
    ClusterForbidden,
    ClusterNotFound,
    Connection,
    NoAnswer,
    Resource,
    list_query,
    send,
    status_error,
    unreachable,
)

__all__ = ["AlreadyExists", "Conflict", "Invalid", "KubeApi", "WriteUnknown"]

JSON_PATCH = "application/json-patch+json"
_MAX_CONFLICT_RETRIES = 5


class Conflict(ClusterError):
    """409 Conflict: the object changed since it was read."""


class AlreadyExists(ClusterError):
    """409 AlreadyExists on create."""


class Invalid(ClusterError):
    """422: validation or a failed JSON patch operation."""


class WriteUnknown(ClusterError):
    """The write was sent but no answer came back: it may or may not have been applied."""


class ChangeAborted(ClusterError):
    """The caller's change refused to apply to the object as it now is."""


@dataclass(slots=True)
class Stats:
    requests: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0


class KubeApi:
    """A thin JSON client over the official client's authenticated connection (kubectl's kubeconfig)."""

    def __init__(self, connection: Connection, timeout: float = 30.0) -> None:
        self.connection = connection
        self.name = connection.name
        client = getattr(connection.transport, "api_client", None)
        if client is None:
            raise ClusterError(f"cluster '{connection.name}': this connection cannot write")
        self._client: Any = client
        self.server = str(self._client.configuration.host)
        self._timeout = (min(timeout, 10.0), timeout)
        self._hidden: set[str] = set()
        self.stats = Stats()

    def hide(self, *values: str) -> None:
        """Values (passwords, tokens, payloads) never to appear in an error message."""
        self._hidden.update(v for v in values if v and len(v) >= 4)

    # -- requests ------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        return self._call("GET", resource.path(namespace, name), resource)

    def get_or_none(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self.get(resource, namespace, name)
        except ClusterNotFound:
            return None

    def list_objects(
        self,
        resource: Resource,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every item, page by page (limit 500, continue)."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = list_query(500, field_selector=field_selector, label_selector=label_selector, token=token)
            page = self._call("GET", resource.path(namespace), resource, query=query)
            for item in page.get("items") or []:
                items.append(item)
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def create(
        self, resource: Resource, namespace: str, obj: Mapping[str, Any], dry_run: bool = False
    ) -> dict[str, Any]:
        return self._call("POST", resource.path(namespace), resource, body=dict(obj), dry_run=dry_run)

    def replace(
        self, resource: Resource, namespace: str, obj: Mapping[str, Any], dry_run: bool = False
    ) -> dict[str, Any]:
        """PUT; ``obj.metadata.resourceVersion`` is the precondition (409 Conflict when stale)."""
        name = obj["metadata"]["name"]
        if not obj["metadata"].get("resourceVersion"):
            raise ValueError("an update without resourceVersion would overwrite blindly")
        return self._call("PUT", resource.path(namespace, name), resource, body=dict(obj), dry_run=dry_run)

    def json_patch(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        operations: list[dict[str, Any]],
        dry_run: bool = False,
    ) -> dict[str, Any]:
        return self._call(
            "PATCH",
            resource.path(namespace, name),
            resource,
            body=operations,
            content_type=JSON_PATCH,
            dry_run=dry_run,
        )

    def update(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
        dry_run: bool = False,
        first: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Read, ``change`` (None: nothing to do), PUT with the read resourceVersion; on 409 read again.

        Returns (the object as stored or as the dry run would store it, whether it was written).
        ``change`` may raise ``ChangeAborted`` when the object it sees no longer fits.
        """
        current = first if first is not None else self.get(resource, namespace, name)
        for attempt in range(_MAX_CONFLICT_RETRIES + 1):
            wanted = change(current)
            if wanted is None:
                return current, False
            try:
                return self.replace(resource, namespace, wanted, dry_run=dry_run), True
            except Conflict:
                self.stats.conflicts += 1
                if attempt == _MAX_CONFLICT_RETRIES:
                    raise
                time.sleep(min(0.05 * 2**attempt, 1.0))
                current = self.get(resource, namespace, name)
        raise AssertionError("unreachable")

    # -- transport -------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        resource: Resource,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        dry_run: bool = False,
    ) -> dict[str, Any]:
        query = list(query or [])
        if dry_run:
            query.append(("dryRun", "All"))
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        self.stats.requests += 1
        self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
        try:
            answer = send(
                self.name,
                self._client,
                method,
                path,
                query=query,
                headers=headers,
                body=body,
                timeout=self._timeout,
            )
            status, data = answer.status, answer.read()
        except NoAnswer as lost:
            raise self._lost(method, path, lost.reason) from None
        except ClusterAuthError as error:  # the client's message may quote what it was given
            raise ClusterAuthError(self._scrub(str(error))) from None
        if status >= 400:
            raise self._error(method, path, resource, status, data)
        try:
            document = json.loads(data)
        except ValueError:
            raise ClusterError(
                f"cluster '{self.name}': the API server sent a response that is not JSON for {path}"
            ) from None
        if not isinstance(document, dict):
            raise ClusterError(f"cluster '{self.name}': unexpected answer for {path}")
        return document

    def _lost(self, method: str, path: str, reason: str) -> ClusterError:
        if method == "GET":
            return unreachable(self.name, self.server, reason)
        return WriteUnknown(
            f"cluster '{self.name}': the API server at {self.server} did not answer {method} {path}: "
            "the write may or may not have been applied"
        )

    def _error(self, method: str, path: str, resource: Resource, status: int, data: bytes) -> ClusterError:
        message, reason = "", ""
        try:
            document = json.loads(data)
            if isinstance(document, Mapping):
                message, reason = str(document.get("message") or "")[:300], str(document.get("reason") or "")
        except ValueError:
            pass
        message = self._scrub(message)
        where = f"cluster '{self.name}': {method} {path}"
        if status == 409 and reason == "AlreadyExists":
            return AlreadyExists(f"{where}: {message or 'already exists'}")
        if status == 409:
            return Conflict(f"{where}: {message or '409 Conflict'}")
        if status == 422:
            return Invalid(f"{where}: rejected (422): {message}")
        if status == 403 and method != "GET":
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
            namespace = path.split("/namespaces/", 1)[1].split("/", 1)[0] if "/namespaces/" in path else None
            return ClusterForbidden(self.name, verb, resource, namespace, message or "403 Forbidden")
        error = status_error(self.name, self.server, status, json.dumps({"message": message}).encode(), path)
        return error

    def _scrub(self, text: str) -> str:
        for value in self._hidden:
            text = text.replace(value, "<hidden>")
        return text
