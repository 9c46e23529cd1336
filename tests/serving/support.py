"""`pullguard serve` in-process against the API-server double, and a scraper for its endpoints."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from apiserver_double import ApiServerDouble
from pullguard.serve.command import Server
from pullguard.serve.kube import KubeClient
from pullguard.settings import ScanOptions
from pullguard.sources.cluster import connect


def kubeconfig_file(api: ApiServerDouble, path: Path, context: str = "prod") -> str:
    path.write_text(yaml.safe_dump(api.kubeconfig(context)))
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    api: ApiServerDouble, tmp_path: Path, options: ScanOptions | None = None, **kwargs: Any
) -> Iterator[Server]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    client = KubeClient(connect(kubeconfig_file(api, tmp_path / "kubeconfig")))
    kwargs.setdefault("watch_timeout", 20.0)
    server = Server(client, options or ScanOptions(), ("127.0.0.1", 0), ("127.0.0.1", 0), **kwargs)
    server.start()
    try:
        assert server.ready.wait(30), server.readiness()
        yield server
    finally:
        server.stop()


def metrics_port(server: Server) -> int:
    return int(server.servers[0].port)


def probe_port(server: Server) -> int:
    return int(server.servers[1].port)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of one scrape of /metrics."""
    status, text = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items())


def eventually(condition: Callable[[], bool], timeout: float = 15.0, interval: float = 0.02) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
    return time.monotonic() - started
