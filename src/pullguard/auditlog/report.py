"""`pullguard audit-log` reports in every format (dispatched by `report.formats.render_audit`).

Metadata only: never a request or response body.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, TextIO

from pullguard import __version__
from pullguard.auditlog.classify import Verdict
from pullguard.auditlog.model import CHECK, LEAK_CHECK, AuditResult, Readings, clean, plural, secret_label
from pullguard.checks import Finding
from pullguard.report.json_report import finding as finding_json
from pullguard.report.json_report import location as location_json
from pullguard.report.json_report import suppression as suppression_json
from pullguard.sources.model import Level
from pullguard.text_safety import one_line

_SHOWN_READERS = 20


def render_json(result: AuditResult, out: TextIO) -> None:
    json.dump(to_json(result), out, indent=2)
    out.write("\n")


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _verbs(reading: Readings) -> str:
    return ", ".join(f"{verb} ×{count}" for verb, count in sorted(reading.verbs.items())) or "-"


def _label(reading: Readings) -> str:
    if reading.flags:
        return "UNEXPECTED"
    if not reading.reads:
        return "denied" if reading.denied else "failed"
    return reading.judgement.verdict.value


def render_text(result: AuditResult, out: TextIO) -> None:
    stats = result.stats
    write = out.write
    write(f"{result.headline}\n")
    write(
        f"{plural(stats.files, 'file')}, {plural(stats.events, 'event')} ({stats.secret_events} about secrets), "
        f"{plural(result.requests, 'request')} about {'pull secrets' if result.secrets_known else 'secrets'}.\n"
    )
    if result.secrets_known:
        write(
            f"Pull secrets and who may read them: the inventory ({plural(result.pull_secrets, 'pull secret')}).\n"
        )
    else:
        write(
            "No inventory given: every secret the events name is reported, and no RBAC grant is known "
            "(give manifests with --manifests, or a cluster with --cluster/--context, to judge grants).\n"
        )
    if result.policy:
        write(f"Judged with: {result.policy}.\n")
    if result.overflow:
        write(f"{result.overflow} reads beyond the limit of distinct (secret, reader) pairs: counted only.\n")
    if result.findings:
        write(f"\nFindings ({len(result.findings)}):\n")
        for item in result.findings:
            where = one_line(f"{item.object}  {item.location.path}")  # a line break in a name is shown
            write(f"  {item.severity.value.upper():8} {item.check_id} {where}:{item.location.line}\n")
            write(f"    {item.message}\n")
    else:
        write("\nNo findings.\n")
    if result.suppressed:
        write(
            f"{plural(len(result.suppressed), 'finding')} suppressed (reasons: --format json, suppressedFindings).\n"
        )
    by_secret = result.by_secret()
    if by_secret:
        write("\nPer secret:\n")
    for (namespace, name), readings in by_secret.items():
        reads = sum(r.reads for r in readings)
        denied = sum(r.denied for r in readings)
        readers = sum(1 for r in readings if r.reads)
        firsts = [r.first for r in readings if r.first is not None]
        lasts = [r.last for r in readings if r.last is not None]
        span = f", {min(firsts).isoformat()} to {max(lasts).isoformat()}" if firsts and lasts else ""
        extra = f"; {denied} denied" if denied else ""
        write(
            f"  {secret_label(namespace, name)}: {plural(reads, 'read')} by {plural(readers, 'subject')}{span}{extra}\n"
        )
        for reading in readings[:_SHOWN_READERS]:
            via = (
                f" (impersonated by {', '.join(clean(i) for i in reading.impersonators)})"
                if reading.impersonators
                else ""
            )
            flags = f" [{', '.join(sorted(reading.flags))}]" if reading.flags else ""
            counts = _verbs(reading) if reading.reads else f"{reading.denied} denied, {reading.failed} failed"
            why = f" - {reading.judgement.why}" if reading.judgement.verdict is not Verdict.NO_GRANT else ""
            write(f"    {_label(reading):10} {clean(reading.subject)}{via}: {counts}{flags}{why}\n")
        if len(readings) > _SHOWN_READERS:
            write(
                f"    and {plural(len(readings) - _SHOWN_READERS, 'more reader', 'more readers')} (--format json lists all)\n"
            )
    by_subject = result.by_subject()
    if by_subject:
        write("\nPer subject:\n")
    for subject, readings in by_subject.items():
        read = [r for r in readings if r.reads]
        shown = ", ".join(f"{secret_label(r.namespace, r.name)} ({r.reads})" for r in read[:10])
        more = f" and {len(read) - 10} more" if len(read) > 10 else ""
        denied = result.denied_by_subject.get(subject, 0)
        tail = f"; {plural(denied, 'denied attempt')}" if denied else ""
        write(f"  {clean(subject)}: {shown or 'no reads'}{more}{tail}\n")
    if result.problems:
        errors = sum(1 for p in result.problems if p.level is Level.ERROR)
        write(
            f"\nInput problems: {plural(errors, 'error')}, {plural(len(result.problems) - errors, 'warning')}\n"
        )
        for problem in result.problems:
            write(f"  {problem.location.path}:{problem.location.line}: {problem.code}: {problem.message}\n")
    write("\nRequest and response bodies are never shown: events are judged by their metadata only.\n")


def _reading_json(reading: Readings) -> dict[str, Any]:
    return {
        "namespace": reading.namespace,
        "name": reading.name,
        "subject": reading.subject,
        "groups": list(reading.groups),
        "verdict": reading.judgement.verdict.value,
        "why": reading.judgement.why,
        "unexpected": bool(reading.flags),
        "flags": {flag.value: count for flag, count in sorted(reading.flags.items())},
        "reads": reading.reads,
        "denied": reading.denied,
        "failed": reading.failed,
        "verbs": dict(sorted(reading.verbs.items())),
        "first": _when(reading.first),
        "last": _when(reading.last),
        "impersonatedBy": list(reading.impersonators),
        "userAgents": dict(reading.user_agents.most_common()),
        "sourceIPs": dict(reading.sources.most_common()),
        "authorizationReason": reading.authz_reason or None,
        "firstSeen": location_json(reading.first_seen) if reading.first_seen else None,
    }


def to_json(result: AuditResult) -> dict[str, Any]:
    stats = result.stats
    secrets = []
    for (namespace, name), readings in result.by_secret().items():
        firsts = [r.first for r in readings if r.first is not None]
        lasts = [r.last for r in readings if r.last is not None]
        verbs: dict[str, int] = {}
        for reading in readings:
            for verb, count in reading.verbs.items():
                verbs[verb] = verbs.get(verb, 0) + count
        secrets.append(
            {
                "namespace": namespace,
                "name": name,
                "reads": sum(r.reads for r in readings),
                "denied": sum(r.denied for r in readings),
                "failed": sum(r.failed for r in readings),
                "readers": sorted({r.subject for r in readings if r.reads}),
                "verbs": dict(sorted(verbs.items())),
                "first": _when(min(firsts)) if firsts else None,
                "last": _when(max(lasts)) if lasts else None,
                "readings": [_reading_json(r) for r in readings],
            }
        )
    subjects = [
        {
            "subject": subject,
            "reads": sum(r.reads for r in readings),
            "denied": result.denied_by_subject.get(subject, 0),
            "unexpected": any(r.flags for r in readings),
            "secrets": [
                {"namespace": r.namespace, "name": r.name, "reads": r.reads, "denied": r.denied}
                for r in readings
            ],
        }
        for subject, readings in result.by_subject().items()
    ]
    return {
        "tool": "pullguard",
        "version": __version__,
        "report": "audit-log",
        "summary": {
            "headline": result.headline,
            "files": stats.files,
            "events": stats.events,
            "secretEvents": stats.secret_events,
            "requests": result.requests,
            "reads": result.reads,
            "denied": result.denied,
            "stages": dict(sorted(result.stages.items())),
            "pullSecretsFromInventory": result.secrets_known,
            "pullSecrets": result.pull_secrets,
            "overflow": result.overflow,
            "policy": result.policy,
            "eventsWithBodies": {path: count for path, (count, _, _) in sorted(result.leaks.items())},
        },
        "findings": [finding_json(f) for f in result.findings],
        "suppressedFindings": [
            {**finding_json(s.finding), "suppression": suppression_json(s.suppression)}
            for s in result.suppressed
        ],
        "secrets": secrets,
        "subjects": subjects,
        "problems": [
            {
                "location": location_json(p.location),
                "level": p.level.value,
                "code": p.code,
                "message": p.message,
            }
            for p in result.problems
        ],
    }


def _reader_of(message: str) -> str:
    found = re.search(r" was read by '([^']*)'", message)
    return found.group(1) if found else ""


def to_sarif(result: AuditResult) -> str:
    from pullguard.report import sarif

    rules = sarif._rules()
    index = {rule["id"]: number for number, rule in enumerate(rules)}
    results = [
        {
            "ruleId": f.check_id,
            "ruleIndex": index[f.check_id],
            "level": sarif._LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [sarif._physical(f.location)],
            "partialFingerprints": {"pullguard/v1": f"{f.check_id}:{f.object}:{_reader_of(f.message)}"},
            "properties": {"severity": f.severity.value, "remediation": f.remediation},
        }
        for f in result.findings
    ]
    notifications = [
        {
            "level": "error" if p.level is Level.ERROR else "warning",
            "message": {"text": f"{p.location.path}:{p.location.line}: {p.message}"},
            "locations": [sarif._physical(p.location)],
            "descriptor": {"id": p.code},
        }
        for p in result.problems
    ]
    invocation = {
        "executionSuccessful": not any(p.level is Level.ERROR for p in result.problems),
        "toolExecutionNotifications": notifications,
    }
    return sarif.sarif_log(rules, results, invocation, result.headline)


# -- JUnit, Markdown, HTML ---------------------------------------------------------------

_TITLES = {
    CHECK: "pull secret read by an unexpected subject",
    LEAK_CHECK: "audit log holds secrets' request or response bodies",
}
MARKDOWN_LIMIT = 65_536  # the longest comment GitHub accepts (characters)
_HTML_ROWS = 5_000  # per table; the JSON report lists all


def _read_secrets(result: AuditResult) -> list[tuple[tuple[str, str], list[Readings]]]:
    """The secrets that were read (denied and failed attempts alone are no read)."""
    return [(key, readings) for key, readings in result.by_secret().items() if any(r.reads for r in readings)]


def _span(readings: list[Readings]) -> str:
    firsts = [r.first for r in readings if r.first is not None]
    lasts = [r.last for r in readings if r.last is not None]
    return f"{min(firsts).isoformat()} to {max(lasts).isoformat()}" if firsts and lasts else "-"


def _finding_key(finding: Finding) -> tuple[str, str]:
    return (finding.object.namespace or "", finding.object.name)


def render_junit(result: AuditResult) -> str:
    """One suite per check: a failing test case per flagged read (PG040: one secret, one reader)
    or per log holding bodies (PG015), a skipped one per suppressed finding, and a passing one per
    pull secret whose every reader was expected or allowed. Input errors are test errors; the
    envelope (counts, properties, XML 1.0 safety) is the scan report's."""
    import xml.etree.ElementTree as ET

    from pullguard.report import junit

    root = ET.Element("testsuites", name="pullguard audit-log")
    flagged = {_finding_key(f) for f in result.findings if f.check_id == CHECK}
    flagged |= {_finding_key(s.finding) for s in result.suppressed if s.finding.check_id == CHECK}
    for check_id in (CHECK, LEAK_CHECK):
        suite = ET.SubElement(root, "testsuite", name=f"{check_id} {_TITLES[check_id]}")
        for finding in (f for f in result.findings if f.check_id == check_id):
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"pullguard.{check_id}",
                name=f"{check_id} {finding.object} {clean(_reader_of(finding.message))}".rstrip(),
                file=finding.location.path,
                line=str(finding.location.line),
            )
            failure = ET.SubElement(
                case,
                "failure",
                message=f"[{finding.severity.value}] {finding.message}",
                type=finding.severity.value,
            )
            failure.text = f"{finding.message}\nat {finding.location}\nfix:\n{finding.remediation}"
        for silenced in (s for s in result.suppressed if s.finding.check_id == check_id):
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"pullguard.{check_id}",
                name=f"{check_id} {silenced.finding.object} {clean(_reader_of(silenced.finding.message))}".rstrip(),
            )
            ET.SubElement(case, "skipped", message=f"suppressed: {silenced.suppression.reason}")
        if check_id == CHECK:
            for (namespace, name), readings in _read_secrets(result):
                if (namespace, name) in flagged:
                    continue
                readers = sum(1 for r in readings if r.reads)
                ET.SubElement(
                    suite,
                    "testcase",
                    classname=f"pullguard.{check_id}",
                    name=f"{secret_label(namespace, name)}: {plural(readers, 'reader')}, each expected or allowed",
                )
        if not len(suite):
            ET.SubElement(
                suite, "testcase", classname=f"pullguard.{check_id}", name=f"{check_id}: no findings"
            )
    junit.add_problem_suite(root, result.problems)
    return junit.finish(root, result.headline)


def render_markdown(result: AuditResult, limit: int = MARKDOWN_LIMIT) -> str:
    """For a pull-request or issue comment: findings, then who read which secret; rows that would
    take the comment past `limit` characters are left out, and the comment says how many."""
    from pullguard.report.markdown import cell

    head = [f"### pullguard audit-log: {cell(result.headline)}", ""]
    if result.policy:
        head += [f"Judged with: {cell(result.policy)}.", ""]
    errors = sum(1 for p in result.problems if p.level is Level.ERROR)
    if result.problems:
        head += [
            f"⚠️ {plural(errors, 'input error')}, {plural(len(result.problems) - errors, 'warning')} "
            "(see the text or JSON report).",
            "",
        ]
    sections: list[tuple[list[str], list[str], str]] = []  # (heading lines, rows, what a row is)
    if result.findings:
        sections.append(
            (
                [
                    f"#### Findings ({len(result.findings)})",
                    "",
                    "| Severity | Check | Object | Finding |",
                    "|---|---|---|---|",
                ],
                [
                    f"| {f.severity.value} | {f.check_id} | {cell(str(f.object))} | {cell(f.message)} |"
                    for f in result.findings
                ],
                "finding",
            )
        )
    secrets = _read_secrets(result)
    if secrets:
        rows = []
        for (namespace, name), readings in secrets:
            read = [r for r in readings if r.reads]
            readers = ", ".join(
                f"{cell(clean(r.subject))} ({_label(r)}, {r.reads})" for r in read[:_SHOWN_READERS]
            )
            if len(read) > _SHOWN_READERS:
                readers += f" and {len(read) - _SHOWN_READERS} more"
            rows.append(
                f"| {cell(secret_label(namespace, name))} | {sum(r.reads for r in readings)} | {readers} "
                f"| {cell(_span(readings))} |"
            )
        sections.append(
            (
                [
                    "#### Per secret",
                    "",
                    "| Secret | Reads | Readers (verdict, reads) | First to last |",
                    "|---|---|---|---|",
                ],
                rows,
                "secret",
            )
        )
    fixed = "\n".join(head) + "\n"
    tail = (
        "\n\n<sub>Request and response bodies are never shown. Every reader and remediation: "
        "`pullguard audit-log --format json`.</sub>\n"
    )
    if not result.findings:
        tail = "\n\n✅ No findings." + tail
    budget = limit - len(fixed) - len(tail) - 200 * (len(sections) + 1)  # room for the notes
    body: list[str] = []
    left_out: list[str] = []
    for heading, rows, what in sections:
        text = "\n".join(heading)
        if len(text) + 2 > budget:
            left_out.append(plural(len(rows), what))
            continue
        budget -= len(text) + 2
        body.append(text)
        shown = 0
        for row in rows:
            if len(row) + 1 > budget:
                break
            body.append(row)
            budget -= len(row) + 1
            shown += 1
        if shown < len(rows):
            left_out.append(plural(len(rows) - shown, what))
            body.append(f"\n… and {plural(len(rows) - shown, 'more ' + what)}, left out to fit a comment.")
        body.append("")
    note = f"\n\n_Left out to stay under {limit:,} characters: {', '.join(left_out)}._" if left_out else ""
    return fixed + "\n".join(body).rstrip("\n") + note + tail


_CSS = (
    "body{font:15px/1.5 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1f2328;margin:0 auto;"
    "max-width:1280px;padding:24px 32px}table{border-collapse:collapse;width:100%;margin:8px 0 24px}"
    "th,td{border:1px solid #d1d9e0;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}"
    ".critical,.high{color:#cf222e}.medium{color:#bc4c00}.low{color:#0969da}.unexpected{color:#cf222e;font-weight:600}"
    "pre{white-space:pre-wrap;margin:0}"
)


def render_html(result: AuditResult) -> str:
    """One self-contained page: no script, no fetch of anything (the CSP forbids it), every text escaped."""
    from html import escape

    def table(title: str, header: tuple[str, ...], rows: list[str], anchor: str) -> str:
        more = (
            f"<p>… and {plural(len(rows) - _HTML_ROWS, 'more row')}, left out (see --format json).</p>"
            if len(rows) > _HTML_ROWS
            else ""
        )
        head = "".join(f"<th>{escape(h)}</th>" for h in header)
        return (
            f'<h2 id="{anchor}">{escape(title)}</h2><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows[:_HTML_ROWS])}</tbody></table>{more}"
        )

    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        # no fetch of anything, from anywhere: a report must open offline and leak nothing
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>pullguard audit-log: {escape(result.headline)}</title><style>{_CSS}</style></head><body>",
        f'<h1>pullguard audit-log</h1><p id="headline"><b>{escape(result.headline)}</b></p>',
        f"<p>{escape(plural(result.stats.files, 'file'))}, {escape(plural(result.stats.events, 'event'))}; "
        f"{'pull secrets from the inventory' if result.secrets_known else 'no inventory: every secret named'}"
        f"{escape(f'; judged with: {result.policy}') if result.policy else ''}.</p>",
    ]
    findings = [
        f'<tr><td class="{f.severity.value}">{escape(f.severity.value)}</td><td>{escape(f.check_id)}</td>'
        f"<td>{escape(str(f.object))}</td><td>{escape(f.message)}</td>"
        f"<td><pre>{escape(f.remediation)}</pre></td><td>{escape(str(f.location))}</td></tr>"
        for f in result.findings
    ]
    if findings:
        parts.append(
            table(
                f"Findings ({len(findings)})",
                ("Severity", "Check", "Object", "Finding", "Remediation", "Where"),
                findings,
                "findings",
            )
        )
    else:
        parts.append('<p id="findings">No findings.</p>')
    readers = []
    for (namespace, name), readings in result.by_secret().items():
        for r in readings:
            via = (
                f" (impersonated by {', '.join(clean(i) for i in r.impersonators)})"
                if r.impersonators
                else ""
            )
            counts = _verbs(r) if r.reads else f"{r.denied} denied, {r.failed} failed"
            readers.append(
                f"<tr><td>{escape(secret_label(namespace, name))}</td>"
                f"<td>{escape(clean(r.subject))}{escape(via)}</td>"
                f'<td class="{"unexpected" if r.flags else ""}">{escape(_label(r))}</td>'
                f"<td>{escape(counts)}</td><td>{escape(', '.join(sorted(f.value for f in r.flags)))}</td>"
                f"<td>{escape(_span([r]))}</td><td>{escape(r.judgement.why)}</td></tr>"
            )
    if readers:
        parts.append(
            table(
                "Who read which secret",
                ("Secret", "Subject", "Verdict", "Requests", "Flags", "First to last", "Why"),
                readers,
                "readers",
            )
        )
    problems = [
        f"<tr><td>{escape(p.level.value)}</td><td>{escape(p.code)}</td><td>{escape(str(p.location))}</td>"
        f"<td>{escape(p.message)}</td></tr>"
        for p in result.problems
    ]
    if problems:
        parts.append(table("Input problems", ("Level", "Code", "Where", "Problem"), problems, "problems"))
    parts.append(
        f"<p>pullguard {escape(__version__)}. Request and response bodies are never shown: "
        "events are judged by their metadata only.</p></body></html>\n"
    )
    return "".join(parts)
