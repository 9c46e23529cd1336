"""ServiceAccount admission and keyring details that naive tools get wrong."""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

from pullguard.inventory.resolve import Coverage, SecretsFrom
from pullguard.scan import ScanOptions, ScanResult, scan_paths


def _secret(name: str, entry: dict[str, str]) -> str:
    payload = base64.b64encode(json.dumps({"auths": {"registry.example.com": entry}}).encode()).decode()
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Secret
        metadata: {{name: {name}, namespace: apps}}
        type: kubernetes.io/dockerconfigjson
        data: {{.dockerconfigjson: {payload}}}
        ---
        """)


def _scan(tmp_path: Path, pull_secrets: str, secret_entry: dict[str, str]) -> ScanResult:
    text = (
        _secret("sa-creds", {"auth": base64.b64encode(b"u:p").decode()})
        + _secret("token-only", secret_entry)
        + textwrap.dedent(f"""\
        apiVersion: v1
        kind: ServiceAccount
        metadata: {{name: default, namespace: apps}}
        imagePullSecrets: [{{name: sa-creds}}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: app, namespace: apps}}
        spec:
          {pull_secrets}
          containers: [{{name: app, image: registry.example.com/team/app:1}}]
        """)
    )
    (tmp_path / "m.yaml").write_text(text)
    return scan_paths([str(tmp_path)], ScanOptions())


def test_empty_list_inherits_the_service_account_secrets(tmp_path: Path) -> None:
    result = _scan(tmp_path, "imagePullSecrets: []", {})
    (image,) = result.resolution.images
    assert image.pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT
    assert image.coverage is Coverage.SERVICE_ACCOUNT


def test_a_list_of_one_empty_name_blocks_the_service_account_secrets(tmp_path: Path) -> None:
    """Admission copies the ServiceAccount's secrets only when the pod's list has length 0."""
    result = _scan(tmp_path, 'imagePullSecrets: [{name: ""}]', {})
    (image,) = result.resolution.images
    assert image.pod.secrets_from is SecretsFrom.NONE
    assert image.coverage is Coverage.NONE
    assert [f.check_id for f in result.findings if f.check_id <= "PG004"] == ["PG001"]


def test_identity_token_only_entry_is_an_anonymous_pull(tmp_path: Path) -> None:
    result = _scan(
        tmp_path, "imagePullSecrets: [{name: token-only}]", {"identitytoken": "opaque-refresh-token"}
    )
    (image,) = result.resolution.images
    assert image.coverage is Coverage.NONE
    assert [m.anonymous for m in image.matches] == [True]
    assert "identitytoken" in (image.cause or "") and "anonymous" in (image.cause or "")
    (finding,) = [f for f in result.findings if f.check_id == "PG001"]
    assert "anonymous pull" in finding.message
    assert result.summary.private_images_covered == 0
