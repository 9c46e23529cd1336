"""`serve --verify-interval` against real registries (docker-registry on 127.0.0.1, htpasswd auth, TLS)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver_double import ApiServerDouble
from cluster.fixtures import namespace, pod, pull_secret
from integration import registry_env
from pullguard.registry.client import ClientOptions
from pullguard.registry.verify import VerifyOptions
from serving.support import eventually, get, metrics_port, scrape, serving, value


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registry_env.Environment]:
    missing = registry_env.binaries_missing()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (make system-deps)")
    for _ in registry_env.clean_env():
        env = registry_env.start_environment(tmp_path_factory.mktemp("registries"))
        try:
            yield env
        finally:
            env.stop()


def test_registry_outcomes_are_exported(tmp_path: Path, registries: registry_env.Environment) -> None:
    host = registries.basic.host
    objects = {
        "namespaces": [namespace("shop")],
        "secrets": [
            pull_secret("alice", "shop", host, "alice", registry_env.USERS["alice"]),
            pull_secret("wrong", "shop", host, "bob", "not-bobs-password-canary"),
        ],
        "pods": [
            pod("good-0", "shop", f"{host}/team/app:1.0", ["alice"]),
            pod("refused-0", "shop", f"{host}/team/app:1.0", ["wrong"]),
            pod("absent-0", "shop", f"{host}/team/nothing:9", ["alice"]),
        ],
    }
    options = VerifyOptions(client=ClientOptions(ca_file=str(registries.pki.ca_pem)), deadline=30)
    with (
        ApiServerDouble(objects) as api,
        serving(api, tmp_path, verify_interval=3600, verify_options=options) as server,
    ):
        eventually(lambda: server.registry_checks.runs >= 1, timeout=60)
        samples = scrape(metrics_port(server))
    assert value(samples, "pullguard_registry_check", image_registry=host, result="ok") == 1
    assert value(samples, "pullguard_registry_check", image_registry=host, result="unauthorized") == 1
    assert value(samples, "pullguard_registry_check", image_registry=host, result="not_found") == 1
    assert value(samples, "pullguard_registry_check_timestamp_seconds") > 0
    assert not any("canary" in str(labels) for (_, labels) in samples)


def test_registry_requests_are_counted_by_registry_and_status_code(
    tmp_path: Path, registries: registry_env.Environment
) -> None:
    """pullguard_registry_requests_total{image_registry,code}: every request of the slower schedule,
    a token server's counted for the registry that sent there; a counter (it only grows), and
    promtool's linter accepts it. No answer at all (nothing listens) is code="error"."""
    basic, token = registries.basic.host, registries.token.host
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"
    objects = {
        "namespaces": [namespace("shop")],
        "secrets": [
            pull_secret("alice", "shop", basic, "alice", registry_env.USERS["alice"]),
            pull_secret("tokens", "shop", token, "alice", registry_env.USERS["alice"]),
        ],
        "pods": [
            pod("good-0", "shop", f"{basic}/team/app:1.0", ["alice"]),
            pod("absent-0", "shop", f"{basic}/team/nothing:9", ["alice"]),
            pod("bearer-0", "shop", f"{token}/team/app:1.0", ["tokens"]),
            pod("gone-0", "shop", f"{closed}/team/app:1", ["alice"]),
        ],
    }
    client = ClientOptions(
        ca_file=str(registries.pki.ca_pem), connect_timeout=2, request_timeout=4, retries=0
    )
    options = VerifyOptions(client=client, deadline=30)
    with (
        ApiServerDouble(objects) as api,
        serving(api, tmp_path, verify_interval=1, verify_options=options) as server,
    ):
        eventually(lambda: server.registry_checks.runs >= 1, timeout=60)
        first = scrape(metrics_port(server))
        eventually(lambda: server.registry_checks.runs >= 2, timeout=60)
        status, text = get(f"http://127.0.0.1:{metrics_port(server)}/metrics")
        second = scrape(metrics_port(server))
    name = "pullguard_registry_requests_total"
    # basic auth: the challenge (GET /v2/: 401), the manifest HEADs (200, and 404 for the absent one)
    assert value(first, name, image_registry=basic, code="401") >= 1
    assert value(first, name, image_registry=basic, code="200") == 1
    assert value(first, name, image_registry=basic, code="404") >= 1
    # bearer: the challenge (401), the token server's answer and the manifest HEAD (200 each): the token
    # server's request counts for the registry
    assert value(first, name, image_registry=token, code="401") == 1
    assert value(first, name, image_registry=token, code="200") == 2
    assert value(first, name, image_registry=closed, code="error") >= 1
    registries_seen = {dict(labels)["image_registry"] for (n, labels) in second if n == name}
    assert registries_seen == {basic, token, closed}  # bounded by the images, never a token realm's host
    assert {dict(labels)["code"] for (n, labels) in second if n == name} <= {"200", "401", "404", "error"}
    for (n, labels), count in first.items():
        if n == name:
            assert second[(n, labels)] >= count  # a counter
    assert value(second, name) > value(first, name)
    assert status == 200
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "canary" not in text and registry_env.USERS["alice"] not in text
