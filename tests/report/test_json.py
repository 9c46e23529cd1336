"""The JSON report: structure, and exact counts for examples/ computed by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pullguard.report import json_report
from pullguard.scan import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return json.loads(json_report.render(scan_paths([str(EXAMPLES)], ScanOptions())))  # type: ignore[no-any-return]


def test_top_level_keys(report: dict[str, Any]) -> None:
    assert list(report) == [
        "schemaVersion",
        "tool",
        "summary",
        "findings",
        "images",
        "pullSecrets",
        "clusterWideSecretReaders",
        "unanalysedWorkloads",
        "inputProblems",
        "suppressedFindings",
        "fixes",
    ]
    assert report["schemaVersion"] == "1"
    assert report["tool"]["name"] == "pullguard" and isinstance(report["tool"]["version"], str)
    for key in ("findings", "images", "pullSecrets", "unanalysedWorkloads", "inputProblems"):
        assert isinstance(report[key], list)


def test_summary_types(report: dict[str, Any]) -> None:
    summary = report["summary"]
    assert isinstance(summary["line"], str)
    for key in (
        "files", "documents", "objects", "lists", "podTemplates", "images", "imagesJudged",
        "invalidReferences", "unresolvedReferences", "privateImages", "privateImagesCovered",
        "privateImagesUnverifiable", "publicImages", "unknownRegistryImages", "unanalysedWorkloads",
        "inputErrors", "inputWarnings",
    ):  # fmt: skip
        assert type(summary[key]) is int, key
    for key in ("documentsSkipped", "documentsSkippedReasons", "findings"):
        assert isinstance(summary[key], dict), key


def test_exact_counts_for_examples(report: dict[str, Any]) -> None:
    # ops.yaml: Namespace, 2 Secrets, Deployment mirror-sync (1 image), CronJob backup (2 images);
    # shop/: Namespace + ServiceAccount, 4 Secrets, 9 workloads with 12 images.
    # Private (10): mirror-sync, backup, api, migrate, worker, frontend, billing, reports, payments,
    # cache; covered (4): mirror-sync, api, migrate (pod), worker (ServiceAccount). Public: nginx,
    # pause. Unknown: ghcr.io uploader, quay.io smoke, and Docker Hub's acme/analytics (a key for all
    # of a shared registry, index.docker.io, is no evidence that one repository is private; it is
    # still covered by that key).
    # platform/ (Namespace, 2 Secrets, ServiceAccount, 2 Deployments; create-pull-secret.sh is a script,
    # not a manifest file): ingest (ECR, uncovered) and docs (covered by its pod secret) are private.
    # eks/ (CredentialProviderConfig; Namespace, ServiceAccount, Deployment; the nodes' audience ClusterRole
    # and binding): checkout (ECR) is private,
    # covered by ecr-credential-provider with its ServiceAccount's token; gke/ (CredentialProviderConfig;
    # Namespace, Deployment): recommender on Artifact Registry, unknown visibility (examples/gke/.pullguard.yaml
    # is not read when examples/ is scanned), served by auth-provider-gcp.
    assert report["summary"] == {
        "line": "6 of 13 private images have pull credentials configured.",
        "files": 13,
        "documents": 39,
        "documentsSkipped": {},
        "documentsSkippedReasons": {},
        "objects": 39,
        "lists": 0,
        "podTemplates": 15,
        "images": 19,
        "imagesJudged": 19,
        "invalidReferences": 0,
        "placeholderReferences": 0,
        "unresolvedReferences": 0,
        "privateImages": 13,
        "privateImagesCovered": 6,
        "privateImagesUnverifiable": 0,
        "publicImages": 2,
        "unknownRegistryImages": 4,
        "unanalysedWorkloads": 0,
        "inputErrors": 0,
        "inputWarnings": 0,
        # PG001 x6 (backup, cache, frontend, payments, reports, billing) low;
        # PG002 billing + PG004 cache, frontend, payments + PG014 aescbc first medium;
        # PG003 broken-creds, legacy-opaque + PG012 x3 (shop pull secrets, shop/rbac.yaml)
        # + PG014 command-literal key + PG015 RequestResponse on secrets high.
        # PART A (platform/ and the new checks over shop/ and ops/): PG001 ingest, PG008, PG009,
        # PG013 x2 (shop/default, platform/ingest; the input holds RBAC) low; PG005, PG006, PG007,
        # PG011, PG016 shop, PG017 medium; PG010 x9 (8 plaintext Secret manifests incl. the Opaque one,
        # 1 literal password in platform/create-pull-secret.sh) high.
        "findings": {"low": 11, "medium": 11, "high": 16},
        "suppressedFindings": 0,
        "pullSecretsAgeUnknown": 5,
        "pullSecretsDeclared": 0,
    }


def test_findings_by_check_for_examples(report: dict[str, Any]) -> None:
    found = sorted(
        (f["checkId"], f"{f['object']['kind']} {f['object']['namespace']}/{f['object']['name']}")
        for f in report["findings"]
    )
    assert found == [
        ("PG001", "CronJob ops/backup"),
        ("PG001", "DaemonSet shop/cache"),
        ("PG001", "Deployment platform/ingest"),
        ("PG001", "Deployment shop/frontend"),
        ("PG001", "Deployment shop/payments"),
        ("PG001", "Deployment shop/reports"),
        ("PG001", "StatefulSet shop/billing"),
        ("PG002", "StatefulSet shop/billing"),
        ("PG003", "Secret ops/broken-creds"),
        ("PG003", "Secret shop/legacy-opaque"),
        ("PG004", "DaemonSet shop/cache"),
        ("PG004", "Deployment shop/frontend"),
        ("PG004", "Deployment shop/payments"),
        ("PG005", "Secret platform/registry-creds"),
        ("PG006", "Secret platform/ecr-token"),
        ("PG007", "Secret platform/registry-creds"),
        ("PG008", "Secret platform/registry-creds"),
        ("PG009", "Secret platform/ecr-token"),
        ("PG010", "Secret ops/broken-creds"),
        ("PG010", "Secret ops/mirror-creds"),
        ("PG010", "Secret ops/mirror-creds"),  # and the literal password of create-pull-secret.sh
        ("PG010", "Secret platform/ecr-token"),
        ("PG010", "Secret platform/registry-creds"),
        ("PG010", "Secret shop/corp-creds"),
        ("PG010", "Secret shop/hub-creds"),
        ("PG010", "Secret shop/legacy-opaque"),
        ("PG010", "Secret shop/registry-creds"),
        ("PG011", "Deployment platform/docs"),
        ("PG012", "Secret shop/corp-creds"),
        ("PG012", "Secret shop/hub-creds"),
        ("PG012", "Secret shop/registry-creds"),
        ("PG013", "ServiceAccount platform/ingest"),
        ("PG013", "ServiceAccount shop/default"),
        ("PG014", "EncryptionConfiguration None/encryption-config.yaml"),
        ("PG014", "EncryptionConfiguration None/encryption-config.yaml"),
        ("PG015", "Policy None/audit-policy.yaml"),
        ("PG016", "Namespace None/shop"),
        ("PG017", "Deployment platform/ingest"),
    ]


def test_every_finding_is_complete(report: dict[str, Any]) -> None:
    assert report["findings"]
    for finding in report["findings"]:
        assert set(finding) == {
            "checkId", "severity", "breaksPull", "object", "message", "image", "container", "location",
            "remediation",
        }  # fmt: skip
        assert finding["checkId"].startswith("PG")
        assert finding["severity"] in {"info", "low", "medium", "high", "critical"}
        assert set(finding["object"]) == {"kind", "namespace", "name"}
        assert finding["object"]["kind"] and finding["object"]["name"]
        # cluster-scoped objects (API server configuration files) have no namespace
        assert finding["object"]["namespace"] is None or finding["object"]["namespace"]
        location = finding["location"]
        assert isinstance(location["file"], str) and location["file"].endswith((".yaml", ".sh"))
        assert type(location["document"]) is int and location["document"] >= 1
        assert type(location["line"]) is int and location["line"] >= 1
        assert isinstance(finding["message"], str) and finding["message"]
        assert isinstance(finding["remediation"], str) and finding["remediation"]


def test_findings_are_sorted_by_severity(report: dict[str, Any]) -> None:
    rank = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
    ranks = [rank[f["severity"]] for f in report["findings"]]
    assert ranks == sorted(ranks, reverse=True)


def test_images_structure(report: dict[str, Any]) -> None:
    assert len(report["images"]) == report["summary"]["images"]
    coverage = {(i["object"]["name"], i["name"]): i["coverage"] for i in report["images"]}
    assert coverage[("worker", "worker")] == "serviceaccount"
    assert coverage[("backup", "backup")] == "broken"
    assert coverage[("analytics", "analytics")] == "pod"
    assert coverage[("checkout", "api")] == "provider-sa-token"
    assert coverage[("recommender", "recommender")] == "provider"
    for image in report["images"]:
        assert image["field"] in {"containers", "initContainers", "ephemeralContainers", "volumes"}
        assert image["visibility"] in {"private", "public", "unknown"}
        assert isinstance(image["credentials"], list)
        if image["coverage"] in ("pod", "serviceaccount", "node", "provider", "provider-sa-token"):
            assert image["cause"] is None and image["credentials"]
        elif image["visibility"] == "private":
            assert isinstance(image["cause"], str) and image["cause"]


def test_pull_secrets_never_carry_values(report: dict[str, Any]) -> None:
    names = sorted((s["namespace"], s["name"]) for s in report["pullSecrets"])
    assert names == [
        ("ops", "broken-creds"),
        ("ops", "mirror-creds"),
        ("platform", "ecr-token"),
        ("platform", "registry-creds"),
        ("shop", "corp-creds"),
        ("shop", "hub-creds"),
        ("shop", "legacy-opaque"),
        ("shop", "registry-creds"),
    ]
    for secret in report["pullSecrets"]:
        required = {"namespace", "name", "type", "origin", "registries", "error", "location", "readers"}
        extra = {"fingerprints", "fingerprintKeyConfigured", "age"}
        assert required | extra == set(secret)
        assert all(f["fingerprint"].startswith("hmac-sha256:") for f in secret["fingerprints"])
    text = json.dumps(report)
    for fake in ("example-password-1", "example-password-2", "example-password-3", "example-password-5"):
        assert fake not in text
