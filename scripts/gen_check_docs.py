"""Write docs/checks/PGxxx.md, docs/checks/README.md, src/pullguard/data/catalog.json and the
Checks table of README.md (between its markers) from the check declarations.

Run by `make docs`; tests/checks/test_docs_sync.py fails when any of them is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pullguard.checks import REGISTRY
from pullguard.report.catalog import (
    CATALOG_FILE,
    catalog_index,
    catalog_json,
    docs_page,
    readme_table,
    with_readme_table,
)

README = Path(__file__).resolve().parents[1] / "README.md"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for check_id, check in sorted(REGISTRY.items()):
        (out / f"{check_id}.md").write_text(docs_page(check.info), encoding="utf-8")
    (out / "README.md").write_text(catalog_index(REGISTRY), encoding="utf-8")
    CATALOG_FILE.write_text(catalog_json(REGISTRY), encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    README.write_text(with_readme_table(readme, readme_table(REGISTRY)), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "checks")
