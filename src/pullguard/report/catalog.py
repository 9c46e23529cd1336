"""The check catalog as a table and as docs pages.

The pages and the table come from the check declarations. `pullguard checks` and
`pullguard explain` read them from `data/catalog.json`, which `make docs` writes from the
declarations (tests/checks/test_docs_sync.py fails when it is stale): listing or
explaining the checks then imports neither the checks nor the inventory and semantics
they read, and starts in about a third of the time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from pullguard.checks import Check, CheckInfo

CATALOG_FILE = Path(__file__).resolve().parent.parent / "data" / "catalog.json"


@dataclass(frozen=True, slots=True)
class Entry:
    """One check as `pullguard checks` lists it and `pullguard explain` shows it."""

    id: str
    severity: str
    title: str
    standards: tuple[str, ...]
    page: str


def docs_page(info: CheckInfo) -> str:
    """The Markdown page for one check; docs/checks/PGxxx.md holds exactly this text."""
    from pullguard.checks.base import STANDARDS

    standards = "\n".join(f"- {STANDARDS.get(s, s)}" for s in info.standards)
    return (
        f"# {info.id}: {info.title}\n\n"
        f"Severity: **{info.severity.value}**\n\n"
        f"Breaks a pull: {_breaks(info.id)}\n\n"
        f"## What it finds\n\n{info.description}\n\n"
        f"## How to fix it\n\n{info.remediation}\n\n"
        "Each finding carries the exact command or YAML patch for its object "
        "(`--show-fixes`, or `remediation` in the JSON report).\n\n"
        f"## Standards\n\n{standards}\n"
    )


def catalog_index(registry: Mapping[str, Check]) -> str:
    """docs/checks/README.md: the catalog as a Markdown table."""
    rows = "\n".join(
        f"| [{check_id}]({check_id}.md) | {check.info.severity.value} | {check.info.title} |"
        for check_id, check in sorted(registry.items())
    )
    return f"# Check catalog\n\n| id | severity | title |\n|---|---|---|\n{rows}\n"


# README.md's Checks table sits between these lines; `make docs` rewrites what is between them
README_TABLE_BEGIN = (
    "<!-- checks table: `make docs` writes it from the check declarations; do not edit by hand -->"
)
README_TABLE_END = "<!-- end of checks table -->"


def readme_table(registry: Mapping[str, Check]) -> str:
    """README.md's Checks table: the same rows as docs/checks/README.md, linked from the top."""
    rows = "\n".join(
        f"| [{check_id}](docs/checks/{check_id}.md) | {check.info.severity.value} | {check.info.title} |"
        for check_id, check in sorted(registry.items())
    )
    return f"| id | severity | title |\n|---|---|---|\n{rows}\n"


def with_readme_table(readme: str, table: str) -> str:
    """`readme` with the text between its Checks-table markers replaced by `table`."""
    start, end = readme.find(README_TABLE_BEGIN), readme.find(README_TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {README_TABLE_BEGIN!r} ... {README_TABLE_END!r} block")
    head = readme[: start + len(README_TABLE_BEGIN)]
    return f"{head}\n{table}{readme[end:]}"


def catalog_json(registry: Mapping[str, Check]) -> str:
    """data/catalog.json: every check's table row and docs page, in id order."""
    checks = [
        {
            "id": check_id,
            "severity": check.info.severity.value,
            "title": check.info.title,
            "standards": list(check.info.standards),
            "page": docs_page(check.info),
        }
        for check_id, check in sorted(registry.items())
    ]
    return json.dumps({"checks": checks}, indent=1, ensure_ascii=False) + "\n"


def load(path: Path = CATALOG_FILE) -> dict[str, Entry]:
    """The catalog written by `make docs`, by check id."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {
        c["id"]: Entry(c["id"], c["severity"], c["title"], tuple(c["standards"]), c["page"])
        for c in data["checks"]
    }


def print_table(out: TextIO, entries: Mapping[str, Entry]) -> None:
    """The catalog as a plain table, columns aligned as `kubectl get` prints them."""
    rows = [("ID", "SEVERITY", "TITLE", "STANDARDS")]
    rows += [(e.id, e.severity, e.title, ", ".join(e.standards)) for _, e in sorted(entries.items())]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("   ".join([*cells, row[3]]) + "\n")


def _breaks(check_id: str) -> str:
    from pullguard.breakage import ALWAYS, WHEN_A_POD_IS_LEFT_WITHOUT

    if check_id in ALWAYS:
        return "**always** (`scan` exits 1 on it whatever `--fail-on` says)"
    if check_id in WHEN_A_POD_IS_LEFT_WITHOUT:
        return (
            "**when a pod it concerns is left with no usable credential** for a non-public image, or holds a "
            "pull secret the kubelet cannot decode (`scan` then exits 1 on it whatever `--fail-on` says)"
        )
    return "no (a security finding: `--fail-on` decides)"
