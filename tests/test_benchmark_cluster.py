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
