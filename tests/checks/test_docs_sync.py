"""docs/checks/*.md are generated from the check declarations and must not drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from pullguard.checks import REGISTRY
from pullguard.report.catalog import CATALOG_FILE, catalog_index, catalog_json, docs_page, load

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
