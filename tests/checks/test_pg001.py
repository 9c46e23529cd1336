"""PG001: private image without pull credentials, judged on the fixtures in tests/fixtures/pg001."""

from __future__ import annotations

from pathlib import Path

import pytest

from pullguard.checks import Finding
from pullguard.inventory.kinds import WORKLOAD_GROUPS
from pullguard.inventory.model import ImageField, ObjectRef
from pullguard.inventory.resolve import Coverage, ImageJudgement, KeyMatch, SecretsFrom
from pullguard.scan import ScanOptions, ScanResult, scan_paths
from pullguard.semantics.registries import Visibility
from pullguard.settings import NodeCredential

CHECK = "PG001"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()
# Fixtures whose registry has no evidence of being private in the file itself.
OPTIONS = {
    "glob_two_labels.yaml": ScanOptions(private_patterns=("a.b.example.com",)),
    "port_mismatch.yaml": ScanOptions(private_patterns=("registry.example.com:5000",)),
    "node_credentials.yaml": ScanOptions(node_credentials=(NodeCredential("*.dkr.ecr.*.amazonaws.com"),)),
}
ACR_IMAGE = "myregistry.azurecr.io/api:v1"


def fixture(outcome: str, name: str) -> Path:
    return FIXTURES / outcome / name


def scan(path: Path, options: ScanOptions | None = None) -> ScanResult:
    result = scan_paths([str(path)], options or OPTIONS.get(path.name, ScanOptions()))
    assert not result.problems, result.problems
    return result


def of_check(result: ScanResult) -> list[Finding]:
    return [f for f in result.findings if f.check_id == CHECK]


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    hits = [n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def judgement(result: ScanResult, image: str) -> ImageJudgement:
    (found,) = [j for j in result.resolution.images if j.use.image == image]
    return found


@pytest.mark.parametrize("path", sorted((FIXTURES / "fail").glob("*.yaml")), ids=lambda p: p.name)
def test_fail_fixture_yields_a_finding(path: Path) -> None:
    findings = of_check(scan(path))
    assert findings, f"{path.name}: expected at least one {CHECK}"
    assert all(f.severity.value == "low" for f in findings)


@pytest.mark.parametrize("path", sorted((FIXTURES / "pass").glob("*.yaml")), ids=lambda p: p.name)
def test_pass_fixture_yields_none(path: Path) -> None:
    findings = of_check(scan(path))
    assert not findings, [f.message for f in findings]


# -- exact findings ---------------------------------------------------------------------


def test_no_secrets_message_object_and_line() -> None:
    path = fixture("fail", "no_secrets.yaml")
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.message == (
        "Deployment 'api' references private image 'myregistry.azurecr.io/api:v1' but does not specify "
        "ImagePullSecrets (container 'api', namespace 'shop'; no imagePullSecrets in the pod template nor in "
        "its ServiceAccount 'default')."
    )
    assert finding.message.startswith(
        "Deployment 'api' references private image 'myregistry.azurecr.io/api:v1' but does not specify "
        "ImagePullSecrets"
    )
    assert finding.object == ObjectRef("Deployment", "shop", "api")
    assert finding.location.path == str(path)
    assert finding.location.document == 2
    assert finding.location.line == line_of(path, f"image: {ACR_IMAGE}")
    assert finding.image == ACR_IMAGE and finding.container == "api"
    j = judgement(result, ACR_IMAGE)
    assert j.coverage is Coverage.NONE
    assert j.pod.secrets_from is SecretsFrom.NONE
    assert j.visibility is Visibility.PRIVATE
    # one new secret named after the registry, appended to the ServiceAccount with a JSON patch
    assert "kubectl create secret docker-registry pull-myregistry.azurecr.io -n shop" in finding.remediation
    assert "--docker-server=myregistry.azurecr.io" in finding.remediation
    assert "kubectl patch serviceaccount default -n shop --type=json" in finding.remediation


def test_no_secrets_with_service_account_not_in_input_says_so(tmp_path: Path) -> None:
    text = fixture("fail", "no_secrets.yaml").read_text().split("---\n", 1)[1]
    path = tmp_path / "no_sa.yaml"
    path.write_text(text)
    (finding,) = of_check(scan(path))
    assert "ServiceAccount 'default' is not in the input" in finding.message


def test_pod_level_secret_covers() -> None:
    result = scan(fixture("pass", "pod_secret.yaml"))
    j = judgement(result, ACR_IMAGE)
    assert j.coverage is Coverage.POD
    assert j.matches == (KeyMatch("myregistry.azurecr.io", "acr-creds", False),)
    assert result.summary.headline == "1 of 1 private images have pull credentials configured."


@pytest.mark.parametrize("name", ["sa_inherited.yaml", "empty_list_inherits.yaml"])
def test_service_account_secret_is_inherited(name: str) -> None:
    result = scan(fixture("pass", name))
    j = judgement(result, ACR_IMAGE)
    assert j.pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT
    assert j.coverage is Coverage.SERVICE_ACCOUNT
    assert [m.secret for m in j.matches] == ["acr-creds"]


def test_pod_secret_shadows_the_service_accounts() -> None:
    path = fixture("fail", "shadowed_by_pod_secret.yaml")
    result = scan(path)
    (finding,) = of_check(result)
    j = judgement(result, ACR_IMAGE)
    assert j.pod.secrets_from is SecretsFrom.POD
    assert [r.name for r in j.pod.references] == ["other-creds"]
    assert j.coverage is Coverage.NONE
    assert j.cause == (
        "no key of pull secret 'other-creds' matches myregistry.azurecr.io/api "
        "(keys tried: registry.example.com)"
    )
    assert finding.message == (
        "Deployment 'api' references private image 'myregistry.azurecr.io/api:v1' but has no usable pull "
        "credentials for it (container 'api', namespace 'shop'): no key of pull secret 'other-creds' matches "
        "myregistry.azurecr.io/api (keys tried: registry.example.com)."
    )
    assert finding.location.line == line_of(path, f"image: {ACR_IMAGE}")
    # the ServiceAccount's own secret covers the registry: reused, attached to the template's list
    assert "Reuse pull secret 'acr-creds'" in finding.remediation
    assert "kubectl patch deployment api -n shop" in finding.remediation


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("missing_secret.yaml", "pull secret 'acr-creds' does not exist in namespace 'shop'"),
        ("opaque_secret.yaml", "pull secret 'acr-creds' has type Opaque, which the kubelet ignores"),
        (
            "wrong_registry.yaml",
            "no key of pull secret 'registry-creds' matches myregistry.azurecr.io/api "
            "(keys tried: registry.example.com)",
        ),
        (
            "glob_two_labels.yaml",
            "no key of pull secret 'corp-creds' matches a.b.example.com/shop/api (keys tried: *.example.com)",
        ),
        (
            "port_mismatch.yaml",
            "no key of pull secret 'registry-creds' matches registry.example.com:5000/shop/cache "
            "(keys tried: registry.example.com)",
        ),
    ],
)
def test_uncovered_cause(name: str, cause: str) -> None:
    path = fixture("fail", name)
    result = scan(path)
    (finding,) = of_check(result)
    assert finding.image is not None
    j = judgement(result, finding.image)
    assert j.coverage is Coverage.NONE
    assert j.cause == cause
    assert finding.message.endswith(f": {cause}.")
    assert finding.location.line == line_of(path, f"image: {finding.image}")


def test_glob_matches_exactly_one_label() -> None:
    j = judgement(scan(fixture("pass", "glob_one_label.yaml")), "a.example.com/shop/api:v1")
    assert j.coverage is Coverage.POD
    assert [m.location for m in j.matches] == ["*.example.com"]


def test_deeper_host_is_unknown_without_configuration() -> None:
    """Nothing in the file says a.b.example.com is private: no PG001 unless it is declared."""
    result = scan(fixture("fail", "glob_two_labels.yaml"), ScanOptions())
    assert not of_check(result)
    assert judgement(result, "a.b.example.com/shop/api:v1").visibility is Visibility.UNKNOWN


def test_docker_hub_legacy_key_covers_user_repository() -> None:
    result = scan(fixture("pass", "dockerhub_legacy_key.yaml"))
    j = judgement(result, "acme/app:1.0")
    # Docker Hub is shared by many tenants: a key for all of it is no evidence that acme/app is
    # private (it often only lifts the anonymous rate limit), but the kubelet still uses it.
    assert j.visibility is Visibility.UNKNOWN
    assert j.classification is not None and "docker.io holds public and private" in j.classification.reason
    assert j.coverage is Coverage.POD
    assert [(m.location, m.secret) for m in j.matches] == [("index.docker.io", "hub-creds")]


def test_public_image_only_has_no_findings() -> None:
    result = scan(fixture("pass", "public_only.yaml"))
    assert result.findings == []
    assert judgement(result, "nginx:1.27").visibility is Visibility.PUBLIC
    assert result.summary.headline == "0 of 0 private images have pull credentials configured."


def test_unknown_registry_has_no_findings() -> None:
    result = scan(fixture("pass", "unknown_registry.yaml"))
    assert result.findings == []
    assert judgement(result, "quay.io/acme/probe:1.0").visibility is Visibility.UNKNOWN
    assert result.summary.unknown_images == 1


def test_unknown_registry_with_assume_private_is_judged() -> None:
    result = scan(fixture("pass", "unknown_registry.yaml"), ScanOptions(assume_private=True))
    (finding,) = of_check(result)
    assert finding.image == "quay.io/acme/probe:1.0"


def test_image_volume_is_judged() -> None:
    path = fixture("fail", "image_volume.yaml")
    result = scan(path)
    (finding,) = of_check(result)
    image = "myregistry.azurecr.io/models:2024-06"
    assert finding.image == image and finding.container == "models"
    assert "(image volume 'models', namespace 'shop';" in finding.message
    assert finding.location.line == line_of(path, f"reference: {image}")
    j = judgement(result, image)
    assert j.use.field is ImageField.IMAGE_VOLUME
    assert j.coverage is Coverage.NONE


def test_init_container_is_judged() -> None:
    path = fixture("fail", "init_container.yaml")
    result = scan(path)
    (finding,) = of_check(result)
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/migrate:v1"
    assert finding.image == image and finding.container == "migrate"
    assert finding.location.line == line_of(path, f"image: {image}")
    assert judgement(result, image).use.field is ImageField.INIT_CONTAINER
    assert judgement(result, ACR_IMAGE).coverage is Coverage.POD
    assert result.summary.headline == "1 of 2 private images have pull credentials configured."


def test_ephemeral_container_is_judged() -> None:
    path = fixture("fail", "ephemeral_container.yaml")
    result = scan(path)
    (finding,) = of_check(result)
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/debug:1.0"
    assert finding.object == ObjectRef("Pod", "shop", "debug-target")
    assert finding.image == image and finding.container == "debugger"
    assert finding.location.line == line_of(path, f"image: {image}")
    assert judgement(result, image).use.field is ImageField.EPHEMERAL_CONTAINER


def test_every_workload_kind_is_found() -> None:
    path = fixture("fail", "all_workload_kinds.yaml")
    result = scan(path)
    findings = of_check(result)
    builtin = {kind for kind, groups in WORKLOAD_GROUPS.items() if groups & {"", "apps", "batch"}}
    assert {f.object.kind for f in findings} == builtin  # Knative kinds have their own fixtures
    assert len(findings) == len(builtin) == 9
    image_lines = [
        n for n, line in enumerate(path.read_text().splitlines(), start=1) if "image: myregistry" in line
    ]
    by_kind = {f.object.kind: f for f in findings}
    documents = sorted(by_kind.values(), key=lambda f: f.location.document)
    assert [f.location.line for f in documents] == image_lines
    for kind, finding in by_kind.items():
        assert finding.object.namespace == "shop"
        assert finding.object.name == f"one-{'rc' if kind == 'ReplicationController' else kind.lower()}"
        assert finding.message.startswith(f"{kind} '{finding.object.name}' references private image")


def test_deprecated_service_account_alias() -> None:
    result = scan(fixture("pass", "service_account_alias.yaml"))
    j = judgement(result, ACR_IMAGE)
    assert j.pod.template.service_account == "builder"
    assert j.coverage is Coverage.SERVICE_ACCOUNT


def test_malformed_secret_breaks_coverage_even_when_another_matches() -> None:
    path = fixture("fail", "malformed_secret.yaml")
    result = scan(path)
    (finding,) = of_check(result)
    j = judgement(result, ACR_IMAGE)
    assert j.coverage is Coverage.BROKEN
    assert [m.secret for m in j.matches] == ["acr-creds"]  # would have matched
    assert (
        j.cause == "pull secret 'broken-creds' cannot be decoded, so the kubelet fails every pull of this pod"
    )
    assert finding.message.endswith(f": {j.cause}.")
    assert finding.location.line == line_of(path, f"image: {ACR_IMAGE}")
    assert result.summary.headline == "0 of 1 private images have pull credentials configured."


def test_node_credentials_cover() -> None:
    path = fixture("pass", "node_credentials.yaml")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/payments:v3"
    j = judgement(scan(path), image)
    assert j.coverage is Coverage.NODE
    assert j.matches == (KeyMatch("*.dkr.ecr.*.amazonaws.com", None, False),)
    without = scan(path, ScanOptions())
    (finding,) = of_check(without)
    assert finding.image == image
