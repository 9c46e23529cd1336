"""Run the command line as a user does: a real subprocess, a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(
    *args: str, cwd: Path = ROOT, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PULLGUARD_DEBUG", "COLUMNS", "NO_COLOR")}
    return subprocess.run(
        [sys.executable, "-m", "pullguard", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean, **(env or {})},
        input=stdin,
        timeout=120,
        check=False,
    )
