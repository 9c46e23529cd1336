"""PG014: encryption at rest for secrets (EncryptionConfiguration), judged on tests/fixtures/pg014."""

from __future__ import annotations

from pathlib import Path

import pytest

from pullguard.checks import Finding, Severity
from pullguard.inventory.model import ObjectRef
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CHECK = "PG014"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()
APISERVER = (
    Path(__file__).resolve().parents[3]
    / "shared/corpus/realworld/kubernetes-apiserver-testdata/pkg/server/options/encryptionconfig/testdata"
)


def scan(path: Path) -> ScanResult:
    result = scan_paths([str(path)], ScanOptions())
    assert not result.problems, result.problems
    return result


def of_check(result: ScanResult) -> list[Finding]:
    return [f for f in result.findings if f.check_id == CHECK]


@pytest.mark.parametrize("path", sorted((FIXTURES / "fail").glob("*.yaml")), ids=lambda p: p.name)
def test_fail_fixture_yields_a_finding(path: Path) -> None:
    findings = of_check(scan(path))
    assert findings
    assert any(f.severity is Severity.HIGH or f.severity is Severity.MEDIUM for f in findings)


@pytest.mark.parametrize("path", sorted((FIXTURES / "pass").glob("*.yaml")), ids=lambda p: p.name)
def test_pass_fixture_yields_none(path: Path) -> None:
    assert not of_check(scan(path))


def test_seed_command_literal_is_caught() -> None:
    result = scan(FIXTURES / "fail" / "seed_command_literal.yaml")
    (config,) = result.inventory.encryption_configs
    (key,) = config.resources[0].providers[0].keys
    assert key.length is None and key.problem is not None and "shell command" in key.problem
    high, medium = of_check(result)
    assert high.severity is Severity.HIGH and medium.severity is Severity.MEDIUM
    assert high.object == ObjectRef("EncryptionConfiguration", None, "seed_command_literal.yaml")
    assert high.message.startswith(
        "EncryptionConfiguration 'seed_command_literal.yaml': key 'key1' of aescbc at resources[0].providers[0] "
        "is a shell command substitution written literally"
    )
    assert high.location.line == 8
    assert "head -c 32 /dev/urandom | base64" not in high.message  # the text of the key is not quoted
    assert "aescbc is not recommended" in medium.message


def test_key_values_never_appear() -> None:
    for path in sorted((FIXTURES / "fail").glob("*.yaml")) + sorted((FIXTURES / "pass").glob("*.yaml")):
        result = scan(path)
        text = repr(result.inventory) + repr(result.findings)
        for secret in (
            "c2VjcmV0IGlzIHNlY3VyZQ==",
            "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=",
            "not-a-base64-key",
        ):
            assert secret not in text, path.name


def test_lengths() -> None:
    (finding, kms) = of_check(scan(FIXTURES / "fail" / "short_key_kms_v1.yaml"))
    assert "decodes to 16 bytes; secretbox needs 32" in finding.message
    assert "kms v1 ('vault')" in kms.message and "deprecated since Kubernetes v1.28" in kms.message


def test_identity_first_and_uncovered() -> None:
    (identity,) = of_check(scan(FIXTURES / "fail" / "identity_first.yaml"))
    assert "is identity: new and updated secrets are written to etcd in plaintext" in identity.message
    (uncovered,) = of_check(scan(FIXTURES / "fail" / "secrets_not_covered.yaml"))
    assert "has no resources entry for secrets (entries cover: *.apps, configmaps;" in uncovered.message


@pytest.mark.skipif(not APISERVER.is_dir(), reason="shared corpus absent")
def test_api_server_fixtures() -> None:
    """The API server's own valid configs: only first-provider advice; its invalid aes-gcm has no keys."""
    expected = {
        "valid-configs/aes-cbc-first.yaml": ["medium"],
        "valid-configs/aes-gcm-first.yaml": ["low"],
        "valid-configs/identity-first.yaml": ["high"],
        "valid-configs/kms-first.yaml": ["medium"],
        "valid-configs/kmsv2-first.yaml": [],
        "valid-configs/secret-box-first.yaml": [],
        "valid-configs/legacy.yaml": ["high"],
        "invalid-configs/invalid-aes-gcm.yaml": ["high", "low"],
        "invalid-configs/kms/invalid-apiversion.yaml": ["high"],
    }
    for name, severities in expected.items():
        findings = of_check(scan(APISERVER / name))
        assert sorted(f.severity.value for f in findings) == sorted(severities), name
