"""PG040: pull secret reads in an audit log, judged against tests/fixtures/pg040.

Each fixture NAME.yaml (pull secrets and RBAC) goes with NAME.audit.jsonl, an audit log in
the log backend's format written by tests/auditlog/auditgen.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pullguard.auditlog.command import audit
from pullguard.auditlog.model import AuditResult
from pullguard.checks import Finding, Severity
from pullguard.inventory.model import ObjectRef
from pullguard.scan import ScanOptions, scan_paths

CHECK = "PG040"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / CHECK.lower()


def judge(manifest: Path) -> AuditResult:
    inventory = scan_paths([str(manifest)], ScanOptions())
    assert not inventory.problems, inventory.problems
    result = audit([str(manifest.with_suffix(".audit.jsonl"))], inventory.inventory)
    assert not result.problems, result.problems
    return result


def of_check(result: AuditResult) -> list[Finding]:
    return [f for f in result.findings if f.check_id == CHECK]


@pytest.mark.parametrize("path", sorted((FIXTURES / "fail").glob("*.yaml")), ids=lambda p: p.name)
def test_fail_fixture_yields_a_finding(path: Path) -> None:
    assert of_check(judge(path))


@pytest.mark.parametrize("path", sorted((FIXTURES / "pass").glob("*.yaml")), ids=lambda p: p.name)
def test_pass_fixture_yields_none(path: Path) -> None:
    result = judge(path)
    assert not of_check(result)
    assert result.reads == 4 and result.denied == 1  # kubelet get + watch, deployer, scanner; mallory's 403


def test_reader_without_grant() -> None:
    (finding,) = of_check(judge(FIXTURES / "fail" / "reader_without_grant.yaml"))
    assert finding.severity is Severity.HIGH
    assert finding.object == ObjectRef("Secret", "shop", "regcred")
    assert finding.location.path.endswith("reader_without_grant.audit.jsonl") and finding.location.line == 6
    assert "read by 'mallory@corp.example' 1 time (get ×1" in finding.message
    assert "from 198.51.100.7" in finding.message
    assert "that no RBAC binding in the inventory allows this subject" in finding.message
    # the API server's own reason names the binding the inventory lacks
    assert 'ClusterRoleBinding "oncall-debug"' in finding.message


def test_list_of_the_namespace_is_not_allowed_by_resource_names() -> None:
    result = judge(FIXTURES / "fail" / "list_of_namespace.yaml")
    (finding,) = of_check(result)
    assert "read by 'system:serviceaccount:ci:deployer' 2 times" in finding.message
    assert "flagged (list ×1)" in finding.message  # its get by name is allowed, its list is not


def test_impersonated_user_is_the_reader() -> None:
    result = judge(FIXTURES / "fail" / "impersonation.yaml")
    (finding,) = of_check(result)
    assert (
        "read by 'system:serviceaccount:ci:builder' through impersonation by kubernetes-admin"
        in finding.message
    )
    subjects = result.by_subject()
    assert "kubernetes-admin" not in subjects  # the impersonator read nothing itself
    (reading,) = subjects["system:serviceaccount:ci:builder"]
    assert list(reading.impersonators) == ["kubernetes-admin"]


def test_expected_and_allowed_readers_are_told_apart() -> None:
    readings = {r.subject: r for r in judge(FIXTURES / "pass" / "expected_and_allowed.yaml").readings}
    assert readings["system:node:node-1"].judgement.why == "kubelet (node authorizer)"
    assert readings["system:node:node-2"].verbs == {
        "watch": 1
    }  # ResponseStarted and ResponseComplete: one watch
    assert readings["system:serviceaccount:pullguard:pullguard"].judgement.why == "pullguard scanner"
    assert readings["system:serviceaccount:ci:deployer"].judgement.verdict.value == "allowed"
    mallory = readings["mallory@corp.example"]
    assert (mallory.reads, mallory.denied) == (
        0,
        1,
    )  # a 403 is a denied attempt, and app-config is no pull secret


def test_disabled() -> None:
    manifest = FIXTURES / "fail" / "reader_without_grant.yaml"
    inventory = scan_paths([str(manifest)], ScanOptions()).inventory
    result = audit([str(manifest.with_suffix(".audit.jsonl"))], inventory, disabled=frozenset({CHECK}))
    assert not of_check(result)
    assert result.reads == 4
