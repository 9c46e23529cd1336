"""Every command reaches the API server one way (`sources.cluster.send`): the scan's lists, serve's
requests and the secret commands' writes are bounded in bytes alike, and a server that is gone
is said the same way (a write whose answer is lost is "unknown", never "failed")."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from apiserver_double import ApiServerDouble, Fault, RequestLog
from cluster.fixtures import shop_cluster
from pullguard.secrets.kube import KubeApi, WriteUnknown
from pullguard.serve.kube import KubeClient
from pullguard.sources import cluster as cluster_source
from pullguard.sources.cluster import (
    SECRETS,
    ClusterResponseError,
    ClusterUnreachable,
    Connection,
    connect,
)

SECRET_PATH = "/api/v1/namespaces/shop/secrets/regcred"


def _endless() -> Iterator[bytes]:
    yield b'{"kind":"Secret","metadata":{"name":"'
    while True:
        yield b"x" * 65536


def _connection(tmp_path: Path, url_of: ApiServerDouble) -> Connection:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(url_of.kubeconfig("prod")))
    return connect(str(path), "prod", read_timeout=10.0)


def _endless_secret(request: RequestLog) -> Fault | None:
    return Fault(body=_endless(), length=False) if request.path == SECRET_PATH else None


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_source, "MAX_RESPONSE_BYTES", 4 * 1024 * 1024)


@pytest.mark.usefixtures("small_limit")
def test_serve_reads_an_answer_no_larger_than_the_scan_does(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster(), fault=_endless_secret) as api:
        client = KubeClient(_connection(tmp_path, api))
        started = time.monotonic()
        with pytest.raises(ClusterResponseError, match="larger than 4194304 bytes"):
            client.get(SECRET_PATH)
        assert time.monotonic() - started < 10
        assert client.get("/api/v1/namespaces/shop/serviceaccounts/default")["kind"] == "ServiceAccount"


@pytest.mark.usefixtures("small_limit")
def test_the_secret_commands_read_an_answer_no_larger_than_the_scan_does(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster(), fault=_endless_secret) as api:
        kube = KubeApi(_connection(tmp_path, api), timeout=10.0)
        started = time.monotonic()
        with pytest.raises(ClusterResponseError, match="larger than 4194304 bytes"):
            kube.get(SECRETS, "shop", "regcred")
        assert time.monotonic() - started < 10


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gone(tmp_path: Path) -> Connection:
    """A kubeconfig whose server is a loopback port nobody listens on."""
    with ApiServerDouble(shop_cluster()) as api:
        config = api.kubeconfig("prod")
    config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{_closed_port()}"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return connect(str(path), "prod", connect_timeout=2.0, read_timeout=2.0)


def test_a_server_that_is_gone_is_said_alike_by_every_command(tmp_path: Path) -> None:
    connection = _gone(tmp_path)
    with pytest.raises(ClusterUnreachable, match="connection refused") as scan:
        connection.transport.get("/api/v1/pods", [])
    with pytest.raises(ClusterUnreachable, match="connection refused") as serve:
        KubeClient(connection).get("/api/v1/pods")
    kube = KubeApi(connection, timeout=2.0)
    with pytest.raises(ClusterUnreachable, match="connection refused") as secrets:
        kube.get(SECRETS, "shop", "regcred")
    # one wording (sources.cluster.unreachable): the secret commands said "no answer ... for PATH"
    assert str(scan.value) == str(serve.value) == str(secrets.value)
    assert "check the kubeconfig's server address" in str(secrets.value)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred", "namespace": "shop"}}
    with pytest.raises(WriteUnknown, match="may or may not have been applied"):
        kube.create(SECRETS, "shop", secret)
