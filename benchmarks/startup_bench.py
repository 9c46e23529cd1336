"""Start-up and live-cluster figures for `make bench` (benchmarks/bench.py calls these).

    .venv/bin/python benchmarks/startup_bench.py [--rounds R] [--cluster-pods N]

Start-up: `pullguard --version`, `checks`, `explain PG001` and a text `scan` of a 10-file
directory (benchmarks/generate.py, 30 documents), each a whole process run R times in turn;
CPU is the child's user + system time (os.wait4), wall its monotonic start-to-exit. The package's
bytecode is compiled first, as `pip install` does (PYTHONDONTWRITEBYTECODE would otherwise make
every run compile pullguard's sources). Targets (on a quiet machine): 150 ms for the first three,
300 ms for the scan; on a loaded machine read the CPU column.

Cluster: benchmarks/cluster_bench.py (API-server double over HTTP), scan / fetch-the-same-lists,
median of paired rounds. Target: <= 1.2x.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"
TEN_FILES = OUT / "startup-10-files"
STARTUP_TARGETS_MS = {"--version": 150.0, "checks": 150.0, "explain PG001": 150.0, "scan (10 files)": 300.0}
TARGET_CLUSTER_RATIO = 1.2


@dataclass
class Timing:
    label: str
    argv: list[str]
    cpu_s: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    exits: list[int] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {
            "command": self.label,
            "cpu_ms": 1000 * statistics.median(self.cpu_s),
            "wall_ms": 1000 * statistics.median(self.wall_s),
            "target_ms": STARTUP_TARGETS_MS[self.label],
            "exits": sorted(set(self.exits)),
        }


def _pullguard() -> list[str]:
    script = Path(sys.executable).with_name("pullguard")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pullguard"]


def _ten_files() -> Path:
    marker = TEN_FILES / ".pullguard-bench-corpus"
    if not marker.exists():
        subprocess.run(
            [
                sys.executable,
                str(REPO / "benchmarks" / "generate.py"),
                str(TEN_FILES),
                "--documents",
                "30",
                "--force",
            ],
            check=True,
            capture_output=True,
        )
    return TEN_FILES


def _run(argv: list[str]) -> tuple[float, float, int]:
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, wall, process.returncode


def measure_startup(rounds: int = 10) -> list[dict[str, Any]]:
    import pullguard

    compileall.compile_dir(str(Path(pullguard.__file__).parent), quiet=1)
    exe = _pullguard()
    timings = [
        Timing("--version", [*exe, "--version"]),
        Timing("checks", [*exe, "checks"]),
        Timing("explain PG001", [*exe, "explain", "PG001"]),
        Timing(
            "scan (10 files)", [*exe, "scan", str(_ten_files()), "--format", "text", "--output", os.devnull]
        ),
    ]
    for timing in timings:  # warm the file cache
        _run(timing.argv)
    for _ in range(rounds):
        for timing in timings:
            cpu, wall, code = _run(timing.argv)
            timing.cpu_s.append(cpu)
            timing.wall_s.append(wall)
            timing.exits.append(code)
    return [t.row() for t in timings]


def measure_cluster(pods: int, namespaces: int, rounds: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                sys.executable,
                str(REPO / "benchmarks" / "cluster_bench.py"),
                "--pods",
                str(pods),
                "--namespaces",
                str(namespaces),
                "--rounds",
                str(rounds),
                "--json",
                out.name,
            ],
            check=True,
            capture_output=True,
        )
        report: dict[str, Any] = json.loads(Path(out.name).read_text(encoding="utf-8"))
    report.update(pods=pods, namespaces=namespaces, target=TARGET_CLUSTER_RATIO)
    return report


def startup_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| command | CPU (median) | wall (median) | target | |", "|---|---|---|---|---|"]
    for row in rows:
        ok = row["cpu_ms"] <= row["target_ms"]
        lines.append(
            f"| pullguard {row['command']} | {row['cpu_ms']:.0f} ms | {row['wall_ms']:.0f} ms | "
            f"{row['target_ms']:.0f} ms | {'ok (CPU)' if ok else 'OVER'} |"
        )
    return "\n".join(lines)


def cluster_lines(report: dict[str, Any]) -> str:
    ok = report["ratio"] <= TARGET_CLUSTER_RATIO
    return "\n".join(
        [
            f"live cluster: {report['pods']:,} pods in {report['namespaces']:,} namespaces (API-server double, HTTP)",
            *report["lines"],
            f"target scan / fetch <= {TARGET_CLUSTER_RATIO}: {'ok' if ok else 'NOT MET'} (wall)",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cluster-pods", type=int, default=20_000, help="0: skip the cluster")
    parser.add_argument("--cluster-rounds", type=int, default=3)
    args = parser.parse_args()
    print(startup_table(measure_startup(args.rounds)))
    if args.cluster_pods:
        print(
            cluster_lines(
                measure_cluster(args.cluster_pods, max(1, args.cluster_pods // 20), args.cluster_rounds)
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
