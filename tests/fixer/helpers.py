"""Helpers of the `pullguard fix` tests: the command as a user runs it, and pull-secret documents."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "pullguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def scan_json(cwd: Path, *args: str) -> dict[str, Any]:
    done = run(cwd, "scan", ".", "-f", "json", "--no-config", *args)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def findings(cwd: Path, *args: str) -> set[tuple[str, str]]:
    return {(f["checkId"], f["object"]["name"]) for f in scan_json(cwd, *args)["findings"]}


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def secret_config(path: Path, name: str) -> dict[str, Any]:
    """The decoded .dockerconfigjson of Secret `name` in the file (data or stringData)."""
    for document in yaml.safe_load_all(path.read_text()):
        if document and document.get("kind") == "Secret" and document["metadata"]["name"] == name:
            if ".dockerconfigjson" in (document.get("stringData") or {}):
                return json.loads(document["stringData"][".dockerconfigjson"])  # type: ignore[no-any-return]
            return json.loads(base64.b64decode(document["data"][".dockerconfigjson"]))  # type: ignore[no-any-return]
    raise AssertionError(f"no Secret {name} in {path}")
