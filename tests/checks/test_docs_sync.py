"""docs/checks/*.md are generated from the check declarations and must not drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from pullguard.checks import REGISTRY
from pullguard.report.catalog import catalog_index, docs_page

DOCS = Path(__file__).resolve().parents[2] / "docs" / "checks"


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_docs_page_matches_declaration(check_id: str) -> None:
    page = DOCS / f"{check_id}.md"
    assert page.exists(), f"{page} is missing: run `make docs`"
    assert page.read_text(encoding="utf-8") == docs_page(REGISTRY[check_id].info), "stale page: run `make docs`"


def test_index_lists_every_check() -> None:
    assert (DOCS / "README.md").read_text(encoding="utf-8") == catalog_index(), "stale index: run `make docs`"


def test_no_page_without_a_check() -> None:
    pages = {p.stem for p in DOCS.glob("PG*.md")}
    assert pages == set(REGISTRY)
