"""The README's GitLab CI job: valid YAML, and its script run as the job runs it (sh -e, line by line)."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from dist_support import ROOT, clean_env


def gitlab_job() -> dict[str, object]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### GitLab CI") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    document = yaml.safe_load(block.group(1))
    job = document["pullguard"]
    assert isinstance(job, dict)
    return job


def test_gitlab_job_runs_and_reports_junit(pipx_bin: Path, tmp_path: Path) -> None:
    job = gitlab_job()
    assert str(job["image"]).startswith("python:3.")
    script = job["script"]
    assert isinstance(script, list) and script[0] == "pip install --quiet pullguard"
    shutil.copytree(ROOT / "examples", tmp_path / "k8s")
    env = clean_env(PATH=f"{pipx_bin}:{clean_env()['PATH']}")  # pullguard installed from the built wheel
    done = subprocess.run(
        ["sh", "-e", "-c", "\n".join(script[1:])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr  # findings at or above medium fail the job
    assert done.stderr == ""  # --quiet
    artifacts = job["artifacts"]
    assert isinstance(artifacts, dict) and artifacts["when"] == "always"
    report = tmp_path / artifacts["reports"]["junit"]
    suites = ET.parse(report).getroot()
    assert suites.tag in ("testsuites", "testsuite")
    assert any(True for _ in suites.iter("failure"))  # each finding is a failed test case
