"""The human report: summary line first, then one block per finding, then what could not be read.

Each finding is a block, as the field's linters print them (ruff, kube-linter):

    path:line  PGxxx  severity  Kind namespace/name  [breaks pull]
      the message, wrapped to the terminal (or COLUMNS) at word boundaries

Names, paths and images are never cut; piped output is neither coloured nor wrapped
unless COLUMNS says so, and no line ends in a space. A line break in a name, path or image
(a file named `x\\nrm -rf ~ #.json`) is shown as an escape (`\\x0a`, `text_safety.one_line`):
every line of the report is one the report wrote.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.text import Text

from pullguard.checks import Finding, Severity
from pullguard.inventory.resolve import Coverage
from pullguard.report.ages import unknown_ages
from pullguard.report.console import make_console, plural, width_of, wrap
from pullguard.report.coverage import coverage_line
from pullguard.report.problems import problem_lines
from pullguard.result import ScanResult
from pullguard.sources.model import SKIP_REASON_ONE, SKIP_REASON_TEXT, InputProblem, Level, SkipReason
from pullguard.text_safety import one_line

_STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
BREAKS_PULL = "breaks pull"
_GROUP_FILES = 10  # files named for a group of identical input problems


class _Printer:
    """Wrapped, styled lines on one console."""

    def __init__(self, console: Console, width: int | None) -> None:
        self.console, self.width = console, width

    def line(self, text: str = "", style: str | None = None, indent: str = "") -> None:
        """One line of the report, wrapped: a line break in it (from a name, a path, a message that
        quotes one) is shown as an escape, never started."""
        for part in wrap(one_line(text), self.width, indent) if text else [""]:
            self.console.print(Text(part, style=style or ""))

    def raw(self, text: Text) -> None:
        self.console.print(text)


def render(
    result: ScanResult,
    out: TextIO,
    *,
    color: bool | None = None,
    show_fixes: bool = False,
    show_images: bool = False,
) -> None:
    p = _Printer(make_console(out, color), width_of(out))
    summary = result.summary
    p.line(summary.headline, style="bold")
    if summary.private_images_unverifiable:
        p.line(
            f"{plural(summary.private_images_unverifiable, 'more private image uses', 'more private images use')} "
            "pull secrets whose "
            "registries are unknown until rendered (ExternalSecret, SealedSecret, SOPS) or read without their "
            "data: not counted."
        )
    p.line(
        # a live cluster has objects but no files or documents
        (
            f"{plural(summary.files, 'file')}, {plural(summary.documents, 'document')}, "
            if summary.files or summary.documents
            else ""
        )
        + f"{plural(summary.objects, 'object')}, "
        f"{plural(summary.pod_templates, 'pod template')}, {plural(summary.images, 'image')} "
        f"({summary.private_images} private, {summary.public_images} public, "
        f"{summary.unknown_images} unknown registry, "
        f"{summary.invalid_references} invalid, "
        + (
            f"{plural(summary.placeholder_references, 'build-time placeholder')}, "
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
        p.line("Objects: " + "; ".join(parts) + ".")
        if result.inventory.replaced:
            shown = ", ".join(result.inventory.replaced[:5])
            more = len(result.inventory.replaced) - 5
            p.line(
                f"{plural(len(result.inventory.replaced), 'cluster object')} replaced by the files' definitions: "
                f"{shown}" + (f" and {more} more" if more > 0 else "") + "."
            )
    by_source = coverage_line(result.resolution)
    if by_source:
        p.line(by_source)
    if summary.unknown_images:
        p.line(
            f"{plural(summary.unknown_images, 'image is', 'images are')} on registries not known to be private "
            "or public: declare them (--private-registry / --public-registry) or use --assume-private.",
            style="dim",
        )
    skipped = ", ".join(
        plural(count, SKIP_REASON_ONE[SkipReason(reason)], SKIP_REASON_TEXT[SkipReason(reason)])
        for reason, count in summary.documents_skipped.items()
    )
    if skipped:
        p.line(f"Skipped: {skipped}.", style="dim")
    _assumptions(p, result)
    if show_images:
        _images(p, result)
    if result.findings:
        _findings(p, result.findings, result.summary.findings)
    else:
        p.line("No findings.", style="green")
    if show_fixes and result.findings:
        from pullguard.remediation.render import text_lines

        p.line()
        for text, kind in text_lines(result):
            if kind == "command":  # commands and YAML: as they are, never wrapped, for copy and paste
                p.raw(Text(text.rstrip()))
            elif kind == "comment":
                p.line(text, style="dim", indent="# ")
            else:
                p.line(text, style="bold")
    elif result.findings:
        p.line()
        p.line("The fix, as commands to paste: --show-fixes (or `fixes` in --format json).", style="dim")
    if result.suppressed:
        p.line(
            f"{plural(len(result.suppressed), 'finding')} suppressed; the reasons are in --format json "
            "(suppressedFindings).",
            style="dim",
        )
    if result.inventory.unanalysed:
        p.line()
        unanalysed = result.inventory.unanalysed
        p.line(
            f"Not analysed: {plural(len(unanalysed), 'custom resource')} "
            f"{'carry' if len(unanalysed) != 1 else 'carries'} container images or "
            "imagePullSecrets in a shape pullguard cannot judge (their controllers decide what the pods get):",
            style="yellow",
        )
        for item in unanalysed[:20]:
            fields = ", ".join(item.fields[:4]) + (
                f" and {len(item.fields) - 4} more" if len(item.fields) > 4 else ""
            )
            p.line(
                f"{item.ref} ({item.api_version}) at {item.location}: {fields or ', '.join(item.images[:3])}",
                indent="  ",
            )
        if len(unanalysed) > 20:
            p.line(f"and {len(unanalysed) - 20} more (--format json lists them all)", indent="  ")
    if result.problems:
        p.line()
        errors = sum(1 for problem in result.problems if problem.level is Level.ERROR)
        p.line(
            f"Input problems: {plural(errors, 'error')}, {plural(len(result.problems) - errors, 'warning')}",
            style="bold",
        )
        _problems(p, result.problems)


def _problems(p: _Printer, problems: list[InputProblem]) -> None:
    """One line per problem; identical ones once, with a count and the files (report/problems.py)."""
    for level, line in problem_lines(problems, _GROUP_FILES):
        p.line(line, style="red" if level is Level.ERROR else "yellow")


def counts_line(findings: list[Finding], by_severity: dict[str, int]) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in by_severity.items())
    breaking = sum(1 for f in findings if f.breaks_pull)
    tail = f"; {breaking} {'breaks' if breaking == 1 else 'break'} a pull" if breaking else ""
    return f"{plural(len(findings), 'finding')} ({counts}){tail}"


def _findings(p: _Printer, findings: list[Finding], by_severity: dict[str, int]) -> None:
    p.line()
    p.line(counts_line(findings, by_severity), style="bold")
    for f in findings:
        p.line()
        head = Text.assemble(
            f"{one_line(f.location.path)}:{f.location.line}  {f.check_id}  ",
            (f.severity.value, _STYLES[f.severity]),
            f"  {one_line(str(f.object))}",
        )
        if f.breaks_pull:
            head.append("  ")
            head.append(BREAKS_PULL, style="bold magenta")
        p.raw(head)
        p.line(f.message, indent="  ")


def _assumptions(p: _Printer, result: ScanResult) -> None:
    """Say what pullguard assumed (node credentials) and what it could not judge (credential age)."""
    settings = result.resolution.settings
    by_node: dict[str, int] = {}
    for j in result.resolution.private_images():
        if j.coverage is Coverage.NODE and j.matches:
            by_node[j.matches[0].location] = by_node.get(j.matches[0].location, 0) + 1
    for pattern, count in by_node.items():
        p.line(
            f"{plural(count, 'private image is', 'private images are')} counted as covered by node credentials "
            f"assumed for {pattern} (via {settings.node_via(pattern) or 'node credentials'}): not verified.",
            style="dim",
        )
    unknown, declared = unknown_ages(result)
    if unknown:
        p.line(
            f"{plural(unknown, 'pull secret')} of unknown age (no pullguard.io/rotated-at, "
            "managedFields or creationTimestamp): PG005 cannot judge them.",
            style="dim",
        )
    if declared:
        p.line(
            f"{plural(declared, 'pull secret is', 'pull secrets are')} declared in externalPullSecrets, not in "
            f"the input: PG005 judges {'its' if declared == 1 else 'their'} age when the cluster is scanned "
            "(scan --cluster).",
            style="dim",
        )


def _images(p: _Printer, result: ScanResult) -> None:
    p.line()
    p.line(f"Images ({len(result.resolution.images)}):", style="bold")
    settings = result.resolution.settings
    for j in result.resolution.images:
        use = j.use
        visibility = (
            j.visibility.value
            if j.visibility
            else ("unresolved" if use.unresolved else "placeholder" if use.placeholder else "invalid")
        )
        coverage = j.coverage.value if use.ref else ""
        why = j.classification.reason if j.classification else (use.problem or "")
        credential = ", ".join(
            f"{m.secret} ({m.location}{': no credential' if m.anonymous else ''})"
            if m.secret
            else f"{m.via} ({m.location})"
            if m.via
            else f"node: {settings.node_via(m.location) or 'assumed'} ({m.location})"
            for m in j.matches
        )
        p.line(f"{j.pod.template.owner}  {use.name}  {use.image}", indent="  ")
        p.line(
            f"{visibility} ({why}), coverage {coverage or 'none'}"
            + (f", credential {credential}" if credential else ""),
            indent="      ",
            style="dim",
        )
