"""User-facing text cites public references, never the project's internal design notes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gate_support import ROOT, run

from pullguard.checks import REGISTRY
from pullguard.report import catalog

INTERNAL = re.compile(r"\b[Ss]eeds?\b[: ]+\d|SEMANTICS|PRODUCT\.md|UPSTREAM\.md|STYLE\.md|§")


def test_check_docs_readme_and_explain_name_no_internal_document() -> None:
    pages = {f"explain {check_id}": catalog.docs_page(check.info) for check_id, check in REGISTRY.items()}
    pages["README.md"] = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "docs").rglob("*.md")):
        pages[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    found = {name: INTERNAL.findall(text) for name, text in pages.items() if INTERNAL.search(text)}
    assert not found, found


def test_reports_name_no_internal_document() -> None:
    sarif = run("scan", "examples/", "-f", "sarif").stdout
    report = run("scan", "examples/", "-f", "json").stdout
    text = run("scan", "examples/", "--show-fixes").stdout
    for output in (sarif, report, text):
        assert not INTERNAL.search(output), INTERNAL.findall(output)[:5]
    assert json.loads(report)["findings"]


def test_check_docs_say_whether_they_break_pulls() -> None:
    assert "Breaks a pull: **always**" in (ROOT / "docs/checks/PG001.md").read_text(encoding="utf-8")
    assert "Breaks a pull: no" in Path(ROOT / "docs/checks/PG010.md").read_text(encoding="utf-8")
