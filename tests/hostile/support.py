"""Running the real CLI on hostile input: bytes in, bytes out, bounded in time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRIVATE = ("--private-registry", "*.corp.example")


def pullguard(
    *args: str,
    stdin: bytes | None = None,
    timeout: float = 120,
    cwd: Path = ROOT,
    reader: str | None = None,
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("PULLGUARD_DEBUG", "COLUMNS", "PULLGUARD_READER")}
    if reader is not None:  # the YAML reader: "fast" (default) or "reference"
        env["PULLGUARD_READER"] = reader
    return subprocess.run(
        [sys.executable, "-m", "pullguard", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


def no_internal_error(result: subprocess.CompletedProcess[bytes]) -> None:
    assert b"internal error" not in result.stderr + result.stdout, result.stderr.decode(errors="replace")
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
