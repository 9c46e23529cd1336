"""Markdown for pull-request comments: the summary line, counts, findings by severity."""

from __future__ import annotations

from collections import defaultdict

from pullguard.checks import Finding, Severity
from pullguard.report.console import plural
from pullguard.report.coverage import coverage_line
from pullguard.result import ScanResult
from pullguard.text_safety import one_line

_ICONS = {
    Severity.CRITICAL: "🟥",
    Severity.HIGH: "🔴",
    Severity.MEDIUM: "🟠",
    Severity.LOW: "🔵",
    Severity.INFO: "⚪",
}
_LIMIT = 200  # per severity; a PR comment is read, not searched


def cell(text: str) -> str:
    """One table cell: line breaks and tabs shown as escapes (`\\x0a`, as in the text report: a
    name or path that holds one stays recognisable, and no row ends early), backslashes, pipes and
    markup characters escaped."""
    escaped = one_line(text.replace("\\", "\\\\"))
    escaped = escaped.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    for char in "`*_[]":
        escaped = escaped.replace(char, "\\" + char)
    return " ".join(escaped.split())


GITHUB_COMMENT_LIMIT = 65_536  # characters in one issue or pull-request comment (GitHub's limit)


def render(result: ScanResult, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The comment; when the findings do not fit in `limit` characters, the rows that do not fit
    are left out (most severe first are kept) and a note says how many and where to see them."""
    summary = result.summary
    lines = [f"### pullguard: {summary.headline}", ""]
    counts = ", ".join(f"{n} {s}" for s, n in summary.findings.items()) or "none"
    breaking = sum(1 for f in result.findings if f.breaks_pull)
    lines.append(
        f"**{plural(len(result.findings), 'finding')}** ({counts})"
        + (f", **{breaking} {'breaks' if breaking == 1 else 'break'} a pull**" if breaking else "")
        + f" · {plural(summary.files, 'file')}, {plural(summary.objects, 'object')}, "
        f"{plural(summary.pod_templates, 'pod template')}, {plural(summary.images, 'image')} "
        f"({summary.private_images} private, {summary.public_images} public, {summary.unknown_images} unknown registry)."
    )
    by_source = coverage_line(result.resolution)
    if by_source:
        lines.append(f"\n{by_source}")
    if summary.input_errors or summary.input_warnings:
        lines.append(
            f"\n⚠️ {plural(summary.input_errors, 'input error')}, {plural(summary.input_warnings, 'warning')}: "
            "some documents could not be read (see the text or JSON report)."
        )
    footer = [
        "",
        "<sub>Exact fixes: `pullguard scan --show-fixes`, or `fixes` in `--format json`.</sub>",
        "",
    ]
    note_room = 400  # for the note on what was left out
    budget = limit - len("\n".join(footer)) - note_room
    used = len("\n".join(lines))
    left_out = 0
    grouped: dict[Severity, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        grouped[finding.severity].append(finding)
    for severity in sorted(grouped, key=lambda s: -s.rank):
        findings = grouped[severity]
        head = [
            "",
            f"#### {_ICONS[severity]} {severity.value.capitalize()} ({len(findings)})",
            "",
            "| Check | Object | Where | Finding |",
            "|---|---|---|---|",
        ]
        head_size = len("\n".join(head)) + 1
        if left_out or used + head_size > budget:
            left_out += len(findings)
            continue
        lines += head
        used += head_size
        for index, f in enumerate(findings):
            mark = " **(breaks pull)**" if f.breaks_pull else ""
            row = (
                f"| {f.check_id} | {cell(str(f.object))} | {cell(f'{f.location.path}:{f.location.line}')} "
                f"| {cell(f.message)}{mark} |"
            )
            if index >= _LIMIT or used + len(row) + 1 > budget:
                left_out += len(findings) - index
                break
            lines.append(row)
            used += len(row) + 1
    if left_out:
        lines.append(
            f"\n… {plural(left_out, 'more finding is', 'more findings are')} not shown: a comment holds "
            f"{limit:,} characters. The full list: `pullguard scan --format json` or `--format sarif`."
        )
    if not result.findings:
        lines += ["", "✅ No findings."]
    lines += footer
    return "\n".join(lines)
