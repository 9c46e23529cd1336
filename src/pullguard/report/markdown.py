"""Markdown for pull-request comments: the summary line, counts, findings by severity."""

from __future__ import annotations

from collections import defaultdict

from pullguard.checks import Finding, Severity
from pullguard.report.coverage import coverage_line
from pullguard.report.words import count
from pullguard.result import ScanResult

_ICONS = {
    Severity.CRITICAL: "🟥",
    Severity.HIGH: "🔴",
    Severity.MEDIUM: "🟠",
    Severity.LOW: "🔵",
    Severity.INFO: "⚪",
}
_LIMIT = 200  # per severity; a PR comment is read, not searched


def cell(text: str) -> str:
    """One table cell: no line breaks, pipes and markup characters escaped."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    for char in "`*_[]":
        escaped = escaped.replace(char, "\\" + char)
    return " ".join(escaped.split())


def render(result: ScanResult) -> str:
    summary = result.summary
    lines = [f"### pullguard: {summary.headline}", ""]
    counts = ", ".join(f"{n} {s}" for s, n in summary.findings.items()) or "none"
    lines.append(
        f"**{count(len(result.findings), 'finding')}** ({counts}) · {count(summary.files, 'file')}, "
        f"{count(summary.objects, 'object')}, {count(summary.pod_templates, 'pod template')}, "
        f"{count(summary.images, 'image')} ({summary.private_images} private, "
        f"{summary.public_images} public, {summary.unknown_images} unknown registry)."
    )
    by_source = coverage_line(result.resolution)
    if by_source:
        lines.append(f"\n{by_source}")
    if summary.input_errors or summary.input_warnings:
        lines.append(
            f"\n⚠️ {count(summary.input_errors, 'input error')}, {count(summary.input_warnings, 'warning')}: "
            "some documents could not be read (see the text or JSON report)."
        )
    grouped: dict[Severity, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        grouped[finding.severity].append(finding)
    for severity in sorted(grouped, key=lambda s: -s.rank):
        findings = grouped[severity]
        lines += [
            "",
            f"#### {_ICONS[severity]} {severity.value.capitalize()} ({len(findings)})",
            "",
            "| Check | Object | Where | Finding |",
            "|---|---|---|---|",
        ]
        for f in findings[:_LIMIT]:
            lines.append(
                f"| {f.check_id} | {cell(str(f.object))} | {cell(f'{f.location.path}:{f.location.line}')} "
                f"| {cell(f.message)} |"
            )
        if len(findings) > _LIMIT:
            lines.append(f"\n… and {len(findings) - _LIMIT} more {severity.value} findings.")
    if not result.findings:
        lines += ["", "✅ No findings."]
    lines += [
        "",
        "<sub>Exact fixes: `pullguard scan --show-fixes`, or `remediation` in `--format json`.</sub>",
        "",
    ]
    return "\n".join(lines)
