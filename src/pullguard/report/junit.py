"""JUnit XML for CI test views (GitLab, Jenkins, Azure DevOps): one testsuite per check,
one failing testcase per (check, object), one passing testcase for a check without findings.

Input problems form their own testsuite of errors. Built with ElementTree, so every
text and attribute is escaped; control characters become visible escapes (valid XML 1.0).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from pullguard.checks import REGISTRY, Finding
from pullguard.result import ScanResult
from pullguard.sources.model import Level
from pullguard.text_safety import neutralise


def render(result: ScanResult) -> str:
    by_check: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in result.findings:
        by_check[finding.check_id][str(finding.object)].append(finding)
    root = ET.Element(
        "testsuites",
        name="pullguard",
        tests="0",
        failures=str(sum(len(objects) for objects in by_check.values())),
        errors=str(sum(1 for p in result.problems if p.level is Level.ERROR)),
    )
    total = 0
    for check_id in sorted(set(REGISTRY) | set(by_check)):
        check = REGISTRY.get(check_id)
        title = check.info.title if check else check_id
        objects = by_check.get(check_id, {})
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{check_id} {title}",
            tests=str(max(len(objects), 1)),
            failures=str(len(objects)),
            errors="0",
            skipped="0",
        )
        if not objects:
            ET.SubElement(
                suite, "testcase", classname=f"pullguard.{check_id}", name=f"{check_id}: no findings"
            )
            total += 1
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
            total += 1
    if result.problems:
        suite = ET.SubElement(
            root,
            "testsuite",
            name="input",
            tests=str(len(result.problems)),
            failures="0",
            errors=str(sum(1 for p in result.problems if p.level is Level.ERROR)),
            skipped="0",
        )
        for problem in result.problems:
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
            total += 1
    root.set("tests", str(total))
    properties = ET.Element("properties")
    ET.SubElement(properties, "property", name="summary", value=result.summary.headline)
    for suite in root:
        suite.insert(0, ET.fromstring(ET.tostring(properties)))
    ET.indent(root)
    # XML 1.0 allows no C0 control but tab and newline, and no lone surrogate: CI drops such a file
    return neutralise(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    )
