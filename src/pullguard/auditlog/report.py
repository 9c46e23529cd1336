"""`pullguard audit-log` reports: text, JSON and SARIF. Metadata only: never a request or response body."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, TextIO

from pullguard import __version__
from pullguard.auditlog.classify import Verdict
from pullguard.auditlog.summary import AuditResult, Readings, clean, plural, secret_label
from pullguard.report.json_report import finding as finding_json
from pullguard.report.json_report import location as location_json
from pullguard.report.json_report import suppression as suppression_json
from pullguard.sources.model import Level

FORMATS = ("text", "json", "sarif")
_SHOWN_READERS = 20


def render(result: AuditResult, output_format: str, out: TextIO) -> None:
    if output_format == "json":
        json.dump(to_json(result), out, indent=2)
        out.write("\n")
    elif output_format == "sarif":
        out.write(to_sarif(result))
    else:
        render_text(result, out)


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
            write(
                f"  {item.severity.value.upper():8} {item.check_id} {item.object}  {item.location.path}:{item.location.line}\n"
            )
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
            write(f"    and {len(readings) - _SHOWN_READERS} more readers (--format json lists all)\n")
    by_subject = result.by_subject()
    if by_subject:
        write("\nPer subject:\n")
    for subject, readings in by_subject.items():
        read = [r for r in readings if r.reads]
        shown = ", ".join(f"{secret_label(r.namespace, r.name)} ({r.reads})" for r in read[:10])
        more = f" and {len(read) - 10} more" if len(read) > 10 else ""
        denied = sum(r.denied for r in readings)
        tail = f"; {plural(denied, 'denied attempt')}" if denied else ""
        write(f"  {clean(subject)}: {shown or 'no reads'}{more}{tail}\n")
    if result.problems:
        errors = sum(1 for p in result.problems if p.level is Level.ERROR)
        write(f"\nInput problems: {errors} errors, {len(result.problems) - errors} warnings\n")
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
            "denied": sum(r.denied for r in readings),
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
