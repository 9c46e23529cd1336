"""Running the real CLI on hostile input: bytes in, bytes out, bounded in time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

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


def doctor_on_a_stuck_pod(
    tmp_path: Path,
    stuck: dict[str, Any],
    event_reason: str,
    event_message: str,
    *args: str,
) -> subprocess.CompletedProcess[bytes]:
    """`pullguard doctor` on one pod of namespace shop, with one Warning event about it, served by
    the API-server double over HTTP (whoever may create events in the namespace writes the message)."""
    from apiserver_double import ApiServerDouble  # the double and its fixtures live in tests/
    from cluster.fixtures import node, service_account

    name = stuck["metadata"]["name"]
    objects: dict[str, list[dict[str, Any]]] = {
        "pods": [stuck],
        "events": [
            {
                "metadata": {"name": "stuck.1", "namespace": "shop"},
                "involvedObject": {"kind": "Pod", "namespace": "shop", "name": name},
                "reason": event_reason,
                "message": event_message,
                "type": "Warning",
                "lastTimestamp": "2025-01-10T08:05:00Z",
            }
        ],
        "serviceaccounts": [service_account("default", "shop")],
        "nodes": [node("node-1")],
        "secrets": [],
    }
    with ApiServerDouble(objects) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(yaml.safe_dump(api.kubeconfig("prod", namespace="shop")))
        return pullguard("doctor", name, "--kubeconfig", str(config), *args, "--timeout", "3")
