"""The check catalog as a table and as docs pages, both from the declarations."""

from __future__ import annotations

from typing import TextIO

from pullguard.checks import REGISTRY, CheckInfo
from pullguard.checks.base import STANDARDS


def print_table(out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("ID", "Severity", "Title", "Standards")
    for check_id, check in sorted(REGISTRY.items()):
        info = check.info
        table.add_row(check_id, info.severity.value, info.title, ", ".join(info.standards))
    Console(file=out, highlight=False).print(table)


def docs_page(info: CheckInfo) -> str:
    """The Markdown page for one check; docs/checks/PGxxx.md holds exactly this text."""
    standards = "\n".join(f"- {STANDARDS.get(s, s)}" for s in info.standards)
    seeds = ", ".join(info.seeds) or "-"
    return (
        f"# {info.id}: {info.title}\n\n"
        f"Severity: **{info.severity.value}**\n\n"
        f"## What it finds\n\n{info.description}\n\n"
        f"## How to fix it\n\n{info.remediation}\n\n"
        "Each finding carries the exact command or YAML patch for its object "
        "(`--show-fixes`, or `remediation` in the JSON report).\n\n"
        f"## Standards\n\n{standards}\n\n"
        f"Seeds: {seeds}\n"
    )


def catalog_index() -> str:
    """docs/checks/README.md: the catalog as a Markdown table."""
    rows = "\n".join(
        f"| [{check_id}]({check_id}.md) | {check.info.severity.value} | {check.info.title} |"
        for check_id, check in sorted(REGISTRY.items())
    )
    return f"# Check catalog\n\n| id | severity | title |\n|---|---|---|\n{rows}\n"
