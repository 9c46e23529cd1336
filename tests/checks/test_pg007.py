"""PG007: One registry credential reused across namespaces, judged on the fixtures in tests/fixtures/pg007."""

from __future__ import annotations

import pytest
from support import NOW, fixture_tests, fixtures_of, scanner

from pullguard.scan import ScanOptions

CHECK = "PG007"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(CHECK, scan, of_check)


def test_one_finding_names_every_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULLGUARD_FINGERPRINT_KEY", "a-test-key-of-some-length")
    path = FIXTURES / "fail" / "copied_to_two_namespaces.yaml"
    (finding,) = of_check(scan(path))
    assert str(finding.object) == "Secret dev/pull"
    assert "also in Secret ops/registry-creds, Secret shop/registry-creds" in finding.message
    assert "one credential in 3 namespaces (dev, ops, shop)" in finding.message
    assert "fingerprint hmac-sha256:" in finding.message
    assert "example-password-1" not in finding.message + finding.remediation


def test_fingerprint_is_keyed_and_stable_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import json

    from pullguard.report import json_report

    path = FIXTURES / "fail" / "copied_to_two_namespaces.yaml"
    monkeypatch.setenv("PULLGUARD_FINGERPRINT_KEY", "a-test-key-of-some-length")
    first = json.loads(json_report.render(scan(path)))["pullSecrets"]
    second = json.loads(json_report.render(scan(path)))["pullSecrets"]
    assert first[0]["fingerprints"] == second[0]["fingerprints"]
    assert first[0]["fingerprintKeyConfigured"] is True
    fingerprints = {f["fingerprint"] for s in first for f in s["fingerprints"]}
    assert len(fingerprints) == 1
    plain = hashlib.sha256(b"puller:example-password-1").hexdigest()
    assert not any(plain[:16] in f for f in fingerprints)
    monkeypatch.setenv("PULLGUARD_FINGERPRINT_KEY", "another-key-of-some-length")
    other = json.loads(json_report.render(scan(path)))["pullSecrets"]
    assert other[0]["fingerprints"] != first[0]["fingerprints"]


def test_configured_key_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULLGUARD_FINGERPRINT_KEY", raising=False)
    path = FIXTURES / "fail" / "copied_to_two_namespaces.yaml"
    a = of_check(scan(path, ScanOptions(now=NOW, fingerprint_key="config-key-0123456789")))[0].message
    b = of_check(scan(path, ScanOptions(now=NOW, fingerprint_key="config-key-0123456789")))[0].message
    assert a == b


def test_cluster_external_secret_stamps_one_credential() -> None:
    (finding,) = of_check(scan(FIXTURES / "fail" / "cluster_external_secret.yaml"))
    assert "into 2 namespaces (team-a, team-b)" in finding.message
