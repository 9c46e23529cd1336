"""What pullguard ships for the cluster (kustomize overlays, the Helm chart): rendered with the
real tools, and scanned by pullguard itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def kustomize(overlay: str) -> list[dict[str, Any]]:
    """`kubectl kustomize deploy/overlays/OVERLAY`, as objects."""
    result = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "deploy" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def assert_no_findings(documents: list[dict[str, Any]], path: Path) -> None:
    """Scan the rendered objects (written to `path`) at --fail-on info: exit 0 and no finding."""
    path.write_text(yaml.safe_dump_all(documents))
    scan = subprocess.run(
        [sys.executable, "-m", "pullguard", "scan", str(path), "--fail-on", "info", "--no-config"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert scan.returncode == 0, scan.stdout + scan.stderr
    assert "No findings." in scan.stdout
