"""`make bench`'s live-cluster part runs (it broke once when the CLI group gained an option)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cluster_bench_runs_on_a_small_cluster(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/cluster_bench.py"),
            "--pods",
            "200",
            "--namespaces",
            "10",
            "--rounds",
            "1",
            "--json",
            str(tmp_path / "out.json"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ratio scan / fetch" in done.stdout
    assert (tmp_path / "out.json").is_file()


def test_the_fetch_baseline_asks_for_exactly_what_the_scan_asks_for(tmp_path: Path) -> None:
    """The ratio is fair only if the fetch reads the same lists, pages and Accept headers as the
    scan (it once read nodes as metadata while the scan read them whole)."""
    import yaml

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import cluster_bench

    from apiserver_double import ApiServerDouble
    from pullguard.fleet import scan_cluster
    from pullguard.scan import ScanOptions
    from pullguard.sources.cluster import ClusterOptions, connect

    with ApiServerDouble(cluster_bench.cluster(1_200, 3)) as api:  # type: ignore[arg-type]
        config = tmp_path / "kubeconfig"
        config.write_text(yaml.safe_dump(api.kubeconfig("bench")))
        scan = scan_cluster(connect(str(config), "bench"), ClusterOptions(all_namespaces=True), ScanOptions())
        scanned = [(r.method, r.path, r.query, r.accept) for r in api.requests]
        api.requests.clear()
        requests, objects = cluster_bench.fetch_all(connect(str(config), "bench").transport)
        fetched = [(r.method, r.path, r.query, r.accept) for r in api.requests]
    assert scan.live.pods == 1_200 and objects > 1_200
    assert requests == len(fetched) == scan.requests
    assert fetched == scanned
    assert sum(1 for _, path, _, _ in fetched if path == "/api/v1/pods") == 3  # pages of 500
