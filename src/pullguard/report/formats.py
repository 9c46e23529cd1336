"""The one format registry: every (command, format) pair renders or is refused, never replaced.

A format is a closed set (`Format`); each renderer ends its dispatch in `assert_never`,
so mypy proves every format is handled. The CLI asks `check_supported` before the
work starts, and infers the format from `-o FILE`'s extension when `-f` is not given.
Renderers only render: every fact they show was computed by the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath
from typing import TYPE_CHECKING, TextIO, assert_never

from pullguard.errors import UsageError

if TYPE_CHECKING:
    from pullguard.auditlog.model import AuditResult
    from pullguard.registry.verify import VerifyResult
    from pullguard.result import FleetResult, ScanResult


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    HTML = "html"


class Report(StrEnum):
    """What is being rendered: one scan, live clusters (one or a fleet), a verify run, an audit log."""

    SCAN = "scan"
    CLUSTERS = "clusters"
    FLEET = "fleet"  # two or more clusters
    VERIFY = "verify"
    AUDIT = "audit-log"


SUPPORTED: dict[Report, frozenset[Format]] = {
    Report.SCAN: frozenset(Format),
    Report.CLUSTERS: frozenset(Format),  # one cluster: its scan in any format
    Report.FLEET: frozenset({Format.TEXT, Format.JSON, Format.SARIF}),
    Report.VERIFY: frozenset(Format),
    Report.AUDIT: frozenset(Format),
}

# `-o FILE` without `-f`: the format its extension names
SUFFIXES: dict[str, Format] = {
    ".json": Format.JSON,
    ".sarif": Format.SARIF,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".md": Format.MARKDOWN,
    ".markdown": Format.MARKDOWN,
    ".xml": Format.JUNIT,
    ".txt": Format.TEXT,
}


@dataclass(frozen=True, slots=True)
class TextOptions:
    color: bool | None = None
    show_fixes: bool = False
    show_images: bool = False


def choose_format(given: str | None, output: str) -> Format:
    """`-f` when given; else the extension of `-o FILE` (`.sarif.json` counts as SARIF); else text."""
    if given is not None:
        return Format(given)
    if output in ("", "-"):
        return Format.TEXT
    name = PurePath(output).name.lower()
    if name.endswith(".sarif.json"):
        return Format.SARIF
    suffix = PurePath(name).suffix
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    raise UsageError(
        f"cannot tell the report format from {output!r}: give -f/--format "
        f"({', '.join(f.value for f in Format)}) or an extension ({', '.join(sorted(SUFFIXES))})"
    )


def check_supported(report: Report, fmt: Format) -> None:
    if fmt not in SUPPORTED[report]:
        allowed = ", ".join(f.value for f in Format if f in SUPPORTED[report])
        what = {
            Report.FLEET: "a scan of several clusters",
            Report.SCAN: "scan",
            Report.CLUSTERS: "a cluster scan",
            Report.VERIFY: "verify",
            Report.AUDIT: "audit-log",
        }[report]
        raise UsageError(f"--format {fmt.value} is not available for {what}; use one of {allowed}")


def render_scan(result: ScanResult, fmt: Format, out: TextIO, text: TextOptions) -> None:
    if fmt is Format.TEXT:
        from pullguard.report import text as text_report

        text_report.render(
            result, out, color=text.color, show_fixes=text.show_fixes, show_images=text.show_images
        )
    elif fmt is Format.JSON:
        from pullguard.report import json_report

        json_report.write(result, out)
    elif fmt is Format.SARIF:
        from pullguard.report import sarif

        out.write(sarif.render(result))
    elif fmt is Format.JUNIT:
        from pullguard.report import junit

        out.write(junit.render(result))
    elif fmt is Format.MARKDOWN:
        from pullguard.report import markdown

        out.write(markdown.render(result))
    elif fmt is Format.HTML:
        from pullguard.report import html

        out.write(html.render(result))
    else:
        assert_never(fmt)


def render_clusters(fleet: FleetResult, fmt: Format, out: TextIO, text: TextOptions) -> None:
    """Live clusters. One cluster renders in every format (the formats without a place for
    cluster details render its scan); a fleet in text, JSON and SARIF."""
    from pullguard.report import fleet as fleet_report

    report = Report.FLEET if len(fleet.clusters) > 1 else Report.CLUSTERS
    check_supported(report, fmt)
    if fmt is Format.TEXT:
        fleet_report.render_text(
            fleet, out, color=text.color, show_fixes=text.show_fixes, show_images=text.show_images
        )
    elif fmt is Format.JSON:
        fleet_report.render_json(fleet, out)
    elif fmt is Format.SARIF:
        fleet_report.render_sarif(fleet, out)
    elif fmt is Format.JUNIT or fmt is Format.MARKDOWN or fmt is Format.HTML:
        only = fleet.clusters[0]
        if only.result is None:
            raise UsageError(f"cluster {only.name} could not be scanned: {only.error}")
        render_scan(only.result, fmt, out, text)
    else:
        assert_never(fmt)


def render_verify(result: VerifyResult, fmt: Format, out: TextIO, text: TextOptions) -> None:
    from pullguard.report import verify_report

    if fmt is Format.TEXT:
        verify_report.render_text(result, out, color=text.color)
    elif fmt is Format.JSON:
        out.write(verify_report.render_json(result))
    elif fmt is Format.SARIF:
        out.write(verify_report.render_sarif(result))
    elif fmt is Format.JUNIT:
        out.write(verify_report.render_junit(result))
    elif fmt is Format.MARKDOWN:
        out.write(verify_report.render_markdown(result))
    elif fmt is Format.HTML:
        out.write(verify_report.render_html(result))
    else:
        assert_never(fmt)


def render_audit(result: AuditResult, fmt: Format, out: TextIO, text: TextOptions) -> None:
    """`pullguard audit-log`: who read the pull secrets (metadata only, never a body)."""
    from pullguard.auditlog import report as audit_report

    if fmt is Format.TEXT:
        audit_report.render_text(result, out)
    elif fmt is Format.JSON:
        audit_report.render_json(result, out)
    elif fmt is Format.SARIF:
        out.write(audit_report.to_sarif(result))
    elif fmt is Format.JUNIT:
        out.write(audit_report.render_junit(result))
    elif fmt is Format.MARKDOWN:
        out.write(audit_report.render_markdown(result))
    elif fmt is Format.HTML:
        out.write(audit_report.render_html(result))
    else:
        assert_never(fmt)
