"""`serve --verify-interval` against real registries (docker-registry on 127.0.0.1, htpasswd auth, TLS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver_double import ApiServerDouble
from cluster.fixtures import namespace, pod, pull_secret
from integration import registry_env
from pullguard.registry.client import ClientOptions
from pullguard.registry.verify import VerifyOptions
from serving.support import eventually, metrics_port, scrape, serving, value


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
