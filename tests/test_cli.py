"""The command line, run as a real subprocess: exit codes, formats, stdin, output file, subcommands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli_support import run
from pullguard.checks import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
CLEAN = FIXTURES / "pg001" / "pass" / "pod_secret.yaml"
LOW_ONLY = FIXTURES / "pg001" / "fail" / "no_secrets.yaml"  # one PG001 (low), nothing else
HEADLINE = re.compile(r"^(\d+) of (\d+) private images have pull credentials configured\.$")

BROKEN_DOCUMENT = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  key: [unclosed
"""


@pytest.fixture
def broken_with_low_finding(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(LOW_ONLY.read_text() + "---\n" + BROKEN_DOCUMENT)
    return path


@pytest.fixture
def broken_but_clean(tmp_path: Path) -> Path:
    path = tmp_path / "broken-clean.yaml"
    path.write_text(CLEAN.read_text() + "---\n" + BROKEN_DOCUMENT)
    return path


# -- exit codes --------------------------------------------------------------------------


def test_clean_fixture_exits_0() -> None:
    done = run("scan", str(CLEAN), "--disable", "PG010")  # its secret is a plaintext manifest (PG010)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "1 of 1 private images have pull credentials configured."
    assert "No findings." in done.stdout


def test_examples_exit_1_with_summary_first() -> None:
    done = run("scan", "examples/")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0] == "6 of 13 private images have pull credentials configured."
    assert "38 findings (11 low, 11 medium, 16 high)" in done.stdout
    assert done.stderr == ""


def test_missing_path_exits_2() -> None:
    done = run("scan", "does/not/exist.yaml")
    assert done.returncode == 2
    assert "does/not/exist.yaml: no such file or directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_disable_exits_2() -> None:
    done = run("scan", str(CLEAN), "--disable", "PG999")
    assert done.returncode == 2
    assert "PG999" in done.stderr


def test_disable_known_check() -> None:
    assert run("scan", str(LOW_ONLY), "--disable", "PG001").returncode == 0


def test_broken_document_exits_2_but_still_reports(broken_with_low_finding: Path) -> None:
    done = run("scan", str(broken_with_low_finding))
    assert done.returncode == 2
    assert "PG001" in done.stdout  # the readable documents are still judged
    assert "invalid YAML" in done.stdout


def test_allow_input_errors_keeps_findings_exit(
    broken_with_low_finding: Path, broken_but_clean: Path
) -> None:
    assert run("scan", str(broken_with_low_finding), "--allow-input-errors").returncode == 1
    assert run("scan", str(broken_but_clean), "--allow-input-errors", "--disable", "PG010").returncode == 0
    assert run("scan", str(broken_but_clean), "--disable", "PG010").returncode == 2


def test_fail_on_never_exits_0() -> None:
    assert run("scan", "examples/", "--fail-on", "never", "--no-fail-on-broken-pulls").returncode == 0


def test_fail_on_threshold() -> None:
    # LOW_ONLY's PG001 breaks a pull: the security threshold is judged with that gate off
    quiet = "--no-fail-on-broken-pulls"
    assert run("scan", str(LOW_ONLY), "--fail-on", "high", quiet).returncode == 0
    assert run("scan", str(LOW_ONLY), "--fail-on", "medium", quiet).returncode == 0
    assert run("scan", str(LOW_ONLY), "--fail-on", "low", quiet).returncode == 1
    assert run("scan", str(LOW_ONLY), quiet).returncode == 1  # default: low
    assert run("scan", "examples/", "--fail-on", "high", quiet).returncode == 1  # PG003 is high
    assert run("scan", "examples/", "--fail-on", "critical", quiet).returncode == 0


def test_fail_on_never_does_not_hide_input_errors(broken_with_low_finding: Path) -> None:
    assert run("scan", str(broken_with_low_finding), "--fail-on", "never").returncode == 2


# -- inputs and formats ---------------------------------------------------------------------


def test_stdin() -> None:
    done = run("scan", "-", stdin=LOW_ONLY.read_text())
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == "0 of 1 private images have pull credentials configured."
    assert "-:" in done.stdout  # findings are located in standard input


def test_json_format_parses_and_summary_line_is_consistent() -> None:
    done = run("scan", "examples/", "--format", "json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    summary = report["summary"]
    match = HEADLINE.match(summary["line"])
    assert match is not None, summary["line"]
    covered, judged = int(match[1]), int(match[2])
    assert covered == summary["privateImagesCovered"]
    assert judged == summary["privateImages"] - summary["privateImagesUnverifiable"]
    assert summary["line"] == "6 of 13 private images have pull credentials configured."


def test_text_summary_line_is_first_for_every_fixture() -> None:
    for path in sorted(FIXTURES.glob("pg00*/*/*.yaml"))[:6]:
        done = run("scan", str(path), "--fail-on", "never", "--no-fail-on-broken-pulls")
        assert done.returncode == 0, (path, done.stderr)
        assert HEADLINE.match(done.stdout.splitlines()[0]), (path, done.stdout)


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    done = run("scan", "examples/", "-f", "json", "-o", str(target))
    assert done.returncode == 1
    assert done.stdout == ""
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["summary"]["line"] == "6 of 13 private images have pull credentials configured."


def test_output_file_unwritable_exits_2(tmp_path: Path) -> None:
    done = run("scan", str(CLEAN), "-o", str(tmp_path / "no-such-dir" / "out.txt"))
    assert done.returncode == 2


def test_sarif_format_is_json() -> None:
    done = run("scan", "examples/", "--format", "sarif")
    assert done.returncode == 1
    log = json.loads(done.stdout)
    assert log["version"] == "2.1.0"
    assert len(log["runs"][0]["results"]) == 38


# -- other commands ---------------------------------------------------------------------------


def test_checks_lists_every_check() -> None:
    done = run("checks")
    assert done.returncode == 0
    for check_id, check in REGISTRY.items():
        assert check_id in done.stdout
        assert check.info.title in done.stdout


def test_explain() -> None:
    done = run("explain", "PG001")
    assert done.returncode == 0
    assert done.stdout.startswith("# PG001: Private image without pull credentials")
    assert "## How to fix it" in done.stdout
    assert run("explain", "pg002").returncode == 0


def test_explain_unknown_check_exits_2() -> None:
    done = run("explain", "PG999")
    assert done.returncode == 2
    assert "unknown check" in done.stderr


def test_help_mentions_exit_codes() -> None:
    done = run("scan", "--help")
    assert done.returncode == 0
    assert "Exit codes" in done.stdout
    for code in ("0  no finding", "1  a finding that breaks a pull", "2  usage error"):
        assert code in done.stdout
    assert run("--help").returncode == 0
