"""SARIF 2.1.0 for code scanning: one rule per declared check, one result per finding."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from pullguard import __version__
from pullguard.checks import REGISTRY, Finding, Severity
from pullguard.checks.base import STANDARDS
from pullguard.remediation.plan import Plan
from pullguard.remediation.render import sarif_fixes
from pullguard.result import ScanResult
from pullguard.sources.model import Level, Location
from pullguard.suppress import SuppressedFinding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/pullguard/pullguard"
_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads this property to rank security results.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _uri(path: str) -> str:
    if path == "-":
        return "stdin"
    return quote(path.replace("\\", "/").removeprefix("./"))


def _physical(where: Location) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(where.line, 1)}
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(where.path)}, "region": region}}


def _rules() -> list[dict[str, Any]]:
    rules = []
    for check_id, check in sorted(REGISTRY.items()):
        info = check.info
        rules.append(
            {
                "id": check_id,
                "name": "".join(word.capitalize() for word in info.title.replace(",", "").split()),
                "shortDescription": {"text": info.title},
                "fullDescription": {"text": info.description},
                "help": {
                    "text": f"{info.description}\n\nRemediation: {info.remediation}",
                    "markdown": f"{info.description}\n\n**Remediation:** {info.remediation}\n\n"
                    + "\n".join(f"- {STANDARDS.get(s, s)}" for s in info.standards),
                },
                "defaultConfiguration": {"level": _LEVELS[info.severity]},
                "properties": {
                    "tags": ["security", "kubernetes", *info.standards],
                    "security-severity": _SECURITY_SEVERITY[info.severity],
                    "precision": "high",
                },
            }
        )
    return rules


def _fixes(plan: Plan | None, finding: Finding) -> dict[str, Any]:
    """SARIF `fixes`: the fix plan's steps for this finding (remediation/plan.py)."""
    if plan is None:
        return {}
    fixes = sarif_fixes(plan, finding, _uri(finding.location.path), finding.location.line)
    return {"fixes": fixes} if fixes else {}


def results_of(
    findings: Sequence[Finding], suppressed: Sequence[SuppressedFinding], plan: Plan | None = None
) -> list[dict[str, Any]]:
    """SARIF results of findings, then of suppressed findings (kept, marked, so reviews can audit them)."""
    rule_index = {check_id: index for index, check_id in enumerate(sorted(REGISTRY))}

    def result_of(f: Finding) -> dict[str, Any]:
        return {
            "ruleId": f.check_id,
            "ruleIndex": rule_index[f.check_id],
            "level": _LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [_physical(f.location)],
            "partialFingerprints": {
                "pullguard/v1": f"{f.check_id}:{f.cluster + ':' if f.cluster else ''}{f.object}:"
                f"{f.container or ''}:{f.image or ''}"
            },
            "properties": {
                "severity": f.severity.value,
                "breaksPull": f.breaks_pull,
                "remediation": f.remediation,
            }
            | ({"cluster": f.cluster} if f.cluster else {}),
        } | _fixes(plan, f)

    results = [result_of(f) for f in findings]
    for silenced in suppressed:
        f, why = silenced.finding, silenced.suppression
        item = result_of(f)
        item["suppressions"] = [
            {
                "kind": "inSource" if why.source.startswith("annotation") else "external",
                "status": "accepted",
                "justification": f"{why.reason} ({why.source}"
                + (f", expires {why.expires}" if why.expires else "")
                + ")",
            }
        ]
        results.append(item)
    return results


def render_findings(
    findings: Sequence[Finding], suppressed: Sequence[SuppressedFinding], summary: str
) -> str:
    """A run of findings that belong to no single scan (cross-cluster PG007 of a fleet)."""
    return sarif_log(_rules(), results_of(findings, suppressed), {"executionSuccessful": True}, summary)


def render(result: ScanResult) -> str:
    results = results_of(result.findings, result.suppressed, result.plan)
    notifications = [
        {
            "level": "error" if p.level is Level.ERROR else "warning",
            "message": {"text": f"{p.location}: {p.message}"},
            "locations": [_physical(p.location)],
            "descriptor": {"id": p.code},
        }
        for p in result.problems
    ]
    invocation = {
        "executionSuccessful": not any(p.level is Level.ERROR for p in result.problems),
        "toolExecutionNotifications": notifications,
    }
    return sarif_log(_rules(), results, invocation, result.summary.headline)


def sarif_log(
    rules: list[dict[str, Any]], results: list[dict[str, Any]], invocation: dict[str, Any], summary: str
) -> str:
    """One SARIF 2.1.0 run of pullguard: shared by `scan` and `verify`."""
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pullguard",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "results": results,
                "properties": {"summary": summary},
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
