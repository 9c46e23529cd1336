"""PG005: Pull secret credential older than the maximum age, judged on the fixtures in tests/fixtures/pg005."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import NOW, fixture_tests, fixtures_of, line_of, scanner

from pullguard.scan import ScanOptions

CHECK = "PG005"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(CHECK, scan, of_check)


@pytest.mark.parametrize(
    ("name", "days", "evidence", "since"),
    [
        ("old_creation.yaml", 501, "metadata.creationTimestamp", "2025-01-15"),
        ("rotated_at_old.yaml", 151, "annotation pullguard.io/rotated-at", "2026-01-01"),
        ("managed_fields.yaml", 182, "metadata.managedFields", "2025-12-01"),
    ],
)
def test_age_and_evidence(name: str, days: int, evidence: str, since: str) -> None:
    path = FIXTURES / "fail" / name
    (finding,) = of_check(scan(path))
    assert finding.severity.value == "medium"
    assert str(finding.object) == "Secret shop/registry-creds"
    assert f"last written {days} days ago ({since}, from {evidence})" in finding.message
    assert "over the maximum of 90 days" in finding.message
    assert finding.location.line == line_of(path, "kind: Secret") - 1 or finding.location.path == str(path)
    assert "pullguard.io/rotated-at" in finding.remediation


def test_maximum_age_is_configurable() -> None:
    path = FIXTURES / "fail" / "rotated_at_old.yaml"
    assert not of_check(scan(path, ScanOptions(now=NOW, max_age_days=200)))
    assert of_check(scan(path, ScanOptions(now=NOW, max_age_days=150)))


def test_clock_is_injected() -> None:
    path = FIXTURES / "pass" / "recently_rotated.yaml"
    assert of_check(scan(path, ScanOptions(now=datetime(2026, 9, 1, tzinfo=UTC))))


def test_unknown_age_is_counted_not_guessed() -> None:
    import json

    from pullguard.report import json_report

    result = scan(FIXTURES / "pass" / "unknown_age.yaml")
    report = json.loads(json_report.render(result))
    assert report["summary"]["pullSecretsAgeUnknown"] == 1
    (secret,) = report["pullSecrets"]
    assert secret["age"] == {"evidence": "unknown", "since": None, "days": None, "refreshInterval": None}


def test_external_secret_counts_as_rotated() -> None:
    import json

    from pullguard.report import json_report

    report = json.loads(json_report.render(scan(FIXTURES / "pass" / "external_secret_refreshed.yaml")))
    (secret,) = report["pullSecrets"]
    assert secret["age"]["evidence"] == "refreshed by External Secrets"
    assert secret["age"]["refreshInterval"] == "1h"


def test_declared_external_secret_is_not_counted_as_unknown_age(tmp_path: Path) -> None:
    """A pull secret declared in externalPullSecrets is not in the input: its age cannot be supplied there
    (no manifest to annotate), so it is counted apart from the secrets of unknown age, in JSON and text."""
    import json
    import subprocess
    import sys

    workload = tmp_path / "app.yaml"
    workload.write_text(
        (FIXTURES / "pass" / "unknown_age.yaml").read_text()
        + """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      imagePullSecrets: [{name: regcred}]
      containers: [{name: web, image: registry.corp.example/shop/web:1.0}]
"""
    )
    config = tmp_path / "pullguard.yaml"
    config.write_text("externalPullSecrets:\n  - name: regcred\n    registries: [registry.corp.example]\n")

    def scan_cli(*extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "pullguard", "scan", str(workload), "--config", str(config), *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode in (0, 1), done.stderr
        return done.stdout

    report = json.loads(scan_cli("-f", "json"))
    assert (report["summary"]["pullSecretsAgeUnknown"], report["summary"]["pullSecretsDeclared"]) == (1, 1)
    ages = {s["name"]: s["age"]["evidence"] for s in report["pullSecrets"]}
    assert ages == {"registry-creds": "unknown", "regcred": "unknown"}  # both unknown to the files
    text = " ".join(scan_cli().split())
    assert "1 pull secret of unknown age (no pullguard.io/rotated-at" in text
    assert (
        "1 pull secret is declared in externalPullSecrets, not in the input: PG005 judges its age when the "
        "cluster is scanned (scan --cluster)." in text
    )
