"""`make bench`: how fast `pullguard scan` is next to a bare YAML parse of the same files.

    .venv/bin/python benchmarks/bench.py [--documents N] [--small-documents M] [--rounds R]
                                         [--corpus PATH] [--big]

For each dataset -- a generated corpus of N documents of the default (large) shape and one of M
small documents (benchmarks/generate.py --shape small), the real-world corpus
(../shared/corpus/realworld, skipped when absent) and, with --big, a generated corpus of 100,000
documents -- it runs, as separate processes of this same interpreter and interleaved
A B A B ... for R rounds:

  A  python -m pullguard scan DIR --format json --output /dev/null
  B  python benchmarks/bare_parse.py DIR      (read + decode + yaml.load_all with CSafeLoader)

Each child's CPU time (user + system, its own and its reaped children's), wall time and peak
RSS (os.wait4) are recorded. The ratio scan/bare is the median of the per-round ratios of CPU
time, so drift in machine speed (and other processes on a shared machine) hits both sides of a
pair alike; the wall-time ratio is shown next to it. Fallbacks: the YAML documents the fast
reader (sources/fastyaml.py) left to the reference reader, out of all YAML documents (JSON
documents are read by Python's json module and counted apart).
Targets: ratio <= 0.5x on every dataset; 100,000 documents in < 15 s with < 1 GB peak RSS.

Then the start-up times (`--version`, `checks`, `explain`, a 10-file scan) and the live-cluster
scan / fetch ratio: benchmarks/startup_bench.py (--startup-rounds, --cluster-pods; 0 skips it).

Exit status is 0 whatever the numbers (a failed scan is reported, not raised); only a crash of
this script itself exits non-zero. Results also go to benchmarks/out/results.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "benchmarks"
OUT = BENCH_DIR / "out"
GENERATE = BENCH_DIR / "generate.py"
BARE_PARSE = BENCH_DIR / "bare_parse.py"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "realworld"

TARGET_RATIO = 0.5  # issue 17: below the bare libyaml parse
BIG_DOCUMENTS = 100_000
TARGET_BIG_SECONDS = 15.0
TARGET_BIG_RSS_BYTES = 1_000_000_000  # 1 GB
SEED = 1


@dataclass
class Child:
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Dataset:
    label: str
    path: str
    big: bool = False
    files: int = 0
    documents: int = 0
    empty_documents: int = 0
    bytes: int = 0
    parse_errors: int = 0
    expected_documents: int | None = None
    scan_documents: int | None = None
    scan_exit: int | None = None
    scan_error: str | None = None
    scan_warning: str | None = None
    scan_s: list[float] = field(default_factory=list)  # CPU time (user + system)
    bare_s: list[float] = field(default_factory=list)
    scan_wall_s: list[float] = field(default_factory=list)
    bare_wall_s: list[float] = field(default_factory=list)
    scan_rss_mb: list[float] = field(default_factory=list)
    bare_rss_mb: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # of CPU time
    wall_ratios: list[float] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    # documents the fast reader took (sources/fastyaml.py); the others fell back to the reference reader
    fast_documents: int | None = None
    reader_documents: int | None = None
    json_documents: int | None = None
    shape: str = "large"
    phases: dict[str, float] | None = None  # in-process CPU seconds per phase (`phases`)


def run_child(argv: list[str]) -> Child:
    """Run argv to completion; wall time and this child's own peak RSS (ru_maxrss, KiB on Linux)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; tell Popen
        stdout = _read_tail(out)
        stderr = _read_tail(err)
    rss_kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime
    return Child(wall, cpu, rss_kib / 1024, proc.returncode, stdout, stderr)


def _read_tail(fh: Any, limit: int = 65536) -> str:
    """The last `limit` bytes only: this process must stay small (see run_child's RSS note)."""
    size = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, size - limit))
    return str(fh.read().decode("utf-8", "replace"))


# Reads a scan report in a child process: a report of a few hundred MB parsed here would grow this
# process, and with vfork/fork + exec a child's ru_maxrss starts from the parent's peak RSS.
_READ_REPORT = """
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as fh:
        data = json.load(fh)
except (OSError, ValueError) as exc:
    print(json.dumps({"error": str(exc)}))
    raise SystemExit(0)
summary = data.get("summary") if isinstance(data, dict) else None
docs = summary.get("documents") if isinstance(summary, dict) else None
ok = isinstance(docs, int) and not isinstance(docs, bool)
print(json.dumps({"documents": docs if ok else None}))
"""


def scan_argv(path: str, output: str) -> list[str]:
    return [sys.executable, "-m", "pullguard", "scan", path, "--format", "json", "--output", output]


def bare_argv(path: str) -> list[str]:
    return [sys.executable, str(BARE_PARSE), path]


def tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_generated(documents: int, seed: int, shape: str = "large") -> Path:
    """benchmarks/out/corpus-[small-]N-sS, regenerated when missing or made by another generate.py."""
    name = f"corpus-{'' if shape == 'large' else shape + '-'}{documents}-s{seed}"
    target = OUT / name
    stamp = OUT / f"{name}.stamp"
    want = hashlib.sha256(GENERATE.read_bytes()).hexdigest()
    if target.is_dir() and stamp.is_file() and stamp.read_text().strip() == want:
        print(f"using generated corpus {target.relative_to(REPO)}")
        return target
    OUT.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        str(GENERATE),
        str(target),
        "--documents",
        str(documents),
        "--seed",
        str(seed),
        "--shape",
        shape,
        "--force",
    ]
    print("generating:", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)
    stamp.write_text(want + "\n")
    return target


def preflight(ds: Dataset) -> None:
    """One untimed run of each side: warms the page cache, counts, checks that the scan works."""
    bare = run_child(bare_argv(ds.path))
    if bare.returncode != 0:
        raise RuntimeError(f"bare parse failed on {ds.path} (exit {bare.returncode}):\n{tail(bare.stderr)}")
    counts = json.loads(bare.stdout.strip().splitlines()[-1])
    ds.files = counts["files"]
    ds.documents = counts["documents"]
    ds.empty_documents = counts["empty_documents"]
    ds.bytes = counts["bytes"]
    ds.parse_errors = counts["errors"]

    report = OUT / f"scan-{ds.label.replace('/', '-')}.json"
    report.unlink(missing_ok=True)
    scan = run_child(scan_argv(ds.path, str(report)))
    ds.scan_exit = scan.returncode
    problem = None
    if not report.is_file():
        # `python -m pkg` without __main__ also exits 1: an exit of 1 counts only with a report.
        problem = f"exit {scan.returncode} and no report written to {report.relative_to(REPO)}"
    else:
        read = subprocess.run(
            [sys.executable, "-c", _READ_REPORT, str(report)], capture_output=True, text=True, check=False
        )
        info: dict[str, Any] = (
            json.loads(read.stdout.strip().splitlines()[-1])
            if read.stdout.strip()
            else {"error": read.stderr}
        )
        if "error" in info:
            problem = f"exit {scan.returncode} but the report is not JSON ({tail(str(info['error']), 2)})"
        else:
            ds.scan_documents = info["documents"]
    if problem:
        ds.scan_error = f"{problem}: {tail(scan.stderr or scan.stdout) or '(no output)'}"
    elif scan.returncode not in (0, 1):
        # A report was written, so the run is timed, but exit >= 2 is an error and is reported.
        ds.scan_warning = (
            f"scan exits {scan.returncode} (error) although it writes a report: "
            f"{tail(scan.stderr or scan.stdout) or '(no output on stdout/stderr)'}"
        )


# One scan in-process, phase by phase (CPU seconds). `read` is reading, splitting and parsing the
# files (a pass that builds nothing); `inventory` is what collecting adds to it. The JSON report is
# written to /dev/null as the timed scan writes it. Also the reader counts (fast / reference / JSON).
_PHASES = """
import json, os, sys, time
started = time.process_time()
from pullguard.cli import tune_garbage_collector
from pullguard.pipeline import collect, run_collected
from pullguard.report import json_report
from pullguard.scan import ScanOptions, file_sources
tune_garbage_collector()
imported = time.process_time()
for source in file_sources([sys.argv[1]]):
    for _ in source.read():
        pass
read = time.process_time()
collected = collect(file_sources([sys.argv[1]]), ScanOptions())
built = time.process_time()
result = run_collected(collected)
analysed = time.process_time()
with open(os.devnull, "w", encoding="utf-8") as out:
    json_report.write(result, out)
written = time.process_time()
stats = result.inventory.stats
print(json.dumps({
    "fast": stats.fast_documents, "documents": stats.documents, "json": stats.json_documents,
    "phases": {"imports": imported - started, "read": read - imported,
               "inventory": (built - read) - (read - imported), "analysis": analysed - built,
               "report": written - analysed},
}))
"""
PHASES = ("imports", "read", "inventory", "analysis", "report")


def phases(ds: Dataset) -> None:
    """Where the scan's CPU goes, and how many documents the fast reader took and how many fell
    back to the reference reader."""
    done = subprocess.run(
        [sys.executable, "-c", _PHASES, ds.path], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or not done.stdout.strip():
        print(f"  phases: not measured ({tail(done.stderr, 2) or 'no output'})", flush=True)
        return
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    ds.fast_documents, ds.reader_documents = counts["fast"], counts["documents"]
    ds.json_documents = counts["json"]
    ds.phases = counts["phases"]
    fallback = fallbacks(ds)
    print(
        f"  reader: {ds.fast_documents} YAML documents by the fast reader, {fallback} by the reference "
        f"reader (fallbacks: {fallback_share(ds)}), {ds.json_documents} JSON documents",
        flush=True,
    )


def phase_lines(datasets: list[Dataset]) -> list[str]:
    """Each phase's CPU as a share of the bare parse's median CPU (in-process, one run)."""
    lines = ["", "Where the scan's CPU goes (one in-process run; each phase / bare parse CPU):"]
    for ds in datasets:
        if ds.phases is None or not ds.bare_s:
            continue
        bare = statistics.median(ds.bare_s)
        parts = ", ".join(f"{name} {ds.phases[name] / bare:.2f}x" for name in PHASES)
        lines.append(f"  {ds.label}: {parts}; sum {sum(ds.phases.values()) / bare:.2f}x")
    return lines


def fallbacks(ds: Dataset) -> int | None:
    if ds.reader_documents is None or ds.fast_documents is None or ds.json_documents is None:
        return None
    return ds.reader_documents - ds.fast_documents - ds.json_documents


def fallback_share(ds: Dataset) -> str:
    fallback = fallbacks(ds)
    if fallback is None or ds.fast_documents is None:
        return "-"
    return f"{fallback / max(fallback + ds.fast_documents, 1):.1%}"


def measure(ds: Dataset, rounds: int) -> None:
    preflight(ds)
    phases(ds)
    if ds.scan_error:
        print(f"  scan FAILED on {ds.label}: {ds.scan_error}\n  (timing the bare parse only)", flush=True)
    for i in range(rounds):
        line = f"  round {i + 1}/{rounds}:"
        if not ds.scan_error:
            a = run_child(scan_argv(ds.path, os.devnull))
            if a.returncode != ds.scan_exit and a.returncode not in (0, 1):
                ds.scan_error = f"exit {a.returncode} in round {i + 1}: {tail(a.stderr) or '(no output)'}"
                print(f"  scan FAILED on {ds.label}: {ds.scan_error}", flush=True)
            else:
                ds.scan_s.append(a.cpu_s)
                ds.scan_wall_s.append(a.wall_s)
                ds.scan_rss_mb.append(a.max_rss_mb)
                line += f" scan {a.cpu_s:.2f}s CPU {a.wall_s:.2f}s wall ({a.max_rss_mb:.0f} MB)"
        b = run_child(bare_argv(ds.path))
        if b.returncode != 0:
            raise RuntimeError(f"bare parse failed on {ds.path} (exit {b.returncode}):\n{tail(b.stderr)}")
        ds.bare_s.append(b.cpu_s)
        ds.bare_wall_s.append(b.wall_s)
        ds.bare_rss_mb.append(b.max_rss_mb)
        line += f" | bare {b.cpu_s:.2f}s CPU {b.wall_s:.2f}s wall ({b.max_rss_mb:.0f} MB)"
        print(line, flush=True)
    if ds.scan_error:
        ds.scan_s.clear()
        ds.scan_wall_s.clear()
        ds.scan_rss_mb.clear()
    else:
        ds.ratios = [a / b for a, b in zip(ds.scan_s, ds.bare_s, strict=True)]
        ds.wall_ratios = [a / b for a, b in zip(ds.scan_wall_s, ds.bare_wall_s, strict=True)]
    judge(ds)


def judge(ds: Dataset) -> None:
    if ds.scan_error:
        ds.verdicts.append(f"FAIL ratio <= {TARGET_RATIO}x: the scan did not run")
    else:
        ratio = statistics.median(ds.ratios)
        ok = ratio <= TARGET_RATIO
        ds.verdicts.append(f"{'PASS' if ok else 'FAIL'} CPU ratio {ratio:.2f}x <= {TARGET_RATIO}x")
    if ds.big:
        if ds.scan_error:
            ds.verdicts.append(f"FAIL {ds.documents} docs < {TARGET_BIG_SECONDS:.0f} s: the scan did not run")
            ds.verdicts.append("FAIL peak RSS < 1 GB: the scan did not run")
        else:
            t = statistics.median(ds.scan_wall_s)
            rss = max(ds.scan_rss_mb)
            ok_t = t < TARGET_BIG_SECONDS
            ok_m = rss * 1024 * 1024 < TARGET_BIG_RSS_BYTES
            ds.verdicts.append(
                f"{'PASS' if ok_t else 'FAIL'} {ds.documents} docs in {t:.1f} s wall "
                f"({statistics.median(ds.scan_s):.1f} s CPU) < {TARGET_BIG_SECONDS:.0f} s"
            )
            ds.verdicts.append(f"{'PASS' if ok_m else 'FAIL'} peak RSS {rss:.0f} MB < 1 GB")
        bare_t = statistics.median(ds.bare_wall_s)
        if bare_t * TARGET_RATIO > TARGET_BIG_SECONDS:
            ds.verdicts.append(
                f"NOTE the bare parse alone takes {bare_t:.1f} s: at {TARGET_RATIO}x the scan would need "
                f"{bare_t * TARGET_RATIO:.1f} s, so both targets cannot hold at once on this machine"
            )


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(datasets: list[Dataset]) -> str:
    head = [
        "dataset",
        "docs",
        "files",
        "MB",
        "scan CPU s",
        "bare CPU s",
        "scan docs/s",
        "scan/bare CPU",
        "(min-max)",
        "scan/bare wall",
        "fallbacks",
        "scan RSS MB",
        "bare RSS MB",
    ]
    rows: list[list[str]] = []
    for ds in datasets:
        scan_med = statistics.median(ds.scan_s) if ds.scan_s else None
        bare_med = statistics.median(ds.bare_s) if ds.bare_s else None
        rows.append(
            [
                ds.label,
                str(ds.documents),
                str(ds.files),
                f"{ds.bytes / 1e6:.1f}",
                fmt(scan_med, ".2f"),
                fmt(bare_med, ".2f"),
                fmt(ds.documents / scan_med if scan_med else None, ",.0f"),
                fmt(statistics.median(ds.ratios) if ds.ratios else None, ".2f") + ("x" if ds.ratios else ""),
                f"{min(ds.ratios):.2f}-{max(ds.ratios):.2f}" if ds.ratios else "-",
                fmt(statistics.median(ds.wall_ratios) if ds.wall_ratios else None, ".2f")
                + ("x" if ds.wall_ratios else ""),
                f"{fallbacks(ds)} ({fallback_share(ds)})" if fallbacks(ds) is not None else "-",
                fmt(max(ds.scan_rss_mb) if ds.scan_rss_mb else None, ".0f"),
                fmt(max(ds.bare_rss_mb) if ds.bare_rss_mb else None, ".0f"),
            ]
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    out = lines
    for ds in datasets:
        notes = list(ds.verdicts)
        if ds.expected_documents is not None and ds.expected_documents != ds.documents:
            notes.append(
                f"WARN generator promised {ds.expected_documents} documents, bare parse saw {ds.documents}"
            )
        if ds.scan_documents is not None:
            same = "same as" if ds.scan_documents == ds.documents else "bare parse saw"
            notes.append(f"scan summary.documents = {ds.scan_documents} ({same} {ds.documents})")
        if ds.parse_errors:
            notes.append(f"{ds.parse_errors} files fail to decode/parse (skipped by the bare parse)")
        if ds.scan_error:
            notes.append(f"scan error: {ds.scan_error}")
        if ds.scan_warning:
            notes.append(f"WARN {ds.scan_warning}")
        out.append(f"{ds.label}:")
        out.extend(f"    {note}" for note in notes)
    return "\n".join(out)


def measure_startup_and_cluster(rounds: int, cluster_pods: int) -> dict[str, Any]:
    """Start-up times of --version, checks, explain and a 10-file scan, and the live-cluster
    scan / fetch ratio (benchmarks/startup_bench.py)."""
    import startup_bench  # benchmarks/, next to this script

    print(f"\n== start-up: whole processes, median of {rounds} interleaved runs", flush=True)
    startup = startup_bench.measure_startup(rounds)
    print(startup_bench.startup_table(startup))
    if not cluster_pods:
        return {"startup": startup}
    print(f"\n== live cluster: {cluster_pods:,} pods (benchmarks/cluster_bench.py)", flush=True)
    # 7 paired rounds: the wall ratio depends on the fetch's own speed, which drifts between
    # rounds here (0.55-0.8 s at 20,000 pods); 3 rounds left the median at the mercy of one
    cluster = startup_bench.measure_cluster(cluster_pods, max(1, cluster_pods // 20), rounds=7)
    print(startup_bench.cluster_lines(cluster))
    return {"startup": startup, "cluster": {k: v for k, v in cluster.items() if k != "lines"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pullguard scan vs bare YAML parse, interleaved.")
    parser.add_argument(
        "--documents", type=int, default=20_000, help="size of the generated corpus (default 20000)"
    )
    parser.add_argument(
        "--small-documents",
        type=int,
        default=20_000,
        help="size of the generated corpus of small documents (generate.py --shape small; default 20000, 0 skips it)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="A/B pairs per dataset (default 5)")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="real-world corpus directory (default ../shared/corpus/realworld)",
    )
    parser.add_argument("--big", action="store_true", help=f"also run {BIG_DOCUMENTS:,} generated documents")
    parser.add_argument(
        "--big-rounds",
        type=int,
        default=1,
        help=f"A/B pairs of the {BIG_DOCUMENTS:,}-document run (default 1: a minute or more each)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="generator seed (default 1)")
    parser.add_argument(
        "--per-folder",
        action="store_true",
        help="also measure each sub-folder of the real-world corpus on its own",
    )
    parser.add_argument(
        "--startup-rounds", type=int, default=10, help="runs of each start-up command (default 10)"
    )
    parser.add_argument(
        "--cluster-pods",
        type=int,
        default=20_000,
        help="pods of the live-cluster ratio (default 20000; 0 skips it)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.documents < 1:
        parser.error("--rounds and --documents must be at least 1")

    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"python {platform.python_version()} ({sys.executable}), PyYAML {yaml.__version__}, "
        f"libyaml {'yes' if yaml.__with_libyaml__ else 'NO'}, {os.cpu_count()} CPUs",
        flush=True,
    )
    if not yaml.__with_libyaml__:
        print("warning: PyYAML has no libyaml here; CSafeLoader is unavailable and the baseline will fail")

    datasets: list[Dataset] = []
    gen = ensure_generated(args.documents, args.seed)
    datasets.append(
        Dataset(
            f"generated-{args.documents}",
            str(gen),
            big=args.documents >= BIG_DOCUMENTS,
            expected_documents=args.documents,
        )
    )
    if args.small_documents:
        small = ensure_generated(args.small_documents, args.seed, "small")
        datasets.append(
            Dataset(
                f"small-{args.small_documents}",
                str(small),
                expected_documents=args.small_documents,
                shape="small",
            )
        )
    corpus: Path = args.corpus.resolve()  # the default is absolute; a given relative path is from cwd
    if corpus.is_dir():
        datasets.append(Dataset("realworld", str(corpus)))
        if args.per_folder:
            datasets.extend(
                Dataset(f"realworld/{folder.name}", str(folder))
                for folder in sorted(corpus.iterdir())
                if folder.is_dir()
            )
    else:
        print(f"skipping the real-world corpus: {corpus} does not exist (pass --corpus PATH)")
    if args.big and args.documents != BIG_DOCUMENTS:
        big = ensure_generated(BIG_DOCUMENTS, args.seed)
        datasets.append(
            Dataset(f"generated-{BIG_DOCUMENTS}", str(big), big=True, expected_documents=BIG_DOCUMENTS)
        )

    started = time.time()
    for ds in datasets:
        print(f"\n== {ds.label}: {ds.path}", flush=True)
        measure(
            ds,
            max(1, args.big_rounds)
            if ds.big and (ds.expected_documents or 0) >= BIG_DOCUMENTS
            else args.rounds,
        )

    print(
        f"\nTargets: scan/bare CPU time <= {TARGET_RATIO}x (median of per-round ratios, same run); "
        f"{BIG_DOCUMENTS:,} documents in < {TARGET_BIG_SECONDS:.0f} s with < 1 GB peak RSS (--big)."
    )
    print(
        f"scan = {' '.join(scan_argv('DIR', os.devnull)[1:])}; bare = bare_parse.py DIR "
        f"(read + decode + yaml.load_all CSafeLoader); {args.rounds} interleaved rounds; "
        "times are whole processes incl. interpreter start-up (CPU = user + system).\n"
    )
    print(table(datasets))
    print("\n".join(phase_lines(datasets)))
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script's own peak RSS: {own_rss:.0f} MB; a child's peak RSS cannot read below it)")

    startup_and_cluster = measure_startup_and_cluster(args.startup_rounds, args.cluster_pods)

    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "python": platform.python_version(),
        "executable": sys.executable,
        "pyyaml": yaml.__version__,
        "libyaml": bool(yaml.__with_libyaml__),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "rounds": args.rounds,
        "targets": {
            "ratio": TARGET_RATIO,
            "big_documents": BIG_DOCUMENTS,
            "big_seconds": TARGET_BIG_SECONDS,
            "big_rss_bytes": TARGET_BIG_RSS_BYTES,
        },
        "datasets": [
            {
                **asdict(ds),
                "scan_median_cpu_s": statistics.median(ds.scan_s) if ds.scan_s else None,
                "bare_median_cpu_s": statistics.median(ds.bare_s) if ds.bare_s else None,
                "scan_median_wall_s": statistics.median(ds.scan_wall_s) if ds.scan_wall_s else None,
                "bare_median_wall_s": statistics.median(ds.bare_wall_s) if ds.bare_wall_s else None,
                "wall_ratio_median": statistics.median(ds.wall_ratios) if ds.wall_ratios else None,
                "fallbacks": fallbacks(ds),
                "scan_docs_per_s": ds.documents / statistics.median(ds.scan_s) if ds.scan_s else None,
                "bare_docs_per_s": ds.documents / statistics.median(ds.bare_s) if ds.bare_s else None,
                "ratio_median": statistics.median(ds.ratios) if ds.ratios else None,
                "ratio_min": min(ds.ratios) if ds.ratios else None,
                "ratio_max": max(ds.ratios) if ds.ratios else None,
                "scan_peak_rss_mb": max(ds.scan_rss_mb) if ds.scan_rss_mb else None,
            }
            for ds in datasets
        ],
    }
    results.update(startup_and_cluster)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults written to {(OUT / 'results.json').relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
