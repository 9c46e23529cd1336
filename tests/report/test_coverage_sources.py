"""Every human report says which credential source serves the private images (pod secret,
ServiceAccount secret, node config, provider, provider with the pod's ServiceAccount token, none)."""

from __future__ import annotations

import io
from pathlib import Path

from pullguard.report import html, markdown, text
from pullguard.report.coverage import coverage_counts
from pullguard.scan import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[2]
LINE = (
    "Private images by credential source: 4 pod secret, 1 ServiceAccount secret, "
    "1 provider with the pod's ServiceAccount token, 6 none, 1 broken pull secret."
)


def test_examples_by_source_in_every_report() -> None:
    result = scan_paths([str(ROOT / "examples")], ScanOptions())
    assert sum(n for _, n in coverage_counts(result.resolution)) == result.summary.private_images
    out = io.StringIO()
    text.render(result, out, color=False)
    assert LINE in out.getvalue()
    assert LINE in markdown.render(result)
    assert LINE.replace("'", "&#x27;") in html.render(result)


def test_node_and_provider_sources_are_named(tmp_path: Path) -> None:
    result = scan_paths([str(ROOT / "examples" / "gke")], ScanOptions(private_patterns=("*.pkg.dev",)))
    assert coverage_counts(result.resolution) == [("credential provider", 1)]
