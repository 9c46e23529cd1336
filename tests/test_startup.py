"""Start-up: each command imports only what it uses (README "Performance").

`pullguard --version`, `checks` and `explain` must start without a YAML reader, rich, httpx, the
Kubernetes client, the pipeline or the checks (whose declarations `checks`/`explain` read
from data/catalog.json); a file scan without httpx or the Kubernetes client. Each command
runs in a fresh interpreter under `python -X importtime`, which lists every module imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("yaml", "yaml_rs", "rich", "httpx", "kubernetes", "ruamel")
NEVER_AT_START = (
    "pullguard.pipeline",
    "pullguard.scan",
    "pullguard.checks",
    "pullguard.inventory",
    "pullguard.sources",
    "pullguard.config",
    "pullguard.registry",
    "pullguard.secrets",
    "pullguard.fixer",
)


def imported(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules `pullguard ARGS` imports, from its -X importtime trace on standard error."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pullguard", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and not line.rstrip().endswith("package")
    }
    return modules, done


def _under(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


@pytest.mark.parametrize("args", [("--version",), ("checks",), ("explain", "PG001")])
def test_catalog_and_version_import_nothing_heavy(args: tuple[str, ...]) -> None:
    modules, done = imported(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pullguard.cli" in modules  # the trace is read right
    assert _under(modules, HEAVY) == []
    assert _under(modules, NEVER_AT_START) == []


def test_version_imports_only_click_and_the_command_line() -> None:
    modules, done = imported("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("pullguard, version ")
    ours = _under(modules, ("pullguard",))
    assert ours == [
        "pullguard",
        "pullguard.cli",
        "pullguard.cli_options",
        "pullguard.errors",
        "pullguard.report",
        "pullguard.report.formats",
    ]


def test_lazy_commands_still_run() -> None:
    """`secret` and `fix` are imported when asked for: their help and their errors still work."""
    for command in ("secret", "fix"):
        _, done = imported(command, "--help")
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"pullguard {command} [OPTIONS]" in done.stdout
    _, done = imported("no-such-command")
    assert done.returncode == 2
    assert "No such command 'no-such-command'" in done.stderr


def test_file_scan_imports_no_network_client(tmp_path: Path) -> None:
    """A file scan needs YAML and the pipeline, not httpx (registries) or the Kubernetes client."""
    modules, done = imported(
        "scan", str(ROOT / "examples"), "--format", "json", "-o", str(tmp_path / "r.json")
    )
    assert done.returncode == 1, done.stderr[-2000:]  # the examples have findings
    assert "pullguard.pipeline" in modules
    assert (
        _under(modules, ("httpx", "kubernetes", "rich", "pullguard.registry", "pullguard.sources.cluster"))
        == []
    )
