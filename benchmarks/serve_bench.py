"""`pullguard serve` at scale: 100,000 pods in 5,000 namespaces, served by the API-server double over HTTP.

The double runs in this process (objects generated lazily, pages of 500); `pullguard
serve` runs as its own process. Measured:
- seconds from start to /readyz 200 (every list read, every namespace judged once);
- the serve process's resident memory then (VmRSS) and at its peak (VmHWM), from /proc;
- time to reflect a change: a pull secret is deleted (then created again) through the
  double, and /metrics is polled until `pullguard_findings` of its namespace changes
  (API write -> watch event -> namespace judged -> visible in a scrape of `?name[]=pullguard_findings`),
  N times; plus
  serve's own histogram `pullguard_change_reflect_seconds` (event -> judged);
- the admission webhook's latency: AdmissionReviews for pods in random namespaces over one
  keep-alive HTTPS connection (certificate checked), p50 and p99 as the client sees them.

    make bench-serve                       # 100,000 pods / 5,000 namespaces
    python benchmarks/serve_bench.py --pods 20000 --namespaces 1000
    python benchmarks/serve_bench.py --baseline /tmp/main/src   # A/B: another checkout's serve too

Both processes read the same `--config` (a `.pullguard.yaml` with a `kubelet:` section: a
credential provider, as a ConfigMap would mount it). With `--baseline SRC`, a second
`serve` from that source tree watches the same double, and the webhook reviews alternate
between the two (A, B, B, A, ...) on one keep-alive connection each: one run, paired.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import yaml  # noqa: E402
from cluster_bench import cluster  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from apiserver_double import ApiServerDouble  # noqa: E402
from cluster.fixtures import deployment, pod, pull_secret  # noqa: E402
from integration.registry_env import Pki  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def findings_in(metrics_url: str, namespace: str) -> float:
    _, text = fetch(metrics_url + "?name[]=pullguard_findings")
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "pullguard_findings":
            total += sum(s.value for s in family.samples if s.labels.get("namespace") == namespace)
    return total


def reflected(urls: list[str], namespace: str, change: Callable[[], None], first: int = 0) -> list[float]:
    """Seconds from `change()` until each serve's /metrics shows another finding count for `namespace`.
    The serves are polled in turn, starting with `first`: the one polled second finds a change one
    scrape later than it could, so callers alternate `first` change by change."""
    before = [findings_in(url, namespace) for url in urls]
    changed = time.monotonic()
    change()
    seconds: list[float | None] = [None] * len(urls)
    order = list(range(first, len(urls))) + list(range(first))
    while any(s is None for s in seconds):
        for i in order:
            if seconds[i] is None and findings_in(urls[i], namespace) != before[i]:
                seconds[i] = time.monotonic() - changed
        if time.monotonic() - changed > 180:
            raise SystemExit(f"change in {namespace} not reflected")
    return [s for s in seconds if s is not None]


def histogram(metrics_url: str, name: str) -> tuple[float, float]:
    _, text = fetch(f"{metrics_url}?name[]={name}_count&name[]={name}_sum")
    count = total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{name}_count":
                count = sample.value
            elif sample.name == f"{name}_sum":
                total = sample.value
    return count, total


def admission_latencies(ports: list[int], ca: Path, namespaces: int, reviews: int) -> list[list[float]]:
    """Per port, the sorted latencies of `reviews` AdmissionReviews; the ports take turns, in an order
    that alternates review by review (A B, B A, ...) so neither always goes first."""
    connections = [
        http.client.HTTPSConnection(
            "127.0.0.1", port, context=ssl.create_default_context(cafile=str(ca)), timeout=30
        )
        for port in ports
    ]
    seconds: list[list[float]] = [[] for _ in ports]
    for n in range(reviews):
        namespace = f"team-{(n * 7919) % namespaces:05d}"
        obj = pod(
            f"bench-{n}",
            namespace,
            f"registry.corp.example/team/app:{n}",
            ["regcred" if n % 2 else "missing"],
        )
        gvk = {"group": "", "version": "v1", "kind": "Pod"}
        review = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": str(uuid.uuid4()),
                "kind": gvk,
                "requestKind": gvk,
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "name": f"bench-{n}",
                "namespace": namespace,
                "operation": "CREATE",
                "object": {"apiVersion": "v1", "kind": "Pod", **obj},
                "dryRun": False,
            },
        }
        body = json.dumps(review)
        order = list(range(len(ports)))
        if n % 2:
            order.reverse()
        for i in order:
            started = time.perf_counter()
            connections[i].request("POST", "/validate", body, {"Content-Type": "application/json"})
            answer = json.loads(connections[i].getresponse().read())
            seconds[i].append(time.perf_counter() - started)
            warnings = answer["response"].get("warnings", [])
            assert bool(warnings) != bool(n % 2), answer  # a real judgement each time
    return [sorted(s) for s in seconds]


PROVIDERS = """\
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: ecr-credential-provider
    matchImages: ["*.dkr.ecr.*.amazonaws.com"]
    defaultCacheDuration: 12h
    apiVersion: credentialprovider.kubelet.k8s.io/v1
"""


def start_serve(
    src: Path, kubeconfig: str, config: Path, certs: Path, ports: tuple[int, int, int]
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["PYTHONPATH"] = str(src)
    metrics, probes, webhook = ports
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pullguard",
            "serve",
            "--kubeconfig",
            kubeconfig,
            "--config",
            str(config),
            "--log-level",
            "warning",
            "--metrics-bind-address",
            f"127.0.0.1:{metrics}",
            "--health-probe-bind-address",
            f"127.0.0.1:{probes}",
            "--webhook",
            "--webhook-bind-address",
            f"127.0.0.1:{webhook}",
            "--webhook-cert-path",
            str(certs),
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )


def memory(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(rest.split()[0]) / 1024
    return fields


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--namespaces", type=int, default=5_000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--reviews", type=int, default=500)
    parser.add_argument("--baseline", metavar="SRC", help="another checkout's src/: serve it too, paired")
    args = parser.parse_args()
    api = ApiServerDouble(cluster(args.pods, args.namespaces), log_requests=False)  # type: ignore[arg-type]
    api.start()
    metrics, probes, webhook = free_port(), free_port(), free_port()
    certs = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    pki = Pki(certs / "pki")
    shutil.copy(pki.server_cert, certs / "tls.crt")
    shutil.copy(pki.server_key, certs / "tls.key")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(yaml.safe_dump(api.kubeconfig("bench")))
    config = certs / "pullguard.yaml"
    (certs / "credential-providers.yaml").write_text(PROVIDERS)
    config.write_text("kubelet:\n  providerConfig: credential-providers.yaml\n")
    process = start_serve(ROOT / "src", handle.name, config, certs, (metrics, probes, webhook))
    baseline = None
    if args.baseline:
        base_ports = (free_port(), free_port(), free_port())
        baseline = start_serve(Path(args.baseline), handle.name, config, certs, base_ports)
    metrics_url = f"http://127.0.0.1:{metrics}/metrics"
    try:
        started = time.monotonic()
        while fetch(f"http://127.0.0.1:{probes}/readyz")[0] != 200:
            if process.poll() is not None or time.monotonic() - started > 1800:
                raise SystemExit("serve did not become ready")
            time.sleep(0.5)
        ready = time.monotonic() - started
        at_ready = memory(process.pid)
        base_ready = None
        if baseline is not None:
            while fetch(f"http://127.0.0.1:{base_ports[1]}/readyz")[0] != 200:
                if baseline.poll() is not None or time.monotonic() - started > 1800:
                    raise SystemExit("the baseline serve did not become ready")
                time.sleep(0.5)
            base_ready = memory(baseline.pid)
        scrape_started = time.monotonic()
        fetch(metrics_url)
        scrape = time.monotonic() - scrape_started
        urls = [metrics_url] + ([f"http://127.0.0.1:{base_ports[0]}/metrics"] if baseline is not None else [])
        secret_reflect: list[list[float]] = [[] for _ in urls]
        other_reflect: list[list[float]] = [[] for _ in urls]
        for n in range(args.changes):
            namespace = f"team-{(n // 2 * 37) % args.namespaces:05d}"

            def secret_change(n: int = n, namespace: str = namespace) -> None:
                if n % 2 == 0:  # the pull secret goes: its pods lose their credentials
                    api.delete("secrets", namespace, "regcred")
                else:  # and comes back
                    api.create(
                        "secrets", pull_secret("regcred", namespace, "registry.corp.example", "robot", "pw")
                    )

            for i, seconds in enumerate(reflected(urls, namespace, secret_change, n % len(urls))):
                secret_reflect[i].append(seconds)
        for n in range(args.changes):
            namespace = f"team-{(n // 2 * 41 + 1) % args.namespaces:05d}"

            def other_change(n: int = n, namespace: str = namespace) -> None:
                # a Deployment (no pods yet) naming a pull secret that does not exist (PG002), then deleted
                if n % 2 == 0:
                    api.create(
                        "deployments", deployment("extra", namespace, "registry.corp.example/x:1", ["nope"])
                    )
                else:
                    api.delete("deployments", namespace, "extra")

            for i, seconds in enumerate(reflected(urls, namespace, other_change, n % len(urls))):
                other_reflect[i].append(seconds)
        ports = [webhook] + ([base_ports[2]] if baseline is not None else [])
        measured = admission_latencies(ports, pki.ca_pem, args.namespaces, args.reviews)
        count, total = histogram(metrics_url, "pullguard_change_reflect_seconds")
        after = memory(process.pid)
    finally:
        for running in (process, baseline):
            if running is not None:
                running.terminate()
                running.wait(30)
        api.stop()
    print(
        f"cluster: {args.pods:,} pods in {args.namespaces:,} namespaces (API-server double over HTTP, pages of 500)"
    )
    print(f"ready (all lists read, every namespace judged once): {ready:.1f} s")
    print(
        f"serve memory at ready: RSS {at_ready['VmRSS']:.0f} MiB (peak {at_ready['VmHWM']:.0f} MiB); "
        f"after {2 * args.changes} changes: RSS {after['VmRSS']:.0f} MiB (peak {after['VmHWM']:.0f} MiB)"
    )
    print(f"one /metrics scrape: {scrape * 1000:.0f} ms")
    labels = ("this tree", f"baseline {args.baseline}")
    for what, reflect in (
        ("pull secret deleted/created", secret_reflect),
        ("Deployment created/deleted", other_reflect),
    ):
        for label, seconds in zip(labels, reflect, strict=False):
            seconds.sort()
            print(
                f"change reflected in /metrics, {what}, {label} (API write -> scrape shows it, "
                f"{len(seconds)} changes): p50 {statistics.median(seconds) * 1000:.0f} ms, "
                f"max {seconds[-1] * 1000:.0f} ms"
            )
    for label, seconds in zip(labels, measured, strict=False):
        p99 = seconds[max(0, int(len(seconds) * 0.99) - 1)]
        print(
            f"admission webhook over HTTPS, {label} ({len(seconds)} reviews): "
            f"p50 {statistics.median(seconds) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        )
    if base_ready is not None:
        print(
            f"baseline serve memory at ready: RSS {base_ready['VmRSS']:.0f} MiB (peak {base_ready['VmHWM']:.0f} MiB)"
        )
    if count:
        print(f"serve's own event -> judged: mean {total / count * 1000:.1f} ms over {count:.0f} changes")


if __name__ == "__main__":
    main()
