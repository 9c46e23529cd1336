"""Shared pieces of the `pullguard secret` tests: the CLI in a child process, a fake credential
helper speaking the real docker-credential-helpers protocol, the cluster double, canary checks."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from apiserver_double import ApiServerDouble
from cluster.fixtures import deployment, service_account
from integration.registry_env import Environment, skopeo_can_pull

ROOT = Path(__file__).resolve().parents[2]
PULLGUARD = [sys.executable, "-m", "pullguard"]

# A helper as docker-credential-helpers specifies it (client/command.go): the action is argv[1]
# ("get", "store", "erase", "list"); for "get" the server URL arrives on standard input and the
# answer is {"ServerURL", "Username", "Secret"} on standard output; an unknown server is exit
# status 1 with "credentials not found in native keychain" on standard output.
HELPER_SOURCE = """#!{python}
import json, os, sys
state = os.environ["FAKE_HELPER_DIR"]
with open(os.path.join(state, "argv.log"), "a") as log:
    log.write(json.dumps(sys.argv) + "\\n")
action = sys.argv[1] if len(sys.argv) > 1 else ""
if action == "list":
    print("{{}}")
    sys.exit(0)
if action != "get":
    sys.exit(1)
server = sys.stdin.read().strip()
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(server + "\\n")
if os.path.exists(os.path.join(state, "fail")):
    sys.stderr.write("the helper's backend is down\\n")
    sys.exit(1)
path = os.path.join(state, "answers.json")
with open(path) as handle:
    answers = json.load(handle)
queue = answers.get(server)
if not queue:
    print("credentials not found in native keychain")
    sys.exit(1)
answer = queue.pop(0) if len(queue) > 1 else queue[0]
with open(path, "w") as handle:
    json.dump(answers, handle)
print(json.dumps({{"ServerURL": server, **answer}}))
"""


@dataclass
class FakeHelper:
    directory: Path

    @property
    def bin(self) -> Path:
        return self.directory / "bin"

    def answer(self, server: str, *answers: tuple[str, str]) -> None:
        path = self.directory / "answers.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        current[server] = [{"Username": user, "Secret": secret} for user, secret in answers]
        path.write_text(json.dumps(current))

    def calls(self) -> list[str]:
        path = self.directory / "calls.log"
        return path.read_text().splitlines() if path.exists() else []

    def argv_log(self) -> str:
        path = self.directory / "argv.log"
        return path.read_text() if path.exists() else ""

    def fail(self, on: bool = True) -> None:
        flag = self.directory / "fail"
        if on:
            flag.write_text("1")
        elif flag.exists():
            flag.unlink()


def make_helper(directory: Path, name: str = "fake") -> FakeHelper:
    helper = FakeHelper(directory)
    helper.bin.mkdir(parents=True, exist_ok=True)
    program = helper.bin / f"docker-credential-{name}"
    program.write_text(HELPER_SOURCE.format(python=sys.executable))
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return helper


def ecr_like_token(expiration: float, nonce: str) -> str:
    """A password shaped like an Amazon ECR authorization token: base64 of a JSON envelope whose
    `expiration` says when it expires (what pullguard reads for pullguard.io/expires-at)."""
    envelope = {
        "payload": nonce,
        "datakey": "k",
        "version": "2",
        "type": "DATA_KEY",
        "expiration": int(expiration),
    }
    return base64.b64encode(json.dumps(envelope).encode()).decode()


def run(
    *args: str,
    kubeconfig: str | None = None,
    helper: FakeHelper | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    if kubeconfig:
        full["KUBECONFIG"] = kubeconfig
    if helper is not None:
        full["PATH"] = f"{helper.bin}{os.pathsep}{full.get('PATH', '')}"
        full["FAKE_HELPER_DIR"] = str(helper.directory)
    full.update(env or {})
    return subprocess.run(
        [*PULLGUARD, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full,
        cwd=ROOT,
        input=stdin or "",
    )


def write_kubeconfig(api: ApiServerDouble, path: Path, namespace: str = "shop") -> str:
    path.write_text(yaml.safe_dump(api.kubeconfig("test", namespace=namespace)))
    return str(path)


def shop(extra_secrets: list[dict[str, Any]] | None = None) -> dict[str, list[dict[str, Any]]]:
    return {
        "namespaces": [{"metadata": {"name": "shop"}}],
        "serviceaccounts": [
            service_account("default", "shop", ["existing"]),
            service_account("builder", "shop"),
        ],
        "deployments": [
            deployment("web", "shop", "registry.example/web:1"),
            deployment("api", "shop", "registry.example/api:1", ["api-pull"]),
        ],
        "secrets": list(extra_secrets or []),
    }


def stored(api: ApiServerDouble, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    for item in api.objects.get(plural, []):
        meta = item.get("metadata", {})
        if meta.get("name") == name and meta.get("namespace") == namespace:
            return dict(item)
    return None


def auths_of(secret: dict[str, Any], key: str = ".dockerconfigjson") -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(secret["data"][key]))["auths"])


def can_pull(env: Environment, tmp: Path, secret: dict[str, Any], image: str) -> bool:
    """skopeo, as the oracle, pulls `image` with the Secret's payload: do pulls still work?"""
    return skopeo_can_pull(
        tmp / f"auth-{time.monotonic_ns()}.json", auths_of(secret), env.pki.cert_dir, image
    )


def assert_hidden(result: subprocess.CompletedProcess[str], *values: str) -> None:
    for value in values:
        for text in (result.stdout, result.stderr):
            assert value not in text
            assert base64.b64encode(value.encode()).decode() not in text
