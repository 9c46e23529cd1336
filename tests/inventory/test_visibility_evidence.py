"""Which pull-secret entries prove that an image is private (tests/fixtures/visibility, pg030).

The rule: only an entry that gives the kubelet a username or password is evidence; on a
shared multi-tenant host (ghcr.io, Docker Hub, Artifact Registry, ...) only a key with a path,
for the repositories under it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pullguard.scan import ScanOptions, ScanResult, scan_paths
from pullguard.semantics.dockerconfig import Credential
from pullguard.semantics.evidence import SecretEvidence, gives_credential, is_shared_host
from pullguard.semantics.registries import Visibility

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _scan(name: str) -> ScanResult:
    result = scan_paths([str(FIXTURES / name)], ScanOptions())
    assert not [p for p in result.problems if p.level.value == "error"]
    return result


def _visibility(result: ScanResult) -> dict[str, tuple[Visibility | None, str]]:
    return {
        j.use.image: (j.visibility, j.classification.reason if j.classification else "")
        for j in result.resolution.images
    }


def test_empty_entries_are_no_evidence_anywhere() -> None:
    result = _scan("pg030/fail/desktop_config.yaml")
    seen = _visibility(result)
    for image in ("ghcr.io/acme/api:1.4.0", "ghcr.io/other-team/site:2"):
        visibility, reason = seen[image]
        assert visibility is Visibility.UNKNOWN
        assert "ghcr.io in 'apps/desktop-login') holds no credential" in reason
    assert result.summary.private_images == 0
    assert not [f for f in result.findings if f.check_id in ("PG001", "PG005", "PG006", "PG009", "PG010")]
    api = next(j for j in result.resolution.images if j.use.image.startswith("ghcr.io/acme"))
    assert [(m.location, m.anonymous) for m in api.matches] == [("ghcr.io", True)]
    assert not api.coverage.configured


def test_whole_shared_host_key_is_no_evidence_for_any_repository() -> None:
    seen = _visibility(_scan("visibility/shared_host_whole_key.yaml"))
    for image in ("ghcr.io/team-a/api:3", "ghcr.io/team-b/site:7"):
        visibility, reason = seen[image]
        assert visibility is Visibility.UNKNOWN
        assert "ghcr.io holds public and private repositories" in reason
        assert "'team-a/ghcr-login'" in reason


def test_path_key_on_shared_host_is_evidence_for_that_path_only() -> None:
    result = _scan("visibility/shared_host_path_key.yaml")
    seen = _visibility(result)
    assert seen["ghcr.io/team-a/api:3"][0] is Visibility.PRIVATE
    assert "ghcr.io/team-a in 'team-a/ghcr-team-a'" in seen["ghcr.io/team-a/api:3"][1]
    assert seen["ghcr.io/team-a/worker:3"][0] is Visibility.PRIVATE
    assert seen["ghcr.io/team-b/site:7"][0] is Visibility.UNKNOWN
    pg001 = [f for f in result.findings if f.check_id == "PG001"]
    assert [f.image for f in pg001] == ["ghcr.io/team-a/worker:3"]


def test_dedicated_host_key_is_evidence_for_every_repository() -> None:
    result = _scan("visibility/dedicated_host.yaml")
    seen = _visibility(result)
    assert seen["registry.corp.example/team-b/site:7"][0] is Visibility.PRIVATE
    assert [f.image for f in result.findings if f.check_id == "PG001"] == [
        "registry.corp.example/team-b/site:7"
    ]
    assert result.summary.headline == "1 of 2 private images have pull credentials configured."


def test_docker_hub_login_is_no_evidence() -> None:
    seen = _visibility(_scan("visibility/docker_hub_rate_limit.yaml"))
    assert seen["someorg/api:3"][0] is Visibility.UNKNOWN
    assert "docker.io holds public and private repositories" in seen["otherorg/site:7"][1]


def test_artifact_registry_is_per_project() -> None:
    seen = _visibility(_scan("visibility/artifact_registry.yaml"))
    assert seen["europe-docker.pkg.dev/acme-dev/images/api:3"][0] is Visibility.UNKNOWN
    assert seen["us-docker.pkg.dev/acme-prod/images/batch:1"][0] is Visibility.PRIVATE


@pytest.mark.parametrize(
    ("host", "shared"),
    [
        ("ghcr.io", True),
        ("docker.io", True),
        ("index.docker.io", True),
        ("quay.io", True),
        ("eu.gcr.io", True),
        ("us-central1-docker.pkg.dev", True),
        ("public.ecr.aws", True),
        ("registry.gitlab.com", True),
        ("registry.corp.example", False),
        ("myregistry.azurecr.io", False),
        ("gitlab.corp.example", False),
    ],
)
def test_shared_hosts(host: str, shared: bool) -> None:
    assert is_shared_host(host) is shared


@pytest.mark.parametrize(
    ("credential", "usable"),
    [
        (Credential("", ""), False),
        (Credential("", "", "", True), False),
        (Credential("user", ""), True),
        (Credential("", "password"), True),
    ],
)
def test_gives_credential(credential: Credential, usable: bool) -> None:
    assert gives_credential(credential) is usable


def test_evidence_sorts_entries() -> None:
    real, empty = Credential("u", "p"), Credential("", "")
    evidence = SecretEvidence.of(
        [
            ("a/s1", "ghcr.io", real),
            ("a/s1", "ghcr.io/acme", real),
            ("a/s2", "registry.corp.example", real),
            ("b/s3", "quay.io", empty),
        ]
    )
    assert evidence.private == {"ghcr.io/acme": ("a/s1",), "registry.corp.example": ("a/s2",)}
    assert evidence.shared_host_wide == {"ghcr.io": ("a/s1",)}
    assert evidence.without_credential == {"quay.io": ("b/s3",)}
