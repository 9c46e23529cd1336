"""--format markdown is a pull-request comment: it fits GitHub's 65,536 characters and says what it left out."""

from __future__ import annotations

import re
from pathlib import Path

from pullguard.report import markdown
from pullguard.scan import ScanOptions, scan_paths

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: service-with-a-rather-long-name-{n:04d}, namespace: shop}}
spec:
  template:
    spec:
      containers: [{{name: app, image: myregistry.azurecr.io/team/service-{n:04d}:1.0}}]
"""


def test_large_report_fits_in_a_github_comment_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("---\n".join(DEPLOYMENT.format(n=n) for n in range(1500)))
    result = scan_paths([str(path)], ScanOptions())
    assert len(result.findings) >= 1500
    text = markdown.render(result)
    assert len(text) <= markdown.GITHUB_COMMENT_LIMIT
    rows = [line for line in text.splitlines() if line.startswith("| PG")]
    note = re.search(r"… (\d+) more findings are not shown: a comment holds 65,536 characters", text)
    assert note is not None, text[-500:]
    assert int(note[1]) + len(rows) == len(result.findings)
    assert rows  # the most severe that fit are kept


def test_small_report_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "few.yaml"
    path.write_text("---\n".join(DEPLOYMENT.format(n=n) for n in range(3)))
    result = scan_paths([str(path)], ScanOptions())
    text = markdown.render(result)
    assert "not shown" not in text
    assert len([line for line in text.splitlines() if line.startswith("| PG")]) == len(result.findings)
    assert "**(breaks pull)**" in text
