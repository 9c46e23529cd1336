"""Misbehaving servers on 127.0.0.1: the run ends within its bound and says what went wrong.

These are tiny socket servers, not registries: each plays one failure (silent,
slow drip, endless body, redirect loop, token realm on a silent host, 429).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from integration import manifests as m
from pullguard.registry.client import ClientOptions
from pullguard.registry.outcome import OutcomeKind
from pullguard.registry.verify import ImageVerdict, VerifyOptions, verify
from pullguard.scan import ScanOptions, scan_paths

Handler = Callable[[socket.socket, threading.Event], None]


class Server:
    """Accepts on 127.0.0.1 and runs ``handler`` per connection in a thread, until stopped."""

    def __init__(self, handler: Handler) -> None:
        self.stop_event = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self.handler = handler
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self.stop_event.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self.handler(conn, self.stop_event)

    def stop(self) -> None:
        self.stop_event.set()
        self.sock.close()
        self.thread.join(timeout=5)


def _read_request(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def silent(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(60)  # accept, never answer (not even the TLS handshake)


def slow_drip(conn: socket.socket, stop: threading.Event) -> None:
    _read_request(conn)
    for byte in b"HTTP/1.1 200 OK\r\nX-Drip: " + b"a" * 10000:
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.05)


def endless_token_body(conn: socket.socket, stop: threading.Event) -> None:
    """GET /v2/ → Bearer challenge pointing at ourselves; the token answer never ends."""
    while not stop.is_set():
        request = _read_request(conn)
        if not request:
            return
        port = conn.getsockname()[1]
        if request.startswith(b"GET /v2/ "):
            conn.sendall(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                + f'WWW-Authenticate: Bearer realm="http://127.0.0.1:{port}/token",service="s"\r\n\r\n'.encode()
            )
            continue
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"token": "')
        while not stop.is_set():
            conn.sendall(b"x" * 65536)


def redirect_loop(conn: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        if not _read_request(conn):
            return
        conn.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /v2/\r\nContent-Length: 0\r\n\r\n")


def rate_limited(conn: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        request = _read_request(conn)
        if not request:
            return
        if request.startswith(b"GET /v2/ "):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        else:
            conn.sendall(
                b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nRetry-After: 0\r\n"
                b"RateLimit-Limit: 100;w=21600\r\nRateLimit-Remaining: 0;w=21600\r\n\r\n"
            )


def realm_elsewhere(silent_port: int) -> Handler:
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            if not _read_request(conn):
                return
            conn.sendall(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                + f'WWW-Authenticate: Bearer realm="http://127.0.0.1:{silent_port}/token",service="s"\r\n\r\n'.encode()
            )

    return handler


@pytest.fixture
def server() -> Iterator[Callable[[Handler], Server]]:
    started: list[Server] = []

    def start(handler: Handler) -> Server:
        started.append(Server(handler))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def _verify(
    tmp_path: Path, images: list[str], plain: list[str], timeout: float, deadline: float
) -> tuple[list[ImageVerdict], float]:
    path = m.write(tmp_path / "w.yaml", [], [m.Workload(f"w{i}", image) for i, image in enumerate(images)])
    options = VerifyOptions(
        client=ClientOptions(request_timeout=timeout, connect_timeout=timeout, plain_http=frozenset(plain)),
        deadline=deadline,
    )
    started = time.monotonic()
    result = verify(scan_paths([str(path)], ScanOptions()), options)
    return result.verdicts, time.monotonic() - started


def test_silent_server_ends_within_the_request_bound(
    no_proxy: None, server: Callable[[Handler], Server], tmp_path: Path
) -> None:
    s = server(silent)
    images = [f"{s.host}/team/app{i}:1.0" for i in range(50)]
    verdicts, elapsed = _verify(tmp_path, images, [], timeout=1.0, deadline=30)
    assert elapsed < 4, elapsed  # one ping times out; every image shares that answer
    assert {v.outcome.kind for v in verdicts} == {OutcomeKind.UNREACHABLE}
    assert (
        "did not answer within 1s" in verdicts[0].outcome.detail
        or "no connection" in verdicts[0].outcome.detail
    )


def test_run_deadline_bounds_everything(
    no_proxy: None, server: Callable[[Handler], Server], tmp_path: Path
) -> None:
    s = server(silent)
    verdicts, elapsed = _verify(tmp_path, [f"{s.host}/a:1"], [], timeout=30.0, deadline=1.5)
    assert elapsed < 4, elapsed
    assert verdicts[0].outcome.kind is OutcomeKind.UNREACHABLE
    assert "run deadline" in verdicts[0].outcome.detail


def test_slow_drip_cannot_hold_a_request(
    no_proxy: None, server: Callable[[Handler], Server], tmp_path: Path
) -> None:
    s = server(slow_drip)
    verdicts, elapsed = _verify(tmp_path, [f"{s.host}/a:1"], [s.host], timeout=1.0, deadline=30)
    assert elapsed < 4, elapsed
    assert verdicts[0].outcome.kind is OutcomeKind.UNREACHABLE
    assert "request deadline" in verdicts[0].outcome.detail


def test_endless_token_body_is_cut(
    no_proxy: None, server: Callable[[Handler], Server], tmp_path: Path
) -> None:
    s = server(endless_token_body)
    verdicts, elapsed = _verify(tmp_path, [f"{s.host}/a:1"], [s.host], timeout=5.0, deadline=30)
    assert elapsed < 6, elapsed
    assert verdicts[0].outcome.kind is OutcomeKind.REGISTRY_ERROR
    assert "larger than" in verdicts[0].outcome.detail


def test_redirect_loop(no_proxy: None, server: Callable[[Handler], Server], tmp_path: Path) -> None:
    s = server(redirect_loop)
    verdicts, elapsed = _verify(tmp_path, [f"{s.host}/a:1"], [s.host], timeout=2.0, deadline=30)
    assert elapsed < 4, elapsed
    assert verdicts[0].outcome.kind is OutcomeKind.REGISTRY_ERROR
    assert "redirect" in verdicts[0].outcome.detail


def test_token_realm_on_a_silent_host(
    no_proxy: None, server: Callable[[Handler], Server], tmp_path: Path
) -> None:
    quiet = server(silent)
    s = server(realm_elsewhere(quiet.port))
    verdicts, elapsed = _verify(
        tmp_path, [f"{s.host}/a{i}:1" for i in range(3)], [s.host], timeout=1.0, deadline=30
    )
    assert elapsed < 5, elapsed
    assert {v.outcome.kind for v in verdicts} == {OutcomeKind.UNREACHABLE}
    assert str(quiet.port) in verdicts[0].outcome.detail


def test_rate_limited_with_figures_after_retries(
    no_proxy: None, server: Callable[[Handler], Server], tmp_path: Path
) -> None:
    s = server(rate_limited)
    verdicts, _ = _verify(tmp_path, [f"{s.host}/a:1"], [s.host], timeout=2.0, deadline=30)
    outcome = verdicts[0].outcome
    assert outcome.kind is OutcomeKind.RATE_LIMITED
    assert outcome.rate_limit is not None and outcome.rate_limit.remaining == "0;w=21600"
    assert "limit 100;w=21600" in outcome.detail


def test_tls_handshake_with_plain_http_server(
    no_proxy: None, server: Callable[[Handler], Server], tmp_path: Path
) -> None:
    def plain(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(4096)  # a TLS ClientHello; answer in plain HTTP
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    s = server(plain)
    verdicts, _ = _verify(tmp_path, [f"{s.host}/a:1"], [], timeout=2.0, deadline=30)
    assert verdicts[0].outcome.kind is OutcomeKind.TLS_ERROR
