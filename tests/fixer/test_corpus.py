"""`pullguard fix --write` on the real-world corpus (plus examples/, which has one fix of each kind):
only the files with a fix change (no stray temporary file), and a second run finds nothing to fix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fixer.helpers import run

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared/corpus/realworld"
if not CORPUS.is_dir():
    pytest.skip(
        "../shared/corpus/realworld is absent: corpus tests need the shared corpus next to the repository",
        allow_module_level=True,
    )

pytestmark = pytest.mark.corpus


def test_write_changes_only_the_files_with_a_fix(tmp_path: Path) -> None:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target, symlinks=True)
    shutil.copytree(ROOT / "examples", target / "zz-examples")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "."], cwd=target, check=True)
    subprocess.run([*git, "add", "-A"], cwd=target, check=True)
    subprocess.run([*git, "commit", "-qm", "corpus"], cwd=target, check=True)
    # the corpus holds input scan cannot read (invalid YAML, templates): listed, exit 2 unless allowed
    written = run(target, "fix", ".", "--no-config", "--write", "--allow-input-errors")
    assert written.returncode == 0, written.stderr
    assert "Input problems: " in written.stderr
    changed = subprocess.run(
        ["git", "diff", "--name-only"], cwd=target, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(changed) == [
        "zz-examples/platform/platform.yaml",
        "zz-examples/shop/secrets.yaml",
        "zz-examples/shop/workloads.yaml",
    ]
    assert "4 fixed in 3 files" in written.stderr
    assert not subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=target,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.count("??")
    again = run(target, "fix", ".", "--no-config")
    assert again.returncode == 2 and again.stdout == "", again.stderr
    assert "0 fixable in 0 files" in again.stderr
