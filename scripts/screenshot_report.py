"""Render the HTML report of a manifest directory and screenshot it with headless Chromium.

`make screenshot` runs `python scripts/screenshot_report.py examples/ docs/report-example.png`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pullguard.report import html
from pullguard.scan import ScanOptions, scan_paths

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def main(source: str, target: Path) -> None:
    browser = chromium()
    if browser is None:
        sys.exit("chromium is not installed: run `make system-deps`")
    result = scan_paths([source], ScanOptions())
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html.render(result), encoding="utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={tmp}/profile",
                f"--screenshot={target.resolve()}",
                "--window-size=1400,2000",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {target}")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "examples/",
        Path(sys.argv[2] if len(sys.argv) > 2 else "docs/report-example.png"),
    )
