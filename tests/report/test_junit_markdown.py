"""JUnit XML (CI test views) and Markdown (pull-request comments) reports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pullguard.checks import REGISTRY
from pullguard.report import junit, markdown
from pullguard.scan import ScanOptions, ScanResult, scan_paths

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return scan_paths([str(ROOT / "examples")], ScanOptions())


def test_junit_structure(result: ScanResult) -> None:
    root = ET.fromstring(junit.render(result))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert {s.get("name", "").split()[0] for s in suites} >= set(REGISTRY)
    cases = root.findall("testsuite/testcase")
    failures = root.findall("testsuite/testcase/failure")
    assert int(root.get("tests", "-1")) == len(cases)
    assert int(root.get("failures", "-1")) == len(failures)
    for suite in suites:
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))
        assert int(suite.get("failures", "-1")) == len(suite.findall("testcase/failure"))
    objects = {(f.check_id, str(f.object)) for f in result.findings}
    assert len(failures) == len(objects)  # one failing testcase per (check, object)
    for case in root.findall("testsuite/testcase"):
        assert case.get("classname", "").startswith("pullguard.PG")
        failure = case.find("failure")
        if failure is not None:
            assert failure.get("type") in ("info", "low", "medium", "high", "critical")
            assert case.get("file") and case.get("line")
            assert failure.text and "fix:" in failure.text


def test_junit_passing_check_has_a_passing_case(tmp_path: Path) -> None:
    empty = tmp_path / "ns.yaml"
    empty.write_text(  # enforcing Pod Security: a namespace without it is a PG016 finding
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: baseline\n"
    )
    root = ET.fromstring(junit.render(scan_paths([str(empty)], ScanOptions())))
    assert root.get("failures") == "0"
    assert len(root.findall("testsuite/testcase")) == len(REGISTRY)


def test_markdown(result: ScanResult) -> None:
    text = markdown.render(result)
    assert text.startswith(f"### pullguard: {result.summary.headline}\n")
    assert f"**{len(result.findings)} findings**" in text
    assert "#### 🔴 High" in text
    rows = [line for line in text.splitlines() if line.startswith("| PG")]
    assert len(rows) == len(result.findings)
    assert all(line.count(" | ") == 3 for line in rows)  # no unescaped pipe breaks a row


def test_markdown_cell_escapes() -> None:
    # a line break is shown as its escape, as in the text report: a name stays recognisable
    assert markdown.cell("a|b\n<c> `d`") == "a\\|b\\x0a&lt;c&gt; \\`d\\`"
    assert markdown.cell("a\\b") == "a\\\\b"
