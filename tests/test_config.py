"""`.pullguard.yaml`: discovery, validation with line numbers, suppressions, overrides, node credentials."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pullguard.checks import REGISTRY
from pullguard.config import Config, find_config, parse_config, resolve_config, scan_options
from pullguard.errors import ConfigError
from pullguard.report import json_report, sarif
from pullguard.scan import scan_paths
from pullguard.settings import NodeCredential, Suppression

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CHECKS = frozenset(REGISTRY)
NOW = datetime(2026, 6, 1, tzinfo=UTC)

VALID = """\
privateRegistries: ["*.corp.example"]
publicRegistries: [quay.io/prometheus]
assumePrivate: false
nodeCredentials:
  - registry: "*.dkr.ecr.*.amazonaws.com"
    via: node IAM role
maxCredentialAgeDays: 30
fingerprintKey: "0123456789abcdef-key"
severity: {PG013: info}
disable: [PG004]
suppressions:
  - check: PG009
    object: "Secret shop/old-*"
    reason: kept for the rollback of release 7
    expires: 2026-12-31
"""


def test_valid_configuration() -> None:
    config = parse_config(VALID, ".pullguard.yaml", CHECKS)
    assert config.private_registries == ("*.corp.example",)
    assert config.node_credentials == (NodeCredential("*.dkr.ecr.*.amazonaws.com", "node IAM role"),)
    assert config.max_age_days == 30
    assert config.severity == (("PG013", "info"),)
    assert config.disable == ("PG004",)
    (suppression,) = config.suppressions
    assert suppression.expires == date(2026, 12, 31)
    assert suppression.source == ".pullguard.yaml line 12"
    assert "fingerprintKey" not in repr(config.suppressions)


def test_errors_name_file_line_and_field_and_never_the_key() -> None:
    text = (
        'privateRegistries: ["[bad"]\n'
        "unknownKey: 1\n"
        "maxCredentialAgeDays: ten\n"
        "fingerprintKey: short-secret\n"
        "severity: {PG001: urgent, PG999: low}\n"
        "suppressions:\n"
        "  - check: PG009\n"
        "    object: nospace\n"
        "    expires: tomorrow\n"
    )
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "cfg.yaml", CHECKS)
    message = str(raised.value)
    assert "cfg.yaml:2: unknownKey: unknown key" in message
    assert "cfg.yaml:3: maxCredentialAgeDays: must be a whole number" in message
    assert (
        "cfg.yaml:4: fingerprintKey: must be a string of at least 16 characters (value not shown)" in message
    )
    assert "short-secret" not in message
    assert "cfg.yaml:5: severity.PG001: must be one of" in message
    assert "unknown check 'PG999'" in message
    assert "cfg.yaml:7: suppressions[0]: needs 'reason'" in message


def test_bad_yaml_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"cfg.yaml:3: not valid YAML"):
        parse_config("a: 1\nb: [\n", "cfg.yaml", CHECKS)


def test_found_upward_from_the_scanned_path(tmp_path: Path) -> None:
    (tmp_path / ".pullguard.yaml").write_text("maxCredentialAgeDays: 7\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_config([str(nested)]) == (tmp_path / ".pullguard.yaml").resolve()
    assert resolve_config(None, False, [str(nested)], CHECKS).max_age_days == 7
    assert resolve_config(None, True, [str(nested)], CHECKS) == Config()
    with pytest.raises(ConfigError, match="not found"):
        resolve_config(str(tmp_path / "missing.yaml"), False, [str(nested)], CHECKS)


def _options(config: Config) -> object:
    return scan_options(
        config,
        default_namespace="default",
        private_patterns=(),
        public_patterns=(),
        node_patterns=(),
        assume_private=False,
        disabled_checks=(),
        max_age_days=None,
    )


def test_suppressions_are_listed_not_dropped_and_expire() -> None:
    path = FIXTURES / "pg009" / "fail" / "unreferenced.yaml"
    live = Suppression("PG009", "Secret shop/old-*", "rollback", date(2026, 12, 31), "cfg line 3")
    result = scan_paths([str(path)], _replace(live))
    assert not [f for f in result.findings if f.check_id == "PG009"]
    (silenced,) = result.suppressed
    assert silenced.finding.check_id == "PG009" and result.summary.suppressed == 1
    report = json.loads(json_report.render(result))
    assert report["summary"]["suppressedFindings"] == 1
    assert report["suppressedFindings"][0]["suppression"] == {
        "reason": "rollback", "source": "cfg line 3", "expires": "2026-12-31",
    }  # fmt: skip
    log = json.loads(sarif.render(result))
    (marked,) = [r for r in log["runs"][0]["results"] if "suppressions" in r]
    assert marked["suppressions"][0]["kind"] == "external"
    expired = Suppression("PG009", "Secret shop/old-*", "rollback", date(2026, 1, 31), "cfg line 3")
    result = scan_paths([str(path)], _replace(expired))
    (finding,) = [f for f in result.findings if f.check_id == "PG009"]
    assert (
        "A suppression of this finding expired on 2026-01-31: cfg line 3, reason: rollback."
        in finding.message
    )
    assert not result.suppressed


def _replace(suppression: Suppression) -> object:
    from dataclasses import replace

    from pullguard.scan import ScanOptions

    return replace(ScanOptions(now=NOW), suppressions=(suppression,))


def test_annotation_suppresses_on_its_object(tmp_path: Path) -> None:
    text = (FIXTURES / "pg009" / "fail" / "unreferenced.yaml").read_text()
    text = text.replace(
        "  name: old-creds\n",
        '  name: old-creds\n  annotations:\n    pullguard.io/ignore: "PG009, PG010: used by the nightly export job"\n',
    )
    path = tmp_path / "annotated.yaml"
    path.write_text(text)
    result = scan_paths([str(path)], _replace(Suppression("PG000", "x y", "-", None, "-")))
    checks = sorted(s.finding.check_id for s in result.suppressed)
    assert checks == ["PG009", "PG010"]
    assert all(s.suppression.reason == "used by the nightly export job" for s in result.suppressed)
    assert [f.check_id for f in result.findings if str(f.object) == "Secret shop/old-creds"] == []
    log = json.loads(sarif.render(result))
    assert {s["kind"] for r in log["runs"][0]["results"] for s in r.get("suppressions", [])} == {"inSource"}


def test_severity_override_and_disable_from_configuration() -> None:
    config = parse_config("severity: {PG009: high}\ndisable: [PG010]\n", "c", CHECKS)
    result = scan_paths([str(FIXTURES / "pg009" / "fail" / "unreferenced.yaml")], _options(config))  # type: ignore[arg-type]
    assert {f.check_id: f.severity.value for f in result.findings} == {"PG009": "high"}


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pullguard", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_cli_bad_configuration_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodeCredentials:\n  - via: node role\n")
    done = run("scan", str(FIXTURES / "pg001" / "pass"), "--config", str(bad))
    assert done.returncode == 2
    assert f"{bad}:2: nodeCredentials[0]: needs 'registry'" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_node_credentials_from_configuration(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text('nodeCredentials:\n  - registry: "*.dkr.ecr.*.amazonaws.com"\n    via: node IAM role\n')
    path = FIXTURES / "pg017" / "fail" / "irsa_ecr.yaml"
    done = run("scan", str(path), "--config", str(config), "--images", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    assert "1 of 1 private images have pull credentials configured." in done.stdout
    assert "node IAM role" in done.stdout and "not verified" in done.stdout
    assert "PG017" not in done.stdout
