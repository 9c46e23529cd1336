"""The HTML report: self-contained, escaped, readable; rendered in headless Chromium.

Chromium comes from `make system-deps` (Debian packages chromium, chromium-driver).
Without it the browser test is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pullguard.report import html
from pullguard.scan import ScanOptions, ScanResult, scan_paths

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CANARY = "CANARY-html-p4ss-5b0c1f"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return scan_paths([str(EXAMPLES)], ScanOptions())


@pytest.fixture(scope="module")
def page(result: ScanResult) -> str:
    return html.render(result)


def test_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page


def test_well_formed(page: str) -> None:
    """Every opened element is closed in order (void elements aside)."""
    void = {"meta", "br", "hr", "img", "input", "link"}
    stack: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in void:
                stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            assert stack and stack[-1] == tag, (tag, stack[-5:])
            stack.pop()

    Checker().feed(page)
    assert stack == []


def test_contents(result: ScanResult, page: str) -> None:
    assert result.summary.headline in page
    assert 'id="findings"' in page and 'id="pull-secrets"' in page and 'id="cluster-config"' in page
    assert "Namespace shop" in page
    assert "shop/registry-creds" in page
    for finding in result.findings:
        assert finding.check_id in page


def test_everything_is_escaped(tmp_path: Path) -> None:
    manifest = tmp_path / "evil.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n  namespace: evil\nspec:\n  template:\n"
        '    spec:\n      imagePullSecrets:\n      - name: "<script>alert(1)</script>"\n'
        "      containers:\n      - name: c\n        image: registry.example.com/a/b:1\n"
    )
    page = html.render(scan_paths([str(manifest)], ScanOptions(assume_private=True)))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def _browser_or_skip() -> str:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("chromium is missing under CI: `make system-deps` installs it")
        pytest.skip("chromium is not installed (`make system-deps` installs it); HTML not rendered")
    return browser


@pytest.mark.system
def test_renders_in_headless_chromium(tmp_path: Path, page: str, result: ScanResult) -> None:
    browser = _browser_or_skip()
    secret_input = tmp_path / "input"
    secret_input.mkdir()
    (secret_input / "canary.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: canary-creds\n  namespace: shop\n"
        "type: kubernetes.io/dockerconfigjson\nstringData:\n"
        f'  .dockerconfigjson: \'{{"auths":{{"registry.example.com":{{"username":"u","password":"{CANARY}"}}}}}}\'\n'
    )
    with_canary = html.render(scan_paths([str(EXAMPLES), str(secret_input)], ScanOptions()))
    assert CANARY not in with_canary
    report = tmp_path / "report.html"
    report.write_text(with_canary, encoding="utf-8")
    common = [browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert re.search(r'id="headline">\d+ of \d+ private images have pull credentials configured\.<', dom)
    assert '<section id="findings">' in dom and "PG012" in dom and "PG001" in dom
    assert "canary-creds" in dom and CANARY not in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1400,2000", report.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
