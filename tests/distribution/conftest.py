"""Fixtures for the distribution tests: the sdist and wheel as a release builds them.

`python -m build` makes the sdist, then the wheel from the sdist (so a file missing from
the sdist breaks the wheel), with build isolation: the build backend comes from the
package index, as on a fresh machine. Built once per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dist_support import ROOT, Built, clean_env


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dist")
    # byte-compiling follows PYTHONDONTWRITEBYTECODE; unset it so the log shows only real warnings
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    (sdist,) = out.glob("pullguard-*.tar.gz")
    (wheel,) = out.glob("pullguard-*-py3-none-any.whl")
    return Built(sdist, wheel, log)


@pytest.fixture(scope="session")
def pipx_bin(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pipx install` of the built wheel (pipx from PyPI, as a user runs it): its bin directory."""
    home = tmp_path_factory.mktemp("pipx")
    bin_dir = home / "bin"
    env = clean_env(PIPX_HOME=str(home / "home"), PIPX_BIN_DIR=str(bin_dir), PIPX_MAN_DIR=str(home / "man"))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "pipx"), "install", str(built.wheel)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return bin_dir
