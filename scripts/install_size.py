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
import statistics
import subprocess
import sys
import tempfile
import time
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


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


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
    print(f"{'install':<22} {'MB':>6} {'packages':>9} {'--version':>10} {'scan examples/':>15}")
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
        exe = str(venv / "bin" / "pullguard")
        version = median_seconds([exe, "--version"], args.runs)
        scan = median_seconds([exe, "scan", "examples/", "-o", "/dev/null"], args.runs)
        print(f"{label:<22} {megabytes:>6.1f} {len(names):>9} {version:>9.2f}s {scan:>14.2f}s")
        if "cluster" in label:
            python = str(venv / "bin" / "python")
            bare = median_seconds([python, "-c", "pass"], args.runs)
            client = median_seconds([python, "-c", "import kubernetes.client, kubernetes.config"], args.runs)
            print(f"  importing the Kubernetes client (only `--cluster`, `doctor` do): {client - bare:.2f}s")
    if args.keep is None:
        print(f"(venvs in {work}; remove them when done)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
