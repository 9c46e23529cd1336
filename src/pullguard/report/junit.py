"""JUnit XML for CI test views (GitLab, Jenkins, Azure DevOps): one testsuite per check,
one failing testcase per (check, object), one passing testcase for a check without findings.

Input problems form their own testsuite of errors. Built with ElementTree, so every
text and attribute is escaped; control characters become visible escapes (valid XML 1.0).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence

from pullguard.checks import REGISTRY, Finding
from pullguard.result import ScanResult
from pullguard.sources.model import InputProblem, Level
from pullguard.text_safety import neutralise


def render(result: ScanResult) -> str:
    by_check: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in result.findings:
        by_check[finding.check_id][str(finding.object)].append(finding)
    root = ET.Element("testsuites", name="pullguard")
    for check_id in sorted(set(REGISTRY) | set(by_check)):
        check = REGISTRY.get(check_id)
        title = check.info.title if check else check_id
        objects = by_check.get(check_id, {})
        suite = ET.SubElement(root, "testsuite", name=f"{check_id} {title}")
        if not objects:
            ET.SubElement(
                suite, "testcase", classname=f"pullguard.{check_id}", name=f"{check_id}: no findings"
            )
            continue
        for name, findings in sorted(objects.items()):
            first = findings[0]
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"pullguard.{check_id}",
                name=f"{check_id} {name}",
                file=first.location.path,
                line=str(first.location.line),
            )
            worst = max(findings, key=lambda f: f.severity.rank)
            failure = ET.SubElement(
                case,
                "failure",
                message=f"[{worst.severity.value}] {first.message}",
                type=worst.severity.value,
            )
            failure.text = "\n\n".join(
                f"[{f.severity.value}] {f.message}\nat {f.location}\nfix:\n{f.remediation}" for f in findings
            )
    add_problem_suite(root, result.problems)
    return finish(root, result.summary.headline)


def add_problem_suite(root: ET.Element, problems: Sequence[InputProblem]) -> None:
    """Input problems as their own suite: an error is a test error, a warning passes with its text."""
    if not problems:
        return
    suite = ET.SubElement(root, "testsuite", name="input")
    for problem in problems:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="pullguard.input",
            name=f"{problem.code} {problem.location}",
            file=problem.location.path,
            line=str(problem.location.line),
        )
        if problem.level is Level.ERROR:
            ET.SubElement(case, "error", message=problem.message, type=problem.code).text = str(problem)
        else:
            ET.SubElement(case, "system-out").text = str(problem)


def finish(root: ET.Element, headline: str) -> str:
    """Counts on every suite and on the root (from the cases themselves), the headline as each
    suite's property, and the document as valid XML 1.0."""
    for suite in root:
        cases = list(suite.iter("testcase"))
        suite.set("tests", str(len(cases)))
        for tag, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            suite.set(key, str(sum(1 for case in cases if case.find(tag) is not None)))
        properties = ET.Element("properties")
        ET.SubElement(properties, "property", name="summary", value=headline)
        suite.insert(0, properties)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in root)))
    ET.indent(root)
    # XML 1.0 allows no C0 control but tab and newline, and no lone surrogate: CI drops such a file
    return neutralise(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    )
