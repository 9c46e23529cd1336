"""PG003: pull secret of the wrong type, or malformed, judged on tests/fixtures/pg003."""

from __future__ import annotations

from pathlib import Path

from support import fixture_tests, fixtures_of, scanner

from pullguard.checks import Severity
from pullguard.inventory.model import ObjectRef
from pullguard.inventory.resolve import Coverage, SecretState

CHECK = "PG003"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK, no_warnings=True)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.HIGH
)


def test_opaque_secret_with_dockerconfigjson() -> None:
    path = FIXTURES / "fail" / "opaque_referenced.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.object == ObjectRef("Secret", "shop", "acr-creds")
    assert finding.message == (
        "Secret 'acr-creds' in namespace 'shop' has type Opaque (with .dockerconfigjson); the kubelet reads "
        "only kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg secrets, so it is ignored for image "
        "pulls. It is referenced by Deployment shop/api."
    )
    assert finding.location.path == str(path) and finding.location.document == 1
    (pod,) = result.resolution.pods
    assert pod.references[0].state is SecretState.WRONG_TYPE


def test_malformed_auth_is_high_and_never_quoted() -> None:
    path = FIXTURES / "fail" / "malformed_auth.yaml"
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.severity is Severity.HIGH
    assert finding.object == ObjectRef("Secret", "shop", "broken-creds")
    assert finding.message.startswith(
        "Secret 'broken-creds' in namespace 'shop' (kubernetes.io/dockerconfigjson) cannot be decoded by the "
        "kubelet: .dockerconfigjson auths entry #1 ('registry.example.com'): 'auth' is not valid base64"
    )
    assert "Every pull of every pod using it fails, even of public images." in finding.message
    assert finding.message.endswith("It is referenced by Deployment shop/api.")
    for text in (finding.message, finding.remediation):
        assert "FAKE-bad-auth-value" not in text
        assert "bad-auth" not in text
    (pod,) = result.resolution.pods
    assert pod.references[0].state is SecretState.MALFORMED
    assert result.resolution.images[0].coverage is Coverage.BROKEN


def test_empty_dockerconfigjson() -> None:
    result = scan(FIXTURES / "fail" / "empty_dockerconfigjson.yaml")
    (finding,) = of_check(result)
    assert finding.message == (
        "Secret 'acr-creds' in namespace 'shop' has type kubernetes.io/dockerconfigjson but no "
        ".dockerconfigjson data; the kubelet ignores it. It is referenced by Deployment shop/api."
    )
    assert result.resolution.pods[0].references[0].state is SecretState.EMPTY


def test_empty_secret_not_referenced_is_not_reported(tmp_path: Path) -> None:
    text = (FIXTURES / "fail" / "empty_dockerconfigjson.yaml").read_text().split("---\n")[0]
    path = tmp_path / "unreferenced.yaml"
    path.write_text(text)
    assert not of_check(scan(path))


def test_legacy_dockercfg_is_usable() -> None:
    result = scan(FIXTURES / "pass" / "dockercfg_legacy.yaml")
    secret = result.inventory.secrets[("shop", "hub-creds")]
    assert secret.payload is not None and secret.payload.error is None
    assert [e.key for e in secret.payload.entries] == ["https://index.docker.io/v1/"]
    assert result.resolution.images[0].coverage is Coverage.POD


def test_string_data_is_usable() -> None:
    result = scan(FIXTURES / "pass" / "string_data.yaml")
    secret = result.inventory.secrets[("shop", "acr-creds")]
    assert secret.payload is not None
    assert [e.key for e in secret.payload.entries] == ["myregistry.azurecr.io"]
    assert result.resolution.images[0].coverage is Coverage.POD
    assert [f for f in result.findings if f.check_id != "PG010"] == []  # PG010: stringData is plaintext
