"""Scale of `scan --cluster`: 100,000 pods in 5,000 namespaces served by the API-server double over HTTP.

Three processes: the double (objects generated lazily, paginated at 500 like the
API server's default maximum), then alternately
- `fetch`: the same LIST requests, page by page, through the same client, JSON parsed
  and dropped (what any tool pays to read the cluster), and
- `scan`: the whole pipeline (source -> live inventory -> resolution -> checks),
each in a fresh process so peak RSS is its own. Prints seconds, peak RSS and the ratio.

    make bench-cluster            # 100,000 pods / 5,000 namespaces
    python benchmarks/cluster_bench.py --pods 20000 --namespaces 1000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
if not os.environ.get("PYTHONPATH"):  # --compare runs a child on another source tree
    sys.path.insert(0, str(ROOT / "src"))

from apiserver_double import ApiServerDouble  # noqa: E402
from cluster.fixtures import deployment, namespace, node, opaque_secret, pod, pull_secret, service_account  # noqa: E402


class Generated(Sequence[dict[str, Any]]):
    """A read-only list whose items are built when asked for: the double holds no 100k objects."""

    def __init__(self, count: int, make: Any) -> None:
        self.count = count
        self.make = make

    def __len__(self) -> int:
        return self.count

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self.make(i) for i in range(*index.indices(self.count))]
        if not 0 <= index < self.count:
            raise IndexError(index)
        return dict(self.make(index))


def cluster(pods: int, namespaces: int) -> dict[str, Sequence[dict[str, Any]]]:
    per_ns = max(1, pods // namespaces)
    deployments_per_ns = 2

    def ns_name(i: int) -> str:
        return f"team-{i:05d}"

    def make_pod(i: int) -> dict[str, Any]:
        ns, j = divmod(i, per_ns)
        d = j % deployments_per_ns
        name = f"app-{d}"
        rs_hash = f"{(ns * 7 + d) % 99999:05d}abc"
        registry = "registry.corp.example" if (ns + d) % 3 else "docker.io"
        image = f"{registry}/team{ns}/{name}:1.{d}" if registry != "docker.io" else "nginx:1.27"
        secrets = ["regcred"] if (ns + d) % 5 else ["missing"]
        return pod(
            f"{name}-{rs_hash}-{j:05d}",
            ns_name(ns),
            image,
            secrets,
            owner=("ReplicaSet", f"{name}-{rs_hash}"),
            labels={"app": name, "pod-template-hash": rs_hash},
        )

    def make_deployment(i: int) -> dict[str, Any]:
        ns, d = divmod(i, deployments_per_ns)
        return deployment(
            f"app-{d}", ns_name(ns), f"registry.corp.example/team{ns}/app-{d}:1.{d}", ["regcred"]
        )

    def make_secret(i: int) -> dict[str, Any]:
        ns, k = divmod(i, 2)
        if k == 0:
            return pull_secret(
                "regcred", ns_name(ns), "registry.corp.example", user=f"robot-{ns}", password=f"pw-{ns}"
            )
        return opaque_secret("app-config", ns_name(ns), {"token": f"t-{ns}"})

    return {
        "namespaces": Generated(namespaces, lambda i: namespace(ns_name(i))),
        "nodes": Generated(100, lambda i: node(f"node-{i}")),
        "pods": Generated(per_ns * namespaces, make_pod),
        "deployments": Generated(namespaces * deployments_per_ns, make_deployment),
        "serviceaccounts": Generated(
            namespaces, lambda i: service_account("default", ns_name(i), ["regcred"])
        ),
        "secrets": Generated(namespaces * 2, make_secret),
    }


def serve(pods: int, namespaces: int) -> None:
    api = ApiServerDouble(cluster(pods, namespaces), log_requests=False)  # type: ignore[arg-type]
    api.start()
    print(json.dumps(api.kubeconfig("bench")), flush=True)
    sys.stdin.read()  # until the parent closes it
    api.stop()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _as_the_cli() -> None:
    """The process settings `pullguard` itself runs with (`tune_garbage_collector`: the garbage
    collector's thresholds), for the fetch and the scan alike. Without them a 100,000-pod scan
    spends half its CPU in full collections that `pullguard scan --cluster` never runs."""
    from pullguard.cli import tune_garbage_collector

    tune_garbage_collector()


def fetch_lists() -> list[tuple[str, str | None, str]]:
    """The LISTs `scan --cluster --all-namespaces` makes, in its order, with its Accept headers
    (tests/test_benchmark_cluster.py holds the two together): the fetch is a fair baseline only
    if it asks for exactly what the scan asks for."""
    from pullguard.semantics.dockerconfig import PULL_SECRET_TYPES
    from pullguard.sources.cluster import (
        NAMESPACES,
        NODES,
        PODS,
        RBAC,
        SECRETS,
        SERVICE_ACCOUNTS,
        TABLE,
        WORKLOADS,
    )

    json_ = "application/json"
    return [
        (NAMESPACES.path(), None, json_),
        (NODES.path(), None, json_),
        *((SECRETS.path(), f"type={secret_type}", json_) for secret_type in PULL_SECRET_TYPES),
        (SECRETS.path(), None, TABLE),
        (SERVICE_ACCOUNTS.path(), None, json_),
        *((r.path(), None, json_) for r in WORKLOADS),
        (PODS.path(), None, json_),
        *((r.path(), None, json_) for r in RBAC),
    ]


def fetch_all(transport: Any) -> tuple[int, int]:
    """Every page of every list through `transport`, page after page as `kubectl get -A` reads
    them, JSON parsed and dropped: (requests, objects). Asking for the next page while this one
    is parsed gains nothing here: the client parses inside `transport.get`, so there is no work
    of its own to overlap with the server's."""
    from pullguard.sources.cluster import list_query

    objects = requests = 0
    for path, selector, accept in fetch_lists():
        token = None
        while True:
            query = list_query(500, field_selector=selector, token=token)
            page = transport.get(path, query, accept)
            requests += 1
            objects += len(page.get("items") or page.get("rows") or ())
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                break
    return requests, objects


def run_fetch(kubeconfig: str) -> dict[str, Any]:
    from pullguard.sources.cluster import connect

    _as_the_cli()
    connection = connect(kubeconfig, "bench")
    baseline = _peak_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    requests, objects = fetch_all(connection.transport)
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu_started,
        "objects": objects,
        "requests": requests,
        "peak_mb": _peak_mb(),
        "baseline_mb": baseline,
    }


def run_scan(kubeconfig: str) -> dict[str, Any]:
    from pullguard.fleet import scan_cluster
    from pullguard.scan import ScanOptions
    from pullguard.sources.cluster import ClusterOptions, connect

    _as_the_cli()
    connection = connect(kubeconfig, "bench")
    baseline = _peak_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = scan_cluster(connection, ClusterOptions(all_namespaces=True), ScanOptions())
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert result.result is not None
    summary = result.result.summary
    return {
        "seconds": elapsed,
        "cpu": cpu,
        "requests": result.requests,
        "pods": result.live.pods,
        "pod_templates": summary.pod_templates,
        "images": summary.images,
        "findings": len(result.result.findings),
        "headline": summary.headline,
        "peak_mb": _peak_mb(),
        "baseline_mb": baseline,
    }


def _cpu_of(pid: int) -> float:
    """User + system seconds of a running process (Linux /proc; 0 elsewhere): the double's own
    work for a child's requests, which a wall-clock ratio on a busy machine cannot separate."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def summarize(
    fetches: list[dict[str, Any]], scans: list[dict[str, Any]], before: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Ratios taken round by round (each scan against the fetch of its own round), then the median:
    the machine's drift hits both sides of a pair alike."""
    fetch = min(fetches, key=lambda r: r["seconds"])
    scan = min(scans, key=lambda r: r["seconds"])
    ratio = _median([s["seconds"] / f["seconds"] for f, s in zip(fetches, scans, strict=True)])
    cpu_ratio = _median([s["cpu"] / f["cpu"] for f, s in zip(fetches, scans, strict=True)])
    lines = [
        f"fetch only: {fetch['seconds']:.2f} s ({fetch['cpu']:.2f} s CPU), {fetch['requests']} requests, "
        f"{fetch['objects']:,} objects, peak RSS {fetch['peak_mb']:.0f} MB",
        f"scan:       {scan['seconds']:.2f} s ({scan['cpu']:.2f} s CPU), {scan['requests']} requests, "
        f"{scan['pods']:,} pods -> {scan['pod_templates']:,} pod templates, {scan['images']:,} images, "
        f"{scan['findings']:,} findings, peak RSS {scan['peak_mb']:.0f} MB",
        f"            {scan['headline']}",
        f"ratio scan / fetch: {ratio:.2f} wall, {cpu_ratio:.2f} CPU (median of {len(scans)} interleaved rounds)",
        f"API double's CPU serving the lists: {_median([f['server_cpu'] for f in fetches]):.2f} s for the fetch, "
        f"{_median([s['server_cpu'] for s in scans]):.2f} s for the scan",
    ]
    report: dict[str, Any] = {"fetch": fetches, "scan": scans, "ratio": ratio, "cpu_ratio": cpu_ratio}
    if before:
        old = min(before, key=lambda r: r["seconds"])
        old_ratio = _median([b["seconds"] / f["seconds"] for f, b in zip(fetches, before, strict=True)])
        old_cpu = _median([b["cpu"] / f["cpu"] for f, b in zip(fetches, before, strict=True)])
        lines.append(
            f"before (--compare): {old['seconds']:.2f} s ({old['cpu']:.2f} s CPU), peak RSS {old['peak_mb']:.0f} MB; "
            f"ratio {old_ratio:.2f} wall, {old_cpu:.2f} CPU; {old['findings']:,} findings"
        )
        report.update(before=before, before_ratio=old_ratio, before_cpu_ratio=old_cpu)
    report["lines"] = lines
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--namespaces", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mode", choices=["main", "serve", "fetch", "scan"], default="main")
    parser.add_argument("--kubeconfig")
    parser.add_argument(
        "--compare", metavar="SRC", help="also time the scan of this source tree (e.g. main's src/)"
    )
    parser.add_argument("--json", metavar="FILE", help="write the figures to FILE")
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.pods, args.namespaces)
        return
    if args.mode in ("fetch", "scan"):
        print(json.dumps((run_fetch if args.mode == "fetch" else run_scan)(args.kubeconfig)))
        return
    me = [sys.executable, __file__, "--pods", str(args.pods), "--namespaces", str(args.namespaces)]
    server = subprocess.Popen(
        [*me, "--mode", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        config = server.stdout.readline()
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
            handle.write(config)  # JSON is YAML
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        runs: list[tuple[str, dict[str, str]]] = [("fetch", env), ("scan", env)]
        if args.compare:  # the same scan from another source tree (e.g. main's), in the same rounds
            runs.append(("scan", {**os.environ, "PYTHONPATH": str(Path(args.compare).resolve())}))
        results: list[list[dict[str, Any]]] = [[] for _ in runs]
        for _ in range(args.rounds):
            for slot, (mode, child_env) in enumerate(runs):
                served = _cpu_of(server.pid)
                out = subprocess.run(
                    [*me, "--mode", mode, "--kubeconfig", handle.name],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=child_env,
                )
                results[slot].append({**json.loads(out.stdout), "server_cpu": _cpu_of(server.pid) - served})
        report = summarize(results[0], results[1], results[2] if args.compare else None)
        print(
            f"cluster: {args.pods:,} pods in {args.namespaces:,} namespaces, served by the API-server double over HTTP "
            f"(pages of 500)"
        )
        for line in report["lines"]:
            print(line)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
        os.unlink(handle.name)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
