"""Real registries that serve the hosts the shipped ``examples/`` name, for `pullguard verify examples/`.

Three docker-registry processes on 127.0.0.1, one certificate (from a test CA)
whose SANs hold every example host, and ``--connect-to`` routes from each example
host to the process that plays it:

- ``private`` (htpasswd): every other registry the examples name (registry.example.com,
  registry.example.com:5000, build.corp.example, myregistry.azurecr.io, the ECR
  hosts, quay.io, ...);
- ``hub`` (token auth, like Docker Hub): registry-1.docker.io, with its token
  realm at auth.docker.io (also rerouted); anonymous pulls of ``library/*``, each
  user pulls its own namespace (``acme`` → ``acme/*``);
- ``public`` (open): registry.k8s.io, ghcr.io, open.example.

The users are exactly the credentials of the examples' secrets (decoded from
them, including the Opaque one the kubelet ignores), plus a pusher with a random
password. Every image the examples name is pushed, so each failure the table
shows is a credential problem, not a missing image.

``python -m integration.examples_env`` (from ``tests/``; `make verify-demo`)
starts them, prints the command and the real output of `pullguard verify
examples/`, and stops them.
"""

from __future__ import annotations

import os
import secrets
import ssl
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from integration.registry_env import (
    Pki,
    Registry,
    TokenServer,
    basic_header,
    clean_env,
    push_image,
    write_htpasswd,
)
from pullguard.scan import ScanOptions, scan_paths
from pullguard.semantics.dockerconfig import (
    DockerConfigError,
    decode_secret_value,
    parse_dockercfg,
    parse_dockerconfigjson,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

HUB_HOSTS = ("registry-1.docker.io",)  # docker.io/... images are pulled from this endpoint
HUB_REALM_HOST = "auth.docker.io"
HUB_SERVICE = "registry.docker.io"
# open registries; open.example names no example image: a registry of unknown visibility for `scan --probe`
PUBLIC_HOSTS = ("registry.k8s.io", "ghcr.io", "open.example")
PUSHER = "pullguard-pusher"


def example_credentials() -> dict[str, str]:
    """username -> password of every decodable credential in the examples' secrets (any type)."""
    users: dict[str, str] = {}
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not isinstance(document, dict) or document.get("kind") != "Secret":
                continue
            for key, value in (document.get("data") or {}).items():
                parse = {".dockerconfigjson": parse_dockerconfigjson, ".dockercfg": parse_dockercfg}.get(key)
                if parse is None:
                    continue
                try:
                    entries = parse(decode_secret_value(value))
                except DockerConfigError:
                    continue  # broken-creds: the kubelet cannot decode it either
                for entry in entries:
                    if entry.credential.username:
                        users[entry.credential.username] = entry.credential.password
    return users


def example_images() -> list[tuple[str, str, str]]:
    """(registry, repository, tag) of every image the examples name."""
    result = scan_paths([str(EXAMPLES)], ScanOptions())
    images = {
        (j.use.ref.domain, j.use.ref.path, j.use.ref.tag or "latest")
        for j in result.resolution.images
        if j.use.ref is not None
    }
    return sorted(images)


def hub_acl(user: str | None, repository: str, action: str) -> bool:
    if user == PUSHER:
        return True
    if action != "pull":
        return False
    if repository.startswith("library/"):
        return True
    return user is not None and repository.startswith(user + "/")


@dataclass
class ExamplesEnvironment:
    pki: Pki
    token_server: TokenServer
    private: Registry
    hub: Registry
    public: Registry
    users: dict[str, str]  # the examples' credentials (username -> password)
    private_hosts: tuple[str, ...]
    pushed: dict[str, str]  # "registry/repository:tag" -> digest

    def routes(self) -> dict[str, Registry | TokenServer]:
        table: dict[str, Registry | TokenServer] = {HUB_REALM_HOST: self.token_server}
        table.update({h: self.private for h in self.private_hosts})
        table.update({h: self.hub for h in HUB_HOSTS})
        table.update({h: self.public for h in PUBLIC_HOSTS})
        return table

    def connect_to(self) -> list[str]:
        """``--connect-to`` arguments: each example host to the process playing it."""
        return [
            f"--connect-to={host}:127.0.0.1:{server.port}" for host, server in sorted(self.routes().items())
        ]

    def command(self, *extra: str) -> list[str]:
        return [
            "pullguard",
            "verify",
            "examples/",
            "--ca-file",
            str(self.pki.ca_pem),
            *self.connect_to(),
            *extra,
        ]

    def stop(self) -> None:
        for registry in (self.private, self.hub, self.public):
            registry.stop()
        self.token_server.stop()


def start_examples_environment(directory: Path) -> ExamplesEnvironment:
    images = example_images()
    private_hosts = tuple(sorted({r for r, _, _ in images} - {"docker.io", *PUBLIC_HOSTS}))
    names = {h.split(":")[0] for h in (*private_hosts, *HUB_HOSTS, *PUBLIC_HOSTS)}
    pki = Pki(directory / "pki", dns_names=tuple(sorted(names | {HUB_REALM_HOST, "index.docker.io"})))
    users = example_credentials()
    pusher_password = secrets.token_urlsafe(16)
    everyone = {**users, PUSHER: pusher_password}
    token_server = TokenServer(pki, users=everyone, acl=hub_acl)
    htpasswd = write_htpasswd(directory / "htpasswd", everyone)
    started: list[Registry] = []
    try:
        private = Registry(
            "private",
            directory / "private",
            pki,
            {"htpasswd": {"realm": "example-private", "path": str(htpasswd)}},
        )
        started.append(private)
        hub = Registry(
            "hub",
            directory / "hub",
            pki,
            {
                "token": {
                    "realm": f"https://{HUB_REALM_HOST}/token",
                    "service": HUB_SERVICE,
                    "issuer": "pullguard-test-token-issuer",
                    "rootcertbundle": str(pki.signing_cert_pem),
                }
            },
        )
        started.append(hub)
        public = Registry("public", directory / "public", pki, None)
        started.append(public)
    except BaseException:
        for registry in started:
            registry.stop()
        token_server.stop()
        raise
    env = ExamplesEnvironment(pki, token_server, private, hub, public, users, private_hosts, {})
    try:
        by_host = {h: private for h in private_hosts} | {h: public for h in PUBLIC_HOSTS}
        for registry_host, repository, tag in images:
            if registry_host == "docker.io":
                target = hub
                auth = "Bearer " + _push_token(env, repository, pusher_password)
            else:
                target = by_host[registry_host]
                auth = basic_header(PUSHER, pusher_password) if target is private else None
            image = f"{registry_host}/{repository}:{tag}"
            env.pushed[image] = push_image(target, repository, tag, auth, label=image)
    except BaseException:
        env.stop()
        raise
    return env


def _push_token(env: ExamplesEnvironment, repository: str, password: str) -> str:
    with httpx.Client(
        verify=ssl.create_default_context(cafile=str(env.pki.ca_pem)), timeout=10.0, trust_env=False
    ) as client:
        response = client.get(
            env.token_server.realm,
            params={"service": HUB_SERVICE, "scope": f"repository:{repository}:pull,push"},
            headers={"Authorization": basic_header(PUSHER, password)},
        )
        response.raise_for_status()
        return str(response.json()["token"])


def main() -> int:
    """Start the registries, print the command and the real output of `pullguard verify examples/`."""
    with (
        contextmanager(clean_env)(),
        tempfile.TemporaryDirectory(prefix="pullguard-verify-demo-") as directory,
    ):
        env = start_examples_environment(Path(directory))
        try:
            command = env.command("--no-color")
            print("$ " + " ".join(command), flush=True)
            done = subprocess.run(
                [sys.executable, "-m", "pullguard", *command[1:]],
                cwd=REPO,
                check=False,
                env={**os.environ, "COLUMNS": "160"},
            )
            print(f"(exit code {done.returncode})")
        finally:
            env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
