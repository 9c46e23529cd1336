"""Hostile registries on 127.0.0.1: one costs its own images' verdicts, never the run, and never
gets a credential it was not meant to have.

Tiny HTTP/1.1 servers (sockets, threads), each playing one hostile answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from integration import manifests as m
from pullguard.registry.client import ClientOptions
from pullguard.registry.credentials import DockerConfigKeyring, NodeKeyring
from pullguard.registry.outcome import OutcomeKind
from pullguard.registry.verify import VerifyOptions, probe_unknown, verify
from pullguard.scan import ScanOptions, scan_paths

Route = Callable[[str, str, dict[str, str], bytes, int], bytes]
"""(method, path, headers, body, own port) -> the raw HTTP answer."""

DIGEST = "sha256:" + "0" * 64


class HttpServer:
    def __init__(self, route: Route) -> None:
        self.route = route
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buffer = b""
        with conn, contextlib.suppress(OSError):
            while not self.stopped.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                self.requests.append((method, path, headers, body))
                conn.sendall(self.route(method, path, headers, body, self.port))

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()
        self.thread.join(timeout=5)


def answer(status: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def fine_registry(method: str, path: str, headers: dict[str, str], body: bytes, port: int) -> bytes:
    if path == "/v2/":
        return answer("200 OK")
    return answer(
        "200 OK",
        {"Docker-Content-Digest": DIGEST, "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )


def bad_realm(realm: str) -> Route:
    def route(method: str, path: str, headers: dict[str, str], body: bytes, port: int) -> bytes:
        return answer("401 Unauthorized", {"WWW-Authenticate": f'Bearer realm="{realm}",service="s"'})

    return route


@pytest.fixture
def servers() -> Iterator[Callable[[Route], HttpServer]]:
    started: list[HttpServer] = []

    def start(route: Route) -> HttpServer:
        started.append(HttpServer(route))
        return started[-1]

    yield start
    for server in started:
        server.stop()


BAD_REALMS = ("https://xn--/t", "https://[::1/t", "https://127.0.0.1:99999/t", "http://127.0.0.1:0x/t", "")


@pytest.mark.parametrize("realm", BAD_REALMS)
def test_an_invalid_token_realm_costs_its_images_only(
    no_proxy: None, servers: Callable[[Route], HttpServer], tmp_path: Path, realm: str
) -> None:
    hostile, fine = servers(bad_realm(realm)), servers(fine_registry)
    path = m.write(
        tmp_path / "w.yaml",
        [],
        [m.Workload("bad", f"{hostile.host}/a:1"), m.Workload("ok", f"{fine.host}/b:1")],
    )
    options = VerifyOptions(
        client=ClientOptions(
            request_timeout=3, connect_timeout=3, plain_http=frozenset({hostile.host, fine.host})
        ),
        deadline=20,
    )
    result = verify(scan_paths([str(path)], ScanOptions()), options)
    kinds = {v.judgement.use.image: v.outcome.kind for v in result.verdicts}
    assert kinds == {f"{hostile.host}/a:1": OutcomeKind.REGISTRY_ERROR, f"{fine.host}/b:1": OutcomeKind.OK}
    bad = next(v for v in result.verdicts if v.judgement.use.image.startswith(hostile.host))
    assert "token realm" in bad.outcome.detail or "challenge" in bad.outcome.detail


@pytest.mark.parametrize("realm", BAD_REALMS)
def test_scan_probe_survives_an_invalid_token_realm(
    no_proxy: None, servers: Callable[[Route], HttpServer], tmp_path: Path, realm: str
) -> None:
    hostile, fine = servers(bad_realm(realm)), servers(fine_registry)
    path = m.write(
        tmp_path / "w.yaml",
        [],
        [m.Workload("bad", f"{hostile.host}/a:1"), m.Workload("ok", f"{fine.host}/b:1")],
    )
    client = ClientOptions(
        request_timeout=3, connect_timeout=3, plain_http=frozenset({hostile.host, fine.host})
    )
    public, private = probe_unknown(scan_paths([str(path)], ScanOptions()), client)
    assert public == (f"{fine.host}/b",) and private == ()


def _identity_token_config(tmp_path: Path, host: str, token: str) -> NodeKeyring:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {host: {"identitytoken": token}}}))
    node = NodeKeyring()
    node.docker_configs.append(DockerConfigKeyring.load(str(config)))
    return node


TOKEN = "idtok-CANARY-7f3a9c"  # a canary, not a credential


@pytest.mark.parametrize("status", ["307 Temporary Redirect", "308 Permanent Redirect"])
def test_an_identity_token_never_follows_a_redirect_to_another_origin(
    no_proxy: None, servers: Callable[[Route], HttpServer], tmp_path: Path, status: str
) -> None:
    """The token realm answers the refresh-token POST with 307/308 to another host:port. A 307/308
    re-sends the body: the identity token must not go there."""
    elsewhere = servers(lambda method, path, headers, body, port: answer("200 OK", body=b'{"token":"t"}'))

    def registry(method: str, path: str, headers: dict[str, str], body: bytes, port: int) -> bytes:
        if path == "/v2/":
            return answer(
                "401 Unauthorized",
                {"WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{port}/token",service="s"'},
            )
        if path.startswith("/token"):
            return answer(status, {"Location": f"http://{elsewhere.host}/steal"})
        return answer("401 Unauthorized")

    hostile = servers(registry)
    path = m.write(tmp_path / "w.yaml", [], [m.Workload("w", f"{hostile.host}/a:1")])
    options = VerifyOptions(
        client=ClientOptions(request_timeout=3, connect_timeout=3, plain_http=frozenset({hostile.host})),
        deadline=20,
        node=_identity_token_config(tmp_path, hostile.host, TOKEN),
    )
    result = verify(scan_paths([str(path)], ScanOptions()), options)
    assert any(TOKEN.encode() in body for _, _, _, body in hostile.requests)  # it was sent to its realm
    # (an anonymous token request, with no credential, may follow the redirect)
    assert not [r for r in elsewhere.requests if TOKEN.encode() in r[3] or "authorization" in r[2]]
    assert result.verdicts[0].outcome.kind is OutcomeKind.REGISTRY_ERROR
    assert "another origin" in result.verdicts[0].outcome.detail


def test_an_identity_token_follows_a_redirect_within_its_origin(
    no_proxy: None, servers: Callable[[Route], HttpServer], tmp_path: Path
) -> None:
    def registry(method: str, path: str, headers: dict[str, str], body: bytes, port: int) -> bytes:
        if path == "/v2/":
            return answer(
                "401 Unauthorized",
                {"WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{port}/token",service="s"'},
            )
        if path.startswith("/token"):
            return answer("307 Temporary Redirect", {"Location": "/oauth2/token"})
        if path.startswith("/oauth2/token") and TOKEN.encode() in body:
            return answer(
                "200 OK", {"Content-Type": "application/json"}, b'{"access_token":"abc","expires_in":300}'
            )
        if headers.get("authorization") == "Bearer abc":
            return answer("200 OK", {"Docker-Content-Digest": DIGEST})
        return answer("401 Unauthorized")

    hostile = servers(registry)
    path = m.write(tmp_path / "w.yaml", [], [m.Workload("w", f"{hostile.host}/a:1")])
    options = VerifyOptions(
        client=ClientOptions(request_timeout=3, connect_timeout=3, plain_http=frozenset({hostile.host})),
        deadline=20,
        node=_identity_token_config(tmp_path, hostile.host, TOKEN),
    )
    result = verify(scan_paths([str(path)], ScanOptions()), options)
    assert result.verdicts[0].outcome.kind is OutcomeKind.OK, result.verdicts[0].outcome.detail


def test_registry_headers_never_reach_the_terminal_raw(
    no_proxy: None, servers: Callable[[Route], HttpServer], tmp_path: Path
) -> None:
    """Header values are bytes the registry chooses: C1 controls (0x9b is CSI) and bidi overrides in
    RateLimit and Content-Type must not reach the terminal, in the text report or in a pipe."""
    import subprocess
    import sys

    hostile_value = "100;w=21600\x9b2J\x9b]0;owned\u202e"

    def registry(method: str, path: str, headers: dict[str, str], body: bytes, port: int) -> bytes:
        if path == "/v2/":
            return answer("200 OK", {"Content-Type": "text/html\x9b31m"})
        head = (
            "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nRetry-After: 0\r\n"
            f"RateLimit-Limit: {hostile_value}\r\nRateLimit-Remaining: 0\r\n\r\n"
        )
        return head.encode("latin-1", "replace") if "\u202e" not in head else head.encode("utf-8")

    hostile = servers(registry)
    path = m.write(tmp_path / "w.yaml", [], [m.Workload("w", f"{hostile.host}/a:1")])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pullguard",
            "verify",
            str(path),
            "--plain-http",
            hostile.host,
            "--timeout",
            "3",
            "--deadline",
            "20",
            "--color",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    output = result.stdout.decode("utf-8")
    assert "rate-limited" in output, output
    for raw in ("\x9b", "\u202e", "\u00c2\u009b"):
        assert raw not in output
    assert "\\x9b2J" in output or "\\xc2\\x9b2J" in output  # shown, as a visible escape


def test_basic_credentials_never_follow_a_token_redirect_elsewhere(
    no_proxy: None, servers: Callable[[Route], HttpServer], tmp_path: Path
) -> None:
    """A pull secret's Basic credentials go to the token realm; its redirect to another origin
    (here another port) gets no Authorization header (httpx drops it; kept as a regression test)."""
    elsewhere = servers(lambda method, path, headers, body, port: answer("200 OK", body=b'{"token":"t"}'))

    def registry(method: str, path: str, headers: dict[str, str], body: bytes, port: int) -> bytes:
        if path == "/v2/":
            return answer(
                "401 Unauthorized",
                {"WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{port}/token",service="s"'},
            )
        if path.startswith("/token"):
            return answer("307 Temporary Redirect", {"Location": f"http://{elsewhere.host}/steal"})
        return answer("401 Unauthorized")

    hostile = servers(registry)
    secret = m.secret("creds", {hostile.host: ("robot", TOKEN)})
    path = m.write(tmp_path / "w.yaml", [secret], [m.Workload("w", f"{hostile.host}/a:1", ("creds",))])
    options = VerifyOptions(
        client=ClientOptions(request_timeout=3, connect_timeout=3, plain_http=frozenset({hostile.host})),
        deadline=20,
    )
    verify(scan_paths([str(path)], ScanOptions()), options)
    assert any("authorization" in h for _, p, h, _ in hostile.requests if p.startswith("/token"))
    assert not [r for r in elsewhere.requests if "authorization" in r[2] or TOKEN.encode() in r[3]]
