"""Measure what installing pullguard costs, with and without the `cluster` extra.

Builds the wheel, installs it into two fresh virtual environments (`pullguard` and
`pullguard[cluster]`) and prints, for each: the size of what was installed (the
venv's site-packages without pip and setuptools, which every venv has), the number
of distributions installed, and the start-up time (median of several runs) of
`pullguard --version` and of `pullguard scan examples/`, and what importing the
Kubernetes client adds (only commands that read a cluster import it).

    python scripts/install_size.py [--runs N] [--keep DIR]

The README's "Install" section quotes its output. Needs the package index (as pip).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils-precedence.pth")


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def installed(site: Path) -> tuple[float, list[str]]:
    """MB installed and the distributions, without what a fresh venv already has."""
    total = 0
    names: list[str] = []
    for entry in site.iterdir():
        stem = entry.name.split("-")[0]
        if entry.name in BASELINE or stem in BASELINE:
            continue
        total += tree_bytes(entry)
        if entry.name.endswith(".dist-info"):
            names.append(entry.name.removesuffix(".dist-info"))
    return total / 1e6, sorted(names)


def seconds(command: list[str]) -> float:
    """Wall time of one run; a run that fails (exit 2 and up) stops the measurement."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode > 1:
        sys.exit(
            f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode(errors='replace')[:500]}"
        )
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="build the venvs here and keep them")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="pullguard-size-"))
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work / "dist"), str(ROOT)],
        check=True,
    )
    wheel = next((work / "dist").glob("pullguard-*.whl"))
    venvs: dict[str, Path] = {}
    sizes: dict[str, tuple[float, int]] = {}
    for label, spec in (("pullguard", str(wheel)), ("pullguard[cluster]", f"{wheel}[cluster]")):
        venv = work / label.replace("[", "-").replace("]", "")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", spec],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.exit(f"pip install {spec} failed:\n{done.stderr}")
        site = next((venv / "lib").glob("python3*/site-packages"))
        megabytes, names = installed(site)
        venvs[label], sizes[label] = venv, (megabytes, len(names))
    # the variants take turns, run by run, so a busy machine slows both alike
    timings: dict[str, list[float]] = defaultdict(list)
    cluster_python = str(venvs["pullguard[cluster]"] / "bin" / "python")
    for _ in range(args.runs):
        for label, venv in venvs.items():
            exe = str(venv / "bin" / "pullguard")
            timings[label + " version"].append(seconds([exe, "--version"]))
            timings[label + " scan"].append(
                seconds([exe, "scan", "examples/", "-f", "text", "-o", "/dev/null"])
            )
        timings["bare"].append(seconds([cluster_python, "-c", "pass"]))
        timings["client"].append(
            seconds([cluster_python, "-c", "import kubernetes.client, kubernetes.config"])
        )
    median = {key: statistics.median(values) for key, values in timings.items()}
    fastest = {key: min(values) for key, values in timings.items()}

    def both(key: str) -> str:
        return f"{median[key]:.2f}s ({fastest[key]:.2f}s)"

    print(f"{'install':<20} {'MB':>6} {'packages':>9}  {'--version':<16} {'scan examples/':<16}")
    for label in venvs:
        megabytes, count = sizes[label]
        print(
            f"{label:<20} {megabytes:>6.1f} {count:>9}  {both(label + ' version'):<16} {both(label + ' scan'):<16}"
        )
    client = f"{median['client'] - median['bare']:.2f}s ({fastest['client'] - fastest['bare']:.2f}s)"
    print(f"  importing the Kubernetes client (only `--cluster`, `doctor` do): {client}")
    print(
        f"  (median and fastest of {args.runs} runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    if args.keep is None:
        print(f"(venvs in {work}; remove them when done)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
