"""Real registries on 127.0.0.1 for the integration tests: Debian's docker-registry (distribution 2.8).

- a CA, and server certificates for 127.0.0.1/localhost signed by it;
- ``basic``: htpasswd (bcrypt) auth;
- ``token``: token auth; the token server (written here, in a thread) signs RS256
  JWTs with a certificate from ``auth.token.rootcertbundle``, carried in the
  ``x5c`` header (distribution's token.go: iss, aud, nbf <= now <= exp, ``access``);
- ``open``: no auth.

A tiny real image (config + layer blobs, OCI manifest) is pushed through each
registry's own upload API, so HEAD returns a real digest.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import bcrypt
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

REGISTRY_BINARY = "/usr/bin/docker-registry"
SERVICE = "pullguard-test-registry"
ISSUER = "pullguard-test-token-issuer"

# user -> password; the token server's ACL below
USERS = {
    "alice": "alice-secret-pw-1",  # pull everything
    "bob": "bob-secret-pw-2",  # pull team/* only
    "pusher": "pusher-secret-pw-3",  # push and pull everything
}
REFRESH_TOKENS = {"refresh-token-for-alice-8f3a": "alice"}


def can(user: str | None, repository: str, action: str) -> bool:
    if user == "pusher":
        return True
    if action != "pull":
        return False
    if user == "alice":
        return True
    if user == "bob":
        return repository.startswith("team/")
    return repository.startswith("public/")  # anonymous


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------
# certificates


@dataclass
class Pki:
    directory: Path
    dns_names: tuple[str, ...] = ()  # more names for the server certificate (besides localhost, 127.0.0.1)
    ca_pem: Path = field(init=False)
    server_cert: Path = field(init=False)
    server_key: Path = field(init=False)
    signing_cert_pem: Path = field(init=False)
    signing_key: rsa.RSAPrivateKey = field(init=False)
    signing_cert_der: bytes = field(init=False)

    def __post_init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pullguard test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        import ipaddress

        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        *(x509.DNSName(name) for name in self.dns_names),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signing_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pullguard test token signer")])
        signing = (
            x509.CertificateBuilder()
            .subject_name(signing_name)
            .issuer_name(signing_name)
            .public_key(self.signing_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .sign(self.signing_key, hashes.SHA256())
        )
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        self.ca_pem = d / "ca.pem"
        self.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.server_cert = d / "server.pem"
        self.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
        self.server_key = d / "server.key"
        self.server_key.write_bytes(
            server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        self.signing_cert_pem = d / "token-signing.pem"
        self.signing_cert_pem.write_bytes(signing.public_bytes(serialization.Encoding.PEM))
        self.signing_cert_der = signing.public_bytes(serialization.Encoding.DER)
        # skopeo: --cert-dir holds *.crt CA files
        cert_dir = d / "certs.d"
        cert_dir.mkdir(exist_ok=True)
        shutil.copy(self.ca_pem, cert_dir / "ca.crt")

    @property
    def cert_dir(self) -> Path:
        return self.directory / "certs.d"

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        return context


# ---------------------------------------------------------------------------
# the token server


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(pki: Pki, claims: dict[str, object]) -> str:
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(pki.signing_cert_der).decode("ascii")]}
    signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
    signature = pki.signing_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64url(signature)


class TokenServer:
    """An HTTPS token service: Basic credentials or a refresh token in, a signed JWT out."""

    def __init__(
        self,
        pki: Pki,
        lifetime: int = 300,
        users: dict[str, str] | None = None,
        acl: Callable[[str | None, str, str], bool] = can,
    ) -> None:
        self.pki = pki
        self.lifetime = lifetime
        self.users = USERS if users is None else users
        self.acl = acl
        self.requests = 0
        self.log: list[tuple[str | None, tuple[str, ...]]] = []
        self.port = free_port()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                user = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    try:
                        name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    except ValueError:
                        name, password = "", ""
                    if server.users.get(name) != password:
                        self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
                        return
                    user = name
                self._token(user, query.get("scope", []), query.get("service", [""])[0])

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                user = REFRESH_TOKENS.get(form.get("refresh_token", [""])[0])
                if form.get("grant_type") != ["refresh_token"] or user is None:
                    self._send(401, {"error": "invalid_grant"})
                    return
                self._token(user, form.get("scope", []), form.get("service", [""])[0])

            def _token(self, user: str | None, scopes: list[str], service: str) -> None:
                server.requests += 1
                server.log.append((user, tuple(scopes)))
                access = []
                for scope in " ".join(scopes).split():
                    kind, _, rest = scope.partition(":")
                    name, _, actions = rest.rpartition(":")
                    granted = [a for a in actions.split(",") if server.acl(user, name, a)]
                    access.append({"type": kind, "name": name, "actions": granted})
                now = int(time.time())
                claims = {
                    "iss": ISSUER,
                    "sub": user or "",
                    "aud": service,
                    "exp": now + server.lifetime,
                    "nbf": now - 5,
                    "iat": now,
                    "jti": uuid.uuid4().hex,
                    "access": access,
                }
                token = sign_jwt(server.pki, claims)
                self._send(200, {"token": token, "access_token": token, "expires_in": server.lifetime})

            def _send(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = pki.server_context().wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"https://127.0.0.1:{self.port}/token"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------
# registry processes


class Registry:
    def __init__(self, name: str, directory: Path, pki: Pki, auth: dict[str, object] | None) -> None:
        self.name = name
        self.port = free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(directory / "data")}},
            "http": {
                "addr": f"127.0.0.1:{self.port}",
                "secret": uuid.uuid4().hex,
                "tls": {"certificate": str(pki.server_cert), "key": str(pki.server_key)},
            },
        }
        if auth:
            config["auth"] = auth
        config_path = directory / "config.yml"
        config_path.write_text(json.dumps(config))  # JSON is YAML
        self.log = (directory / "registry.log").open("wb")
        self.process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(config_path)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.pki = pki
        self._wait_ready()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"registry {self.name} exited: {(self.directory / 'registry.log').read_text()[-2000:]}"
                )
            try:
                with httpx.Client(
                    verify=ssl.create_default_context(cafile=str(self.pki.ca_pem)),
                    timeout=1.0,
                    trust_env=False,
                ) as client:
                    client.get(f"https://{self.host}/v2/")
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"registry {self.name} did not start within {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def tiny_image(label: str) -> tuple[bytes, bytes]:
    """(config blob, gzipped tar layer) of a real, minimal image."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        data = f"hello from {label}\n".encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    layer_tar = tar_bytes.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/hello.txt"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
        }
    ).encode()
    return config, layer


def push_image(
    registry: Registry,
    repository: str,
    tag: str,
    authorization: str | None,
    label: str = "",
    more_tags: tuple[str, ...] = (),
) -> str:
    """Push through the registry's upload API; returns the manifest digest (also tagged ``more_tags``)."""
    config, layer = tiny_image(label or f"{repository}:{tag}")
    headers = {"Authorization": authorization} if authorization else {}
    base = f"https://{registry.host}"
    with httpx.Client(
        verify=ssl.create_default_context(cafile=str(registry.pki.ca_pem)),
        timeout=10.0,
        headers=headers,
        trust_env=False,
    ) as client:
        descriptors = []
        for blob, media in (
            (config, "application/vnd.oci.image.config.v1+json"),
            (layer, "application/vnd.oci.image.layer.v1.tar+gzip"),
        ):
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            started = client.post(f"{base}/v2/{repository}/blobs/uploads/")
            assert started.status_code == 202, (started.status_code, started.text)
            location = httpx.URL(base).join(started.headers["location"])
            done = client.put(
                location.copy_merge_params({"digest": digest}),
                content=blob,
                headers={"Content-Type": "application/octet-stream"},
            )
            assert done.status_code == 201, (done.status_code, done.text)
            descriptors.append({"mediaType": media, "digest": digest, "size": len(blob)})
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": descriptors[0],
                "layers": descriptors[1:],
            }
        ).encode()
        for name in (tag, *more_tags):
            put = client.put(
                f"{base}/v2/{repository}/manifests/{name}",
                content=manifest,
                headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
            )
            assert put.status_code == 201, (put.status_code, put.text)
        return "sha256:" + hashlib.sha256(manifest).hexdigest()


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Environment:
    pki: Pki
    token_server: TokenServer
    basic: Registry
    token: Registry
    open: Registry
    digests: dict[str, str]  # "registry-name/repo:tag" -> digest

    def stop(self) -> None:
        for registry in (self.basic, self.token, self.open):
            registry.stop()
        self.token_server.stop()


IMAGES = {
    "basic": ["team/app:1.0", "secret/app:1.0"],
    "token": ["team/app:1.0", "secret/app:1.0", "public/tool:2.0"],
    "open": ["library/hello:1.0", "team/app:1.0"],
}


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    """An htpasswd file (bcrypt, as distribution requires) for these users."""
    path.write_text(
        "".join(
            f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()}\n"
            for user, password in users.items()
        )
    )
    return path


def start_environment(directory: Path) -> Environment:
    pki = Pki(directory / "pki")
    token_server = TokenServer(pki)
    htpasswd = write_htpasswd(directory / "htpasswd", USERS)
    started: list[Registry] = []
    try:
        basic = Registry(
            "basic",
            directory / "basic",
            pki,
            {"htpasswd": {"realm": "pullguard-basic", "path": str(htpasswd)}},
        )
        started.append(basic)
        token = Registry(
            "token",
            directory / "token",
            pki,
            {
                "token": {
                    "realm": token_server.realm,
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(pki.signing_cert_pem),
                }
            },
        )
        started.append(token)
        open_registry = Registry("open", directory / "open", pki, None)
        started.append(open_registry)
    except BaseException:
        for registry in started:
            registry.stop()
        token_server.stop()
        raise
    env = Environment(pki, token_server, basic, token, open_registry, {})
    try:
        for name, images in IMAGES.items():
            registry = getattr(env, name)
            for image in images:
                repository, tag = image.split(":")
                if name == "basic":
                    auth: str | None = basic_header("pusher", USERS["pusher"])
                elif name == "token":
                    auth = "Bearer " + push_token(env, repository)
                else:
                    auth = None
                env.digests[f"{name}/{image}"] = push_image(registry, repository, tag, auth)
    except BaseException:
        env.stop()
        raise
    return env


def push_token(env: Environment, repository: str) -> str:
    with httpx.Client(
        verify=ssl.create_default_context(cafile=str(env.pki.ca_pem)), timeout=10.0, trust_env=False
    ) as client:
        response = client.get(
            env.token_server.realm,
            params={"service": SERVICE, "scope": f"repository:{repository}:pull,push"},
            headers={"Authorization": basic_header("pusher", USERS["pusher"])},
        )
        response.raise_for_status()
        return str(response.json()["token"])


def binaries_missing() -> list[str]:
    return [b for b in (REGISTRY_BINARY, "skopeo") if shutil.which(b) is None]


def clean_env() -> Iterator[None]:
    """No proxy for loopback tests; restored afterwards."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.lower().endswith("_proxy")}
    try:
        yield
    finally:
        os.environ.update(saved)


def skopeo_can_pull(authfile: Path, auths: dict[str, object], cert_dir: Path, image: str) -> bool:
    """skopeo's answer, the oracle for "can these credentials pull this image": writes `auths`
    as a docker auth file and inspects the manifest (no layer is downloaded)."""
    authfile.write_text(json.dumps({"auths": auths}))
    done = subprocess.run(
        [
            "skopeo",
            "inspect",
            "--raw",
            "--authfile",
            str(authfile),
            "--cert-dir",
            str(cert_dir),
            f"docker://{image}",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0
