"""The few API calls `serve` makes, through the cluster source's `send` (the official
client's authenticated connection pool).

`get` and `request` answer parsed JSON, read bounded in bytes (errors as the cluster
source's typed errors); `watch` streams a watch response line by line (one JSON event
per line, chunked transfer encoding) without reading it whole.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from collections.abc import Iterator
from typing import Any

from pullguard.errors import ClusterError
from pullguard.sources.cluster import (
    Answer,
    ClusterResponseError,
    ClusterUnreachable,
    Connection,
    KubernetesTransport,
    NoAnswer,
    send,
    status_error,
    unreachable,
)

MAX_EVENT_BYTES = (
    8 * 1024 * 1024
)  # one watch event (an object): the API server's own limit is ~1.5 MiB per object


class KubeClient:
    """GET, PATCH and watch streams for one cluster connection."""

    def __init__(
        self, connection: Connection, connect_timeout: float = 5.0, read_timeout: float = 30.0
    ) -> None:
        transport = connection.transport
        if not isinstance(transport, KubernetesTransport):
            raise TypeError("serve needs a kubeconfig or in-cluster connection")
        self.name = connection.name
        self.namespace = connection.namespace
        self.server = transport.server
        # one pooled connection per open watch (about 20) plus requests: a larger pool than the client's default 10
        from kubernetes import client as kube_client

        configuration = copy.copy(transport.api_client.configuration)
        configuration.connection_pool_maxsize = 64
        self._api = kube_client.ApiClient(configuration=configuration)
        self._timeouts = (connect_timeout, read_timeout)
        self._open: set[Any] = set()
        self._lock = threading.Lock()
        self.requests = 0

    def get(
        self, path: str, query: list[tuple[str, str]] | None = None, accept: str = "application/json"
    ) -> Any:
        _status, document = self.request("GET", path, query, accept=accept)
        return document

    def request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        *,
        body: str | dict[str, Any] | None = None,  # a dict for JSON, text for other content types
        content_type: str | None = None,
        accept: str = "application/json",
        allow: tuple[int, ...] = (),
    ) -> tuple[int, Any]:
        """(status, JSON); statuses >= 400 raise unless listed in `allow` (then the Status document is returned)."""
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        answer = self._call(method, path, query, headers, body, self._timeouts)
        try:
            status, data = answer.status, answer.read()
        except NoAnswer as lost:
            raise self._unreachable(lost) from None
        if status >= 400 and status not in allow:
            raise status_error(self.name, self.server, status, data, path)
        try:
            return status, json.loads(data) if data else {}
        except ValueError:
            raise ClusterError(
                f"cluster '{self.name}': the API server sent a response that is not JSON for {path}"
            ) from None

    def watch(
        self, path: str, query: list[tuple[str, str]], accept: str, timeout: float
    ) -> Iterator[dict[str, Any]]:
        """The events of one watch request, until the server ends it, `close_all()` or `timeout` seconds idle."""
        answer = self._call("GET", path, query, {"Accept": accept}, None, (self._timeouts[0], timeout))
        response = answer.response
        if answer.status >= 400 or response is None:
            try:
                data = answer.read()
            except (NoAnswer, ClusterResponseError):
                data = b""
            raise status_error(self.name, self.server, answer.status, data, path)
        with self._lock:
            self._open.add(response)
        buffer = b""
        try:
            for chunk in response.stream(65536, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield _event(line, self.name)
                if len(buffer) > MAX_EVENT_BYTES:
                    raise ClusterError(
                        f"cluster '{self.name}': a watch event of {path} is larger than {MAX_EVENT_BYTES} bytes"
                    )
            if buffer.strip():
                yield _event(buffer, self.name)
        except ClusterError:
            raise
        except Exception as error:  # a read timeout or a connection closed under us
            raise ClusterUnreachable(
                f"cluster '{self.name}': the watch of {path} ended: {type(error).__name__}"
            ) from None
        finally:
            with self._lock:
                self._open.discard(response)
            response.release_conn()

    def close_all(self) -> None:
        """End every open watch stream (graceful shutdown)."""
        with self._lock:
            responses = list(self._open)
        for response in responses:
            try:
                response.shutdown()
            except Exception:
                with contextlib.suppress(Exception):
                    response.close()

    def _call(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None,
        headers: dict[str, str],
        body: str | dict[str, Any] | None,
        timeout: tuple[float, float],
    ) -> Answer:
        self.requests += 1
        try:
            return send(
                self.name, self._api, method, path, query=query, headers=headers, body=body, timeout=timeout
            )
        except NoAnswer as lost:
            raise self._unreachable(lost) from None

    def _unreachable(self, lost: NoAnswer) -> ClusterUnreachable:
        return unreachable(self.name, self.server, lost.reason)


def _event(line: bytes, cluster: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        raise ClusterError(f"cluster '{cluster}': a watch event is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
        raise ClusterError(f"cluster '{cluster}': a watch event has no object")
    return event
