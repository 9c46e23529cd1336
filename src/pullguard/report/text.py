"""The human report: summary line first, then findings, then what could not be read."""

from __future__ import annotations

from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pullguard.checks import Severity
from pullguard.inventory.age import AgeEvidence
from pullguard.inventory.resolve import Coverage
from pullguard.report.coverage import coverage_line
from pullguard.report.problems import files_shown, grouped
from pullguard.report.words import count as _count
from pullguard.result import ScanResult
from pullguard.sources.model import SKIP_REASON_TEXT, InputProblem, Level, SkipReason

_STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
# Past this many rows a rich table costs more than it helps; plain lines read as well.
_TABLE_LIMIT = 1000
_GROUP_FILES = 10  # files named for a group of identical input problems


def render(
    result: ScanResult,
    out: TextIO,
    *,
    color: bool | None = None,
    show_fixes: bool = False,
    show_images: bool = False,
) -> None:
    console = Console(
        file=out,
        force_terminal=color,
        no_color=color is False,
        width=160 if not out.isatty() else None,
        highlight=False,
        soft_wrap=False,
    )
    summary = result.summary
    console.print(Text(summary.headline, style="bold"))
    if summary.private_images_unverifiable:
        console.print(
            f"{summary.private_images_unverifiable} more private images use pull secrets whose registries are "
            "unknown until rendered (ExternalSecret, SealedSecret, SOPS) or read without their data: not counted."
        )
    console.print(
        # a live cluster has objects but no files or documents
        (
            f"{_count(summary.files, 'file')}, {_count(summary.documents, 'document')}, "
            if summary.files or summary.documents
            else ""
        )
        + f"{_count(summary.objects, 'object')}, "
        f"{_count(summary.pod_templates, 'pod template')}, {_count(summary.images, 'image')} "
        f"({summary.private_images} private, {summary.public_images} public, "
        f"{summary.unknown_images} unknown registry, "
        f"{summary.invalid_references} invalid, "
        + (
            f"{_count(summary.placeholder_references, 'build-time placeholder')}, "
            if summary.placeholder_references
            else ""
        )
        + f"{summary.unresolved_references} unresolved)."
    )
    origins = result.inventory.origins
    if len(origins) > 1 or result.inventory.replaced:
        parts = [
            f"{sum(kinds.values())} from {origin} ("
            + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
            + ")"
            for origin, kinds in origins.items()
        ]
        console.print("Objects: " + "; ".join(parts) + ".", soft_wrap=True)
        if result.inventory.replaced:
            shown = ", ".join(result.inventory.replaced[:5])
            more = len(result.inventory.replaced) - 5
            console.print(
                f"{len(result.inventory.replaced)} cluster objects replaced by the files' definitions: {shown}"
                + (f" and {more} more" if more > 0 else "")
                + ".",
                soft_wrap=True,
            )
    by_source = coverage_line(result.resolution)
    if by_source:
        console.print(by_source)
    if summary.unknown_images:
        console.print(
            f"{_count(summary.unknown_images, 'image')} {'are' if summary.unknown_images != 1 else 'is'} on "
            "registries not known to be private or public: "
            "declare them (--private-registry / --public-registry) or use --assume-private.",
            style="dim",
        )
    skipped = ", ".join(
        f"{count} {SKIP_REASON_TEXT[SkipReason(reason)]}"
        for reason, count in summary.documents_skipped.items()
    )
    if skipped:
        console.print(f"Skipped: {skipped}.", style="dim")
    _assumptions(console, result)
    if show_images:
        _images(console, result)
    if result.findings:
        _findings(console, result, show_fixes)
    else:
        console.print("No findings.", style="green")
    if result.suppressed:
        console.print(
            f"{_count(len(result.suppressed), 'finding')} suppressed (reasons: --format json, suppressedFindings).",
            style="dim",
        )
    if result.inventory.unanalysed:
        console.print()
        console.print(
            f"Not analysed: {_count(len(result.inventory.unanalysed), 'custom resource')} "
            f"{'carry' if len(result.inventory.unanalysed) != 1 else 'carries'} container images or "
            "imagePullSecrets in a shape pullguard cannot judge (their controllers decide what the pods get):",
            style="yellow",
        )
        for item in result.inventory.unanalysed[:20]:
            fields = ", ".join(item.fields[:4]) + (
                f" and {len(item.fields) - 4} more" if len(item.fields) > 4 else ""
            )
            console.print(
                f"  {item.ref} ({item.api_version}) at {item.location}: {fields or ', '.join(item.images[:3])}"
            )
        if len(result.inventory.unanalysed) > 20:
            console.print(
                f"  and {len(result.inventory.unanalysed) - 20} more (--format json lists them all)"
            )
    if result.problems:
        console.print()
        errors = sum(1 for p in result.problems if p.level is Level.ERROR)
        console.print(
            f"Input problems: {_count(errors, 'error')}, {_count(len(result.problems) - errors, 'warning')}",
            style="bold",
        )
        _problems(console, result.problems)


def _problems(console: Console, problems: list[InputProblem]) -> None:
    """One line per problem; identical ones once, with a count and the files (report/problems.py)."""
    for group in grouped(problems):
        style = "red" if group.level is Level.ERROR else "yellow"
        if len(group.members) == 1:
            console.print(Text(str(group.members[0]), style=style))
            continue
        console.print(
            Text(
                f"{len(group.members)} x {group.level.value}: {group.message} "
                f"({_count(len(group.files), 'file')}: {files_shown(group, _GROUP_FILES)})",
                style=style,
            )
        )


def _findings(console: Console, result: ScanResult, show_fixes: bool) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in result.summary.findings.items())
    console.print()
    console.print(Text(f"{_count(len(result.findings), 'finding')} ({counts})", style="bold"))
    if len(result.findings) > _TABLE_LIMIT:
        for f in result.findings:
            console.print(
                Text.assemble(
                    (f"{f.severity.value.upper():8}", _STYLES[f.severity]),
                    f" {f.check_id} {f.object}  {f.location.path}:{f.location.line}",
                )
            )
            console.print(f"    {f.message}", soft_wrap=True)
            if show_fixes:
                console.print(
                    "    fix: " + f.remediation.replace("\n", "\n         "), style="dim", soft_wrap=True
                )
        return
    table = Table(box=box.SIMPLE_HEAVY, show_lines=False, expand=False)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Check", no_wrap=True)
    table.add_column("Object")
    table.add_column("Where", overflow="fold")
    table.add_column("Finding", ratio=1)
    for f in result.findings:
        detail = Text(f.message)
        if show_fixes:
            detail.append("\nFix: " + f.remediation, style="dim")
        table.add_row(
            Text(f.severity.value, style=_STYLES[f.severity]),
            f.check_id,
            str(f.object),
            f"{f.location.path}:{f.location.line}",
            detail,
        )
    console.print(table)
    if not show_fixes:
        console.print(
            "Exact fix commands: --show-fixes, `pullguard explain PGxxx`, or --format json.", style="dim"
        )


def _assumptions(console: Console, result: ScanResult) -> None:
    """Say what pullguard assumed (node credentials) and what it could not judge (credential age)."""
    settings = result.resolution.settings
    by_node: dict[str, int] = {}
    for j in result.resolution.private_images():
        if j.coverage is Coverage.NODE and j.matches:
            by_node[j.matches[0].location] = by_node.get(j.matches[0].location, 0) + 1
    for pattern, count in by_node.items():
        console.print(
            f"{count} private image{'s are' if count != 1 else ' is'} counted as covered by node credentials "
            f"assumed for {pattern} (via {settings.node_via(pattern) or 'node credentials'}): not verified.",
            style="dim",
        )
    unknown = sum(
        1
        for facts in result.facts.pull_secrets.values()
        if facts.pull_secret_type and facts.age.evidence is AgeEvidence.UNKNOWN
    )
    if unknown:
        console.print(
            f"{unknown} pull secret{'s' if unknown != 1 else ''} of unknown age (no pullguard.io/rotated-at, "
            "managedFields or creationTimestamp): PG005 cannot judge them.",
            style="dim",
        )


def _images(console: Console, result: ScanResult) -> None:
    table = Table(title="Images", box=box.SIMPLE, title_justify="left")
    for column in ("Object", "Container", "Image", "Registry", "Why", "Coverage", "Credential"):
        table.add_column(column, overflow="fold")
    for j in result.resolution.images:
        use = j.use
        visibility = (
            j.visibility.value
            if j.visibility
            else ("unresolved" if use.unresolved else "placeholder" if use.placeholder else "invalid")
        )
        coverage = j.coverage.value if use.ref else ""
        settings = result.resolution.settings
        credential = ", ".join(
            f"{m.secret} ({m.location}{': no credential' if m.anonymous else ''})"
            if m.secret
            else f"{m.via} ({m.location})"
            if m.via
            else f"node: {settings.node_via(m.location) or 'assumed'} ({m.location})"
            for m in j.matches
        )
        why = j.classification.reason if j.classification else (use.problem or "")
        table.add_row(str(j.pod.template.owner), use.name, use.image, visibility, why, coverage, credential)
    console.print(table)
