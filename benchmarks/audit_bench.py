"""`make bench-audit`: `pullguard audit-log` over a large generated audit log: time and peak memory.

    .venv/bin/python benchmarks/audit_bench.py [--bytes N] [--gzip] [--dir /tmp] [--rounds R]

Writes an audit log of N bytes (default 1 GiB) of real-shaped events
(tests/auditlog/auditgen.py: a busy cluster's mix of pod/configmap/lease traffic,
kubelet watches of secrets, a CI ServiceAccount reading pull secrets, users' gets and
403s) to --dir (never into the repository; reused when already there), then runs, as a
child process of this interpreter,

    python -m pullguard audit-log LOG --manifests <inventory> --format json -o /dev/null

and records its wall time, CPU time and peak RSS (os.wait4). Targets: at least 50 MB per
CPU-second (wall time depends on what else the machine runs), and peak RSS under 200 MB whatever the log's size (memory is bounded by
distinct readers, not events). Results also go to benchmarks/out/audit_results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from auditlog.auditgen import write_big  # noqa: E402

OUT = REPO / "benchmarks" / "out"
TARGET_MB_PER_S = 50.0
TARGET_RSS_MB = 200.0
INVENTORY = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: deployer, namespace: ci}]
"""
SECRET = """\
---
apiVersion: v1
kind: Secret
metadata: {{name: regcred, namespace: {namespace}}}
type: kubernetes.io/dockerconfigjson
data: {{.dockerconfigjson: eyJhdXRocyI6e319}}
"""


def run(log: Path, inventory: Path) -> dict[str, float | int]:
    command = [sys.executable, "-m", "pullguard", "audit-log", str(log), "--manifests", str(inventory)]
    command += ["--format", "json", "-o", str(OUT / "audit_report.json"), "--fail-on", "never"]
    started = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    assert child.stderr is not None
    stderr = child.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"audit-log exited {code}: {stderr[-500:]}", file=sys.stderr)
    cpu = usage.ru_utime + usage.ru_stime  # wall time depends on what else runs on the machine
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "returncode": code,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bytes", type=int, default=1 << 30)
    parser.add_argument("--gzip", action="store_true", help="also measure the same log gzip-compressed")
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    inventory = OUT / "audit_inventory.yaml"
    inventory.write_text(INVENTORY + "".join(SECRET.format(namespace=f"team-{i:02d}") for i in range(40)))
    logs = [args.dir / f"pullguard-audit-{args.bytes}.log"]
    if args.gzip:
        logs.append(args.dir / f"pullguard-audit-{args.bytes}.log.gz")
    for log in logs:
        if not log.exists():
            started = time.monotonic()
            events = write_big(log, args.bytes, compress=log.suffix == ".gz")
            print(f"generated {log} ({events} events) in {time.monotonic() - started:.1f} s", file=sys.stderr)
    results = []
    for log in logs:
        for _ in range(args.rounds):
            measured = run(log, inventory)
            size = args.bytes / 1e6
            row = {
                "log": log.name,
                "uncompressed_mb": round(size, 1),
                "file_mb": round(log.stat().st_size / 1e6, 1),
                **measured,
                "mb_per_s": round(size / float(measured["wall_s"]), 1),
                "mb_per_cpu_s": round(size / max(float(measured["cpu_s"]), 0.01), 1),
            }
            results.append(row)
            verdict = (
                "ok"
                if row["mb_per_cpu_s"] >= TARGET_MB_PER_S and float(measured["max_rss_mb"]) <= TARGET_RSS_MB
                else "MISSED"
            )
            print(
                f"{row['log']}: {row['uncompressed_mb']} MB in {measured['wall_s']} s "
                f"({row['mb_per_s']} MB/s; CPU {measured['cpu_s']} s, {row['mb_per_cpu_s']} MB per CPU-second), peak RSS {measured['max_rss_mb']} MB "
                f"[targets >= {TARGET_MB_PER_S} MB per CPU-second, <= {TARGET_RSS_MB} MB: {verdict}]"
            )
    report = json.loads((OUT / "audit_report.json").read_text())
    print(f"report: {report['summary']['headline']}")
    (OUT / "audit_results.json").write_text(
        json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "results": results}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
