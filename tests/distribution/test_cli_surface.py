"""What an installed command offers around the scan: -V, --quiet, completion, lazy imports, the extra."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from dist_support import ROOT

import pullguard

EXAMPLES = ROOT / "examples"


def python(code: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PULLGUARD_DEBUG"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def test_dash_capital_v_prints_the_version() -> None:
    for flag in ("-V", "--version"):
        done = subprocess.run(
            [sys.executable, "-m", "pullguard", flag], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0
        assert done.stdout == f"pullguard, version {pullguard.__version__}\n"


def stderr_on_a_terminal(*args: str, tmp_path: Path) -> tuple[int, bytes]:
    """Run pullguard with standard error on a pseudo-terminal (where the progress bar shows)."""
    master, slave = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pullguard", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    return done.returncode, output


def test_quiet_silences_the_progress_bar(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, noisy = stderr_on_a_terminal(
        "scan", str(EXAMPLES), "-f", "json", "-o", str(report), tmp_path=tmp_path
    )
    assert code == 1 and b"reading manifests" in noisy  # the bar is there without --quiet
    first = json.loads(report.read_text())
    for quiet in ("-q", "--quiet"):
        code, silent = stderr_on_a_terminal(
            quiet, "scan", str(EXAMPLES), "-f", "json", "-o", str(report), tmp_path=tmp_path
        )
        assert (code, silent) == (1, b"")
        assert json.loads(report.read_text())["summary"] == first["summary"]  # the report is unchanged


def test_quiet_keeps_errors() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pullguard", "--quiet", "scan", "/nonexistent/manifests"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "/nonexistent/manifests" in done.stderr


def test_completion_recipe_in_help_works() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "pullguard", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert 'eval "$(_PULLGUARD_COMPLETE=bash_source pullguard)"' in help_text
    script = subprocess.run(
        [str(Path(sys.executable).parent / "pullguard")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "_PULLGUARD_COMPLETE": "bash_source"},
    )
    assert script.returncode == 0 and "complete -o nosort -F _pullguard_completion pullguard" in script.stdout
    words = subprocess.run(
        [str(Path(sys.executable).parent / "pullguard")],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "_PULLGUARD_COMPLETE": "bash_complete",
            "COMP_WORDS": "pullguard sc",
            "COMP_CWORD": "1",
        },
    )
    assert words.stdout.splitlines() == ["plain,scan"]


def test_a_file_scan_imports_neither_httpx_nor_the_kubernetes_client() -> None:
    # click runs an option's callback even when the option is absent: --connect-to's imported httpx
    code = (
        "import sys\n"
        "from pullguard.cli import main\n"
        "try:\n"
        "    main(['scan', sys.argv[1], '-o', '/dev/null', *sys.argv[2:]])\n"
        "except SystemExit as exit:\n"
        "    heavy = ('httpx', 'kubernetes', 'urllib3', 'rich')\n"
        "    print(exit.code, sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = python(code, str(EXAMPLES), "--format", "text")
    assert done.stdout.strip() == "1 ['rich']", done.stderr  # the text report is drawn with rich
    done = python(code, str(EXAMPLES), "--format", "json")
    assert done.stdout.strip() == "1 []", done.stderr


BLOCK_KUBERNETES = (
    "import sys\n"
    "sys.modules['kubernetes'] = None  # as if the `cluster` extra were not installed\n"
    "from pullguard.cli import main\n"
    "main(sys.argv[1:])\n"
)


def test_without_the_cluster_extra_cluster_commands_say_how_to_install_it() -> None:
    for args in (["scan", "--cluster"], ["scan", "--context", "a", "--context", "b"], ["doctor", "web-0"]):
        done = python(BLOCK_KUBERNETES, *args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.splitlines()
        assert len(lines) == 1, lines  # once, even for a fleet of two contexts
        assert "pipx install --force 'pullguard[cluster]'" in lines[0]
        assert "pip install 'pullguard[cluster]'" in lines[0]
        assert "scanning files does not need it" in lines[0]


def test_without_the_cluster_extra_a_file_scan_works() -> None:
    done = python(BLOCK_KUBERNETES, "scan", str(EXAMPLES))
    assert done.returncode == 1, done.stderr
    assert "private images have pull credentials configured." in done.stdout.splitlines()[0]
