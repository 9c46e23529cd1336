"""The JSON report follows its published schema (src/pullguard/data/report.schema.json)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from pullguard.report import json_report
from pullguard.scan import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[2]


def _schema() -> dict[str, object]:
    text = resources.files("pullguard").joinpath("data/report.schema.json").read_text(encoding="utf-8")
    schema: dict[str, object] = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.mark.parametrize("large", [False, True], ids=["indented", "streamed"])
def test_examples_report_matches_schema(large: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if large:  # force the streaming writer used for big reports
        monkeypatch.setattr(json_report, "_INDENT_LIMIT", 0)
    report = json.loads(json_report.render(scan_paths([str(ROOT / "examples")], ScanOptions())))
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(report), key=str)
    assert not errors, errors[:3]
    assert report["summary"]["line"] == "6 of 13 private images have pull credentials configured."


def test_streamed_and_indented_reports_hold_the_same_data(monkeypatch: pytest.MonkeyPatch) -> None:
    result = scan_paths([str(ROOT / "examples")], ScanOptions())
    indented = json.loads(json_report.render(result))
    monkeypatch.setattr(json_report, "_INDENT_LIMIT", 0)
    assert json.loads(json_report.render(result)) == indented


def test_streamed_report_is_the_same_text_whatever_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries are written a batch at a time; the text is one entry a line whatever the batch size,
    across batch boundaries and for a last, partial batch."""
    result = scan_paths([str(ROOT / "examples")], ScanOptions())
    monkeypatch.setattr(json_report, "_INDENT_LIMIT", 0)
    texts = []
    for batch in (1, 2, 3, 1000):
        monkeypatch.setattr(json_report, "_BATCH", batch)
        texts.append(json_report.render(result))
    assert len(set(texts)) == 1
    lines = texts[0].splitlines()
    findings = json.loads(texts[0])["findings"]
    assert len(findings) > 3
    # every entry on its own line: `{...},` or the last one `{...}],"images":[`
    assert [json.loads(line.removesuffix(",")) for line in lines[1 : len(findings)]] == findings[:-1]


def test_input_problems_match_schema(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [\n---\nkind: Pod\n")
    report = json.loads(json_report.render(scan_paths([str(tmp_path)], ScanOptions())))
    jsonschema.Draft202012Validator(_schema()).validate(report)
    codes = [(p["code"], p["location"]["document"]) for p in report["inputProblems"]]
    assert codes == [("yaml-syntax", 1), ("missing-kind", 2)]
