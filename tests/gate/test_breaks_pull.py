"""The breaks-pull axis and the default gate: a manifest that cannot pull never passes CI by default."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from gate_support import run

from pullguard.scan import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
UNCOVERED = FIXTURES / "pg001" / "fail" / "no_secrets.yaml"  # one PG001 (severity low), nothing else

PUBLIC_WITH_MISSING_SECRET = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  imagePullSecrets: [{name: gone}]
  containers: [{name: web, image: registry.k8s.io/pause:3.9}]
"""

SECOND_SECRET_COVERS = """\
apiVersion: v1
kind: Secret
metadata: {name: good, namespace: shop}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: eyJhdXRocyI6IHsibXlyZWdpc3RyeS5henVyZWNyLmlvIjogeyJhdXRoIjogImRYTmxjanB3WVhOeiJ9fX0=
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  imagePullSecrets: [{name: gone}, {name: good}]
  containers: [{name: web, image: myregistry.azurecr.io/web:1}]
"""


def _marks(path: Path) -> dict[str, list[bool]]:
    result = scan_paths([str(path)], ScanOptions())
    marks: dict[str, list[bool]] = {}
    for finding in result.findings:
        marks.setdefault(finding.check_id, []).append(finding.breaks_pull)
    return marks


@pytest.mark.parametrize(
    "fixture",
    [
        "pg001/fail/no_secrets.yaml",
        "pg002/fail/missing_pod_secret.yaml",
        "pg002/fail/missing_sa_secret.yaml",
        "pg003/fail/malformed_auth.yaml",
        "pg003/fail/opaque_referenced.yaml",
        "pg003/fail/empty_dockerconfigjson.yaml",
        "pg004/fail/pod_secret_other_registry.yaml",
    ],
)
def test_pull_breaking_checks_are_marked(fixture: str) -> None:
    check = fixture[:5].upper()
    marks = _marks(FIXTURES / fixture)
    assert marks.get(check) and all(marks[check]), marks


def test_security_only_findings_do_not_break_pulls() -> None:
    marks = _marks(ROOT / "examples")
    for check in ("PG005", "PG007", "PG010", "PG012", "PG016"):
        assert check in marks and not any(marks[check]), (check, marks.get(check))


def test_missing_secret_does_not_break_a_public_image_nor_one_another_secret_covers(tmp_path: Path) -> None:
    public = tmp_path / "public.yaml"
    public.write_text(PUBLIC_WITH_MISSING_SECRET)
    assert _marks(public)["PG002"] == [False]
    covered = tmp_path / "covered.yaml"
    covered.write_text(SECOND_SECRET_COVERS)
    assert _marks(covered)["PG002"] == [False]


def test_marked_in_json_sarif_and_text() -> None:
    report = json.loads(run("scan", str(UNCOVERED), "-f", "json").stdout)
    assert {f["checkId"]: f["breaksPull"] for f in report["findings"]} == {"PG001": True, "PG013": False}
    log = json.loads(run("scan", str(UNCOVERED), "-f", "sarif").stdout)
    results = log["runs"][0]["results"]
    assert {r["ruleId"]: r["properties"]["breaksPull"] for r in results} == {"PG001": True, "PG013": False}
    assert "breaks pull" in run("scan", str(UNCOVERED)).stdout


def test_default_gate_fails_on_a_low_finding_that_breaks_a_pull() -> None:
    for fail_on in ("low", "medium", "high", "critical", "never"):
        assert run("scan", str(UNCOVERED), "--fail-on", fail_on).returncode == 1, fail_on


def test_explicit_option_switches_the_breaks_pull_gate_off() -> None:
    assert run("scan", str(UNCOVERED), "--fail-on", "medium", "--no-fail-on-broken-pulls").returncode == 0
    assert run("scan", str(UNCOVERED), "--fail-on", "low", "--no-fail-on-broken-pulls").returncode == 1


def _readme_ci_recipes() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### In CI", 1)[1].split("\n#", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line.split("#", 1)[0].strip() for line in block[1].splitlines() if line.startswith("pullguard ")]


def test_readme_ci_recipes_fail_on_an_uncovered_private_image(tmp_path: Path) -> None:
    recipes = _readme_ci_recipes()
    assert len(recipes) >= 2 and any("--fail-on medium" in r for r in recipes)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(UNCOVERED.read_text())
    for recipe in recipes:
        words = shlex.split(recipe)
        assert words[0] == "pullguard"
        done = run(*words[1:], cwd=tmp_path)
        assert done.returncode == 1, (recipe, done.stdout, done.stderr)
