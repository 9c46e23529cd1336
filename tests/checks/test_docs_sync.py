"""docs/checks/*.md and README.md's Checks table are generated from the check declarations and must
not drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pullguard.checks import REGISTRY
from pullguard.cli import main
from pullguard.report.catalog import (
    CATALOG_FILE,
    README_TABLE_BEGIN,
    README_TABLE_END,
    catalog_index,
    catalog_json,
    docs_page,
    load,
    readme_table,
    with_readme_table,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "checks"


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_docs_page_matches_declaration(check_id: str) -> None:
    page = DOCS / f"{check_id}.md"
    assert page.exists(), f"{page} is missing: run `make docs`"
    assert page.read_text(encoding="utf-8") == docs_page(REGISTRY[check_id].info), (
        "stale page: run `make docs`"
    )


def test_index_lists_every_check() -> None:
    assert (DOCS / "README.md").read_text(encoding="utf-8") == catalog_index(REGISTRY), (
        "stale index: run `make docs`"
    )


def test_no_page_without_a_check() -> None:
    pages = {p.stem for p in DOCS.glob("PG*.md")}
    assert pages == set(REGISTRY)


def test_catalog_data_matches_declarations() -> None:
    """`pullguard checks` and `explain` read data/catalog.json instead of importing the checks."""
    assert CATALOG_FILE.read_text(encoding="utf-8") == catalog_json(REGISTRY), (
        "stale catalog: run `make docs`"
    )
    entries = load()
    assert list(entries) == sorted(REGISTRY)
    for check_id, check in REGISTRY.items():
        entry = entries[check_id]
        assert (entry.severity, entry.title, entry.standards) == (
            check.info.severity.value,
            check.info.title,
            check.info.standards,
        )
        assert entry.page == docs_page(check.info)


README = DOCS.parents[1] / "README.md"


def _readme_checks_table() -> dict[str, tuple[str, str]]:
    """The README's Checks table as {id: (severity, title)}, read row by row as a reader sees it."""
    text = README.read_text(encoding="utf-8")
    assert text.count(README_TABLE_BEGIN) == 1 and text.count(README_TABLE_END) == 1
    block = text[text.index(README_TABLE_BEGIN) + len(README_TABLE_BEGIN) : text.index(README_TABLE_END)]
    rows: dict[str, tuple[str, str]] = {}
    for line in block.strip().splitlines()[2:]:
        link, severity, title = (cell.strip() for cell in line.strip().strip("|").split("|"))
        match = re.fullmatch(r"\[(PG\d{3})\]\(docs/checks/(PG\d{3})\.md\)", link)
        assert match and match[1] == match[2], line
        assert match[1] not in rows, f"{match[1]} twice in the README's table"
        rows[match[1]] = (severity, title)
    return rows


def test_readme_checks_table_matches_declarations() -> None:
    """The README once listed 19 of 29 checks while claiming it came from the declarations."""
    declared = {cid: (c.info.severity.value, c.info.title) for cid, c in REGISTRY.items()}
    in_readme = _readme_checks_table()
    assert sorted(in_readme) == sorted(declared), "README checks table: run `make docs`"
    assert in_readme == declared, "README checks table: run `make docs`"
    assert {e.id: (e.severity, e.title) for e in load().values()} == in_readme


def test_readme_checks_table_is_what_make_docs_writes() -> None:
    readme = README.read_text(encoding="utf-8")
    assert with_readme_table(readme, readme_table(REGISTRY)) == readme, "stale README table: run `make docs`"


def test_readme_checks_table_matches_pullguard_checks() -> None:
    listed = CliRunner().invoke(main, ["checks"])
    assert listed.exit_code == 0, listed.output
    rows = {}
    for line in listed.output.splitlines()[1:]:
        check_id, severity, rest = line.split(maxsplit=2)
        rows[check_id] = (severity, re.split(r"\s{3,}", rest)[0])
    assert rows == _readme_checks_table()


def test_with_readme_table_replaces_only_between_the_markers() -> None:
    text = f"before\n{README_TABLE_BEGIN}\nold row\n{README_TABLE_END}\nafter\n"
    assert (
        with_readme_table(text, "new\n") == f"before\n{README_TABLE_BEGIN}\nnew\n{README_TABLE_END}\nafter\n"
    )
    with pytest.raises(ValueError, match="no"):
        with_readme_table("no markers\n", "new\n")
