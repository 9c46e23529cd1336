"""Shared by the distribution tests: where the project is, a clean environment, the built artefacts."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path
    log: str


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this venv's traces, so a subprocess sees only what it installs."""
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PULLGUARD_DEBUG", "COLUMNS"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.update(extra)
    return env
