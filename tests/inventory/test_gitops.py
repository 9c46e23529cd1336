"""Pull secrets a GitOps repository holds in another form: ExternalSecret, SealedSecret, SOPS."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pullguard.inventory.model import SecretOrigin
from pullguard.inventory.resolve import Coverage
from pullguard.scan import ScanOptions, ScanResult, scan_paths

ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:1.0"


def scan(tmp_path: Path, text: str, *workloads: str) -> ScanResult:
    (tmp_path / "m.yaml").write_text(textwrap.dedent(text) + "".join(workloads))
    return scan_paths([str(tmp_path)], ScanOptions())


def deployment(secret: str, namespace: str = "apps") -> str:
    return textwrap.dedent(f"""
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: app, namespace: {namespace}}}
    spec:
      template:
        spec:
          imagePullSecrets: [{{name: {secret}}}]
          containers: [{{name: app, image: "{ECR_IMAGE}"}}]
    """)


def check_ids(result: ScanResult) -> list[str]:
    return sorted(f.check_id for f in result.findings)


def test_external_secret_target_name_and_type(tmp_path: Path) -> None:
    result = scan(
        tmp_path,
        """
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata: {name: registry-es, namespace: apps}
        spec:
          refreshInterval: 1h
          secretStoreRef: {name: vault, kind: SecretStore}
          target:
            name: ecr-pull
            template:
              type: kubernetes.io/dockerconfigjson
              data:
                .dockerconfigjson: '{"auths": {"{{ .registry }}": {"auth": "{{ .token }}"}}}'
        """,
        deployment("ecr-pull"),
    )
    secret = result.inventory.secrets[("apps", "ecr-pull")]
    assert secret.origin is SecretOrigin.EXTERNAL_SECRET
    assert secret.type == "kubernetes.io/dockerconfigjson"
    assert secret.refresh_interval == "1h"
    (image,) = result.resolution.images
    assert image.coverage is Coverage.UNVERIFIABLE
    assert "ExternalSecret" in (image.cause or "")
    assert check_ids(result) == []  # neither missing (PG002), malformed (PG003) nor uncovered (PG001)
    assert result.summary.private_images_unverifiable == 1
    assert result.summary.headline == "0 of 0 private images have pull credentials configured."


def test_external_secret_name_defaults_to_its_own(tmp_path: Path) -> None:
    result = scan(
        tmp_path,
        """
        apiVersion: external-secrets.io/v1
        kind: ExternalSecret
        metadata: {name: ecr-pull, namespace: apps}
        spec:
          dataFrom:
          - sourceRef:
              generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: ECRAuthorizationToken, name: ecr}
          target:
            template: {type: kubernetes.io/dockerconfigjson}
        """,
        deployment("ecr-pull"),
    )
    assert ("apps", "ecr-pull") in result.inventory.secrets
    assert check_ids(result) == []


def test_external_secret_without_pull_type_is_an_opaque_secret(tmp_path: Path) -> None:
    result = scan(
        tmp_path,
        """
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata: {name: ecr-pull, namespace: apps}
        spec:
          target: {name: ecr-pull}
        """,
        deployment("ecr-pull"),
    )
    assert result.inventory.secrets[("apps", "ecr-pull")].type == "Opaque"
    assert check_ids(result) == ["PG001", "PG003"]  # the kubelet ignores an Opaque secret


def test_cluster_external_secret_stamps_selected_namespaces(tmp_path: Path) -> None:
    result = scan(
        tmp_path,
        """
        apiVersion: external-secrets.io/v1beta1
        kind: ClusterExternalSecret
        metadata: {name: shared-pull}
        spec:
          namespaceSelector: {matchLabels: {registry-access: "true"}}
          namespaces: [listed]
          externalSecretSpec:
            target: {template: {type: kubernetes.io/dockerconfigjson}}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: apps, labels: {registry-access: "true"}}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: other}
        """,
        deployment("shared-pull"),
        deployment("shared-pull", namespace="other"),
    )
    assert {ns for ns, name in result.inventory.secrets if name == "shared-pull"} == {"apps", "listed"}
    assert [f.object.namespace for f in result.findings if f.check_id == "PG002"] == ["other"]


def test_sealed_secret(tmp_path: Path) -> None:
    result = scan(
        tmp_path,
        """
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata: {name: regcred, namespace: apps}
        spec:
          encryptedData:
            .dockerconfigjson: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq
          template:
            type: kubernetes.io/dockerconfigjson
        """,
        deployment("regcred"),
    )
    assert result.inventory.secrets[("apps", "regcred")].origin is SecretOrigin.SEALED_SECRET
    assert result.resolution.images[0].coverage is Coverage.UNVERIFIABLE
    assert check_ids(result) == []


def test_sops_encrypted_secret_is_not_malformed(tmp_path: Path) -> None:
    result = scan(
        tmp_path,
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: regcred, namespace: apps}
        type: kubernetes.io/dockerconfigjson
        data:
          .dockerconfigjson: ENC[AES256_GCM,data:KHCFH3hNnc+PMfWL,iv:q48lqUbU=,tag:QRI2SZZX==,type:str]
        sops:
          age: [{recipient: age10la2ge0wtvx3qr7datqf7rs4yngxszdal927fs9rukamr8u2pshsvtz7ce}]
          mac: ENC[AES256_GCM,data:AHdYSawa,iv:8F5O=,tag:E1mx==,type:str]
          version: 3.7.1
        """,
        deployment("regcred"),
    )
    secret = result.inventory.secrets[("apps", "regcred")]
    assert secret.origin is SecretOrigin.SOPS
    assert secret.payload is not None and secret.payload.error is None
    assert check_ids(result) == []


@pytest.mark.parametrize("origin_doc", ["sealed", "external"])
def test_plain_secret_wins_over_its_managed_twin(tmp_path: Path, origin_doc: str) -> None:
    """A plaintext Secret next to the object that manages it: the plaintext one is what we can judge."""
    managed = {
        "sealed": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: regcred, namespace: apps}\n"
        "spec: {template: {type: kubernetes.io/dockerconfigjson}}\n",
        "external": "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\n"
        "metadata: {name: regcred, namespace: apps}\nspec: {target: {template: {type: kubernetes.io/dockerconfigjson}}}\n",
    }[origin_doc]
    plain = (
        "---\napiVersion: v1\nkind: Secret\nmetadata: {name: regcred, namespace: apps}\n"
        "type: kubernetes.io/dockerconfigjson\n"
        'stringData:\n  .dockerconfigjson: \'{"auths": {"registry.example.com": {"auth": "dTpw"}}}\'\n'
    )
    for order in (managed + plain, plain + "---\n" + managed):
        (tmp_path / "m.yaml").write_text(order + deployment("regcred"))
        result = scan_paths([str(tmp_path)], ScanOptions())
        assert result.inventory.secrets[("apps", "regcred")].origin is SecretOrigin.PLAIN
