"""The text report people read: one block per finding, the terminal's width, plain when piped."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from gate_support import ROOT, run

ESCAPE = "\x1b["
LONG_NAME = "a-deployment-with-a-very-long-name-that-must-never-be-cut-by-any-column-" + "x" * 40
LONG_IMAGE = f"registry.example.com/team/{'very-long-repository-name-' * 4}app:1.0"
MANIFEST = f"""\
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: shop}}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: eyJhdXRocyI6IHsicmVnaXN0cnkuZXhhbXBsZS5jb20iOiB7ImF1dGgiOiAiZFhObGNqcHdZWE56In19fQ==
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {LONG_NAME}, namespace: shop}}
spec:
  template:
    spec:
      imagePullSecrets: [{{name: gone}}]
      containers: [{{name: app, image: "{LONG_IMAGE}:x"}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: one, namespace: shop}}
spec:
  containers: [{{name: app, image: "{LONG_IMAGE}"}}]
"""


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(MANIFEST.replace(f'"{LONG_IMAGE}:x"', f'"{LONG_IMAGE}"'))
    return path


def test_one_block_per_finding_header_then_message(tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    out = run("scan", str(path), env={"COLUMNS": "80"}).stdout
    header = re.compile(
        rf"^{re.escape(str(path))}:(\d+)  (PG\d{{3}})  (info|low|medium|high|critical)  (\S+ \S+)"
    )
    headers = [line for line in out.splitlines() if header.match(line)]
    assert len(headers) >= 3, out
    assert f"{path}:15  PG001  low  Deployment shop/{LONG_NAME}  breaks pull" in headers
    for line in out.splitlines():
        assert line == line.rstrip(), repr(line)  # no trailing spaces
        assert "…" not in line  # nothing is cut
    # the message follows its header, indented, wrapped at 80 columns except for unbreakable words
    lines = out.splitlines()
    start = lines.index(f"{path}:15  PG001  low  Deployment shop/{LONG_NAME}  breaks pull")
    body = lines[start + 1 : lines.index("", start)]
    assert body and all(line.startswith("  ") for line in body)
    assert all(len(line) <= 80 or " " not in line.strip() for line in body), body
    assert LONG_IMAGE in out  # an image name is never split


def test_columns_decides_the_width_and_piped_output_is_not_wrapped(tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    wide = run("scan", str(path), env={"COLUMNS": "200"}).stdout
    narrow = run("scan", str(path), env={"COLUMNS": "80"}).stdout
    piped = run("scan", str(path)).stdout
    assert len(narrow.splitlines()) > len(wide.splitlines()) >= len(piped.splitlines())
    assert max(len(line) for line in wide.splitlines()) > 120
    assert ESCAPE not in piped


def _on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """Run with standard output on a pseudo-terminal, as a person does."""
    leader, follower = pty.openpty()
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    process = subprocess.Popen(
        [sys.executable, "-m", "pullguard", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env={**clean, **env, "TERM": "xterm-256color"},
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode()


def test_no_color_is_honoured_and_color_never_always(tmp_path: Path) -> None:
    path = str(_manifest(tmp_path))
    assert ESCAPE in _on_a_terminal("scan", path, env={})
    assert ESCAPE not in _on_a_terminal("scan", path, env={"NO_COLOR": "1"})
    assert ESCAPE not in _on_a_terminal("scan", path, "--color", "never", env={})
    assert ESCAPE in _on_a_terminal("scan", path, "--color", "always", env={"NO_COLOR": "1"})
    assert ESCAPE in run("scan", path, "--color", "always").stdout  # piped, forced
    assert ESCAPE not in run("scan", path, "--color=auto").stdout


def test_plurals() -> None:
    out = run("scan", str(ROOT / "tests/fixtures/pg001/fail/no_secrets.yaml")).stdout
    assert "1 file, 2 documents, 2 objects, 1 pod template, 1 image (" in out
    assert re.search(r"^2 findings \(", out, re.M), out
    for wrong in ("1 files", "1 findings", "1 images", "1 pod templates", "1 objects"):
        assert wrong not in out


def test_plurals_in_html_and_markdown() -> None:
    from pullguard.report import html, markdown
    from pullguard.scan import ScanOptions, scan_paths

    result = scan_paths([str(ROOT / "tests/fixtures/pg001/fail/no_secrets.yaml")], ScanOptions())
    page = html.render(result)
    assert "<b>1</b><span>file</span>" in page and "1 file, 2 documents, 2 objects, 1 image (" in page
    assert "<b>1</b><span>files</span>" not in page
    comment = markdown.render(result)
    assert "1 file, 2 objects, 1 pod template, 1 image (" in comment
