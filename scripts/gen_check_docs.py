"""Write docs/checks/PGxxx.md, docs/checks/README.md and src/pullguard/data/catalog.json from the
check declarations.

Run by `make docs`; tests/checks/test_docs_sync.py fails when the pages are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pullguard.checks import REGISTRY
from pullguard.report.catalog import CATALOG_FILE, catalog_index, catalog_json, docs_page


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for check_id, check in sorted(REGISTRY.items()):
        (out / f"{check_id}.md").write_text(docs_page(check.info), encoding="utf-8")
    (out / "README.md").write_text(catalog_index(REGISTRY), encoding="utf-8")
    CATALOG_FILE.write_text(catalog_json(REGISTRY), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "checks")
