"""Counts in words, through the commands a user runs: one helper (`pullguard.counts`), singular for 1.

Defects a new user reported: `all 1 matching credentials`, `1 errors, 0 warnings` (audit-log),
`Skipped: 1 documents`, `1 finding suppressed (reasons: --format json, suppressedFindings)`.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditlog import auditgen as g
from pullguard.cli import main
from pullguard.counts import noun, plural

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "pullguard"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations: {ANNOTATIONS}
spec:
  template:
    spec:
      imagePullSecrets: [{name: regcred}]
      containers: [{name: app, image: registry.corp.example/shop/web:1.0}]
"""
REGCRED = """\
apiVersion: v1
kind: Secret
metadata: {name: regcred, namespace: shop}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths": {"registry.corp.example": {"username": "u", "password": "p"}}}'
"""


@pytest.mark.parametrize(
    ("count", "word", "many", "expected"),
    [
        (0, "error", None, "0 errors"),
        (1, "error", None, "1 error"),
        (2, "error", None, "2 errors"),
        (1, "policy", "policies", "1 policy"),
        (3, "policy", "policies", "3 policies"),
        (1, "node carries", "nodes carry", "1 node carries"),
        (2, "node carries", "nodes carry", "2 nodes carry"),
    ],
)
def test_plural(count: int, word: str, many: str | None, expected: str) -> None:
    assert plural(count, word, many) == expected
    assert noun(count, word, many) == expected.split(" ", 1)[1]


def test_one_plural_helper() -> None:
    """Three modules each had their own; the reports and the audit log now share pullguard.counts."""
    defined = []
    for path in SRC.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module-level functions
            if isinstance(node, ast.FunctionDef) and node.name in (
                "plural",
                "pluralise",
                "pluralize",
                "count",
            ):
                defined.append(f"{path.relative_to(SRC)}:{node.name}")
    assert defined == ["counts.py:plural"]


def _scan_text(tmp_path: Path, *documents: str) -> str:
    (tmp_path / "app.yaml").write_text("---\n".join(documents), encoding="utf-8")
    done = CliRunner().invoke(
        main,
        ["scan", str(tmp_path), "--no-color", "--no-config", "--fail-on", "never"],
        env={"COLUMNS": "300"},
    )
    assert done.exit_code in (0, 1), done.output
    return done.output


def test_one_skipped_document_is_singular(tmp_path: Path) -> None:
    text = _scan_text(tmp_path, DEPLOYMENT.replace("{ANNOTATIONS}", "{}"), "# only a comment\n", REGCRED)
    assert "Skipped: 1 empty or comment-only document." in text
    two = _scan_text(tmp_path, DEPLOYMENT.replace("{ANNOTATIONS}", "{}"), "# one\n", "# two\n", REGCRED)
    assert "Skipped: 2 empty or comment-only documents." in two


def test_suppressed_line_points_to_the_reasons_apart_from_them(tmp_path: Path) -> None:
    annotated = REGCRED.replace(
        "metadata: {name: regcred, namespace: shop}",
        'metadata: {name: regcred, namespace: shop, annotations: {"pullguard.io/ignore": "PG010: a test fixture"}}',
    )
    text = _scan_text(tmp_path, DEPLOYMENT.replace("{ANNOTATIONS}", "{}"), annotated)
    assert "1 finding suppressed; the reasons are in --format json (suppressedFindings)." in text
    assert "reasons:" not in text


def test_audit_log_one_input_error(tmp_path: Path) -> None:
    good = "".join(g.line(e) for e in [g.kubelet_get(), g.event(verb="get", user="mallory", name="regcred")])
    log = tmp_path / "audit.log"
    log.write_text(good + "not json\n", encoding="utf-8")
    text = subprocess.run(
        [sys.executable, "-m", "pullguard", "audit-log", str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert text.returncode == 2, text.stderr
    assert "Input problems: 1 error, 0 warnings" in text.stdout
    markdown = subprocess.run(
        [sys.executable, "-m", "pullguard", "audit-log", str(log), "-f", "markdown"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "⚠️ 1 input error, 0 warnings (see the text or JSON report)." in markdown.stdout


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_verify_one_matching_credential_failed(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(
        DEPLOYMENT.replace("{ANNOTATIONS}", "{}") + "---\n" + REGCRED, encoding="utf-8"
    )
    done = CliRunner().invoke(
        main,
        [
            "verify",
            str(tmp_path),
            "-f",
            "json",
            "--connect-to",
            f"registry.corp.example:443:127.0.0.1:{_closed_port()}",
            "--connect-timeout",
            "1",
            "--deadline",
            "20",
        ],
    )
    assert done.exit_code == 1, done.output
    (row,) = json.loads(done.output)["results"]
    assert row["outcome"] == "unreachable"
    assert "the matching credential failed and the kubelet does not fall back" in row["note"]
    assert "all 1" not in done.output


def test_fix_one_file(tmp_path: Path) -> None:
    project = tmp_path / "platform"
    shutil.copytree(ROOT / "examples" / "platform", project)
    done = subprocess.run(
        [sys.executable, "-m", "pullguard", "fix", ".", "--no-config"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert re.search(r"^1 fixable in 1 file; \d+ left to do by hand$", done.stderr, re.M), done.stderr
