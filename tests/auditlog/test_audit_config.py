"""`auditLog:` in .pullguard.yaml: the allow-lists of `audit-log` and `scan --audit-log`, flags added."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditlog import auditgen as g
from auditlog.test_audit_log import DEPLOYER, DEPLOYER_GROUPS, INVENTORY, run
from pullguard.auditlog.classify import ReadPolicy
from pullguard.config import parse_config, scan_options
from pullguard.errors import ConfigError
from pullguard.settings import AuditLogSettings

FULL = """\
auditLog:
  expect: ["system:serviceaccount:argocd:*"]
  scanners: [system:serviceaccount:pullguard:scanner]
  allowUserAgents: ["kubectl/*"]
  allowSources: [10.0.0.0/8, 192.0.2.7]
  businessHours: "08:00-18:00"
  businessDays: mon-fri
  timezone: Europe/Berlin
"""


def project(tmp_path: Path, config: str) -> Path:
    """The pull secret and its RBAC in k8s/, with this .pullguard.yaml next to them."""
    directory = tmp_path / "k8s"
    directory.mkdir()
    (directory / "inventory.yaml").write_text(INVENTORY.read_text())
    (directory / ".pullguard.yaml").write_text(config)
    return directory


def pg040(stdout: str) -> list[tuple[str, str]]:
    report = json.loads(stdout)
    return [(f["severity"], f["message"]) for f in report["findings"] if f["checkId"] == "PG040"]


def test_the_section_is_read_into_the_options() -> None:
    config = parse_config(FULL, "p.yaml", frozenset())
    expected = AuditLogSettings(
        user_agents=("kubectl/*",),
        sources=("10.0.0.0/8", "192.0.2.7"),
        business_hours="08:00-18:00",
        business_days="mon-fri",
        timezone="Europe/Berlin",
        expect=("system:serviceaccount:argocd:*",),
        scanners=("system:serviceaccount:pullguard:scanner",),
    )
    assert config.audit_log == expected
    options = scan_options(
        config,
        default_namespace="default",
        private_patterns=(),
        public_patterns=(),
        node_patterns=(),
        assume_private=False,
        disabled_checks=(),
        max_age_days=None,
    )
    assert options.audit_log == expected
    policy = ReadPolicy.from_settings(options.audit_log)
    assert str(policy.hours) == "mon,tue,wed,thu,fri 08:00-18:00 Europe/Berlin"
    assert policy.source_allowed(["10.1.2.3"]) and not policy.source_allowed(["192.0.2.8"])


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("auditLog: [a]\n", "p.yaml:1: auditLog: must be a mapping"),
        ("auditLog:\n  allowSource: [10.0.0.0/8]\n", "p.yaml:2: auditLog.allowSource: unknown key"),
        (
            "auditLog:\n  allowSources:\n    - 10.0.0.0/8\n    - ten.0.0.0/8\n",
            "p.yaml:4: auditLog.allowSources[1]: source address: 'ten.0.0.0/8' does not appear",
        ),
        ("auditLog:\n  allowUserAgents: kubectl/*\n", "p.yaml:2: auditLog.allowUserAgents: must be a list"),
        ('auditLog:\n  expect: [""]\n', "p.yaml:2: auditLog.expect[0]: must be a non-empty string"),
        ("auditLog:\n  businessHours: 8 to 6\n", "p.yaml:2: auditLog.businessHours: business hours '8 to 6'"),
        (
            "auditLog:\n  businessHours: 08:00-18:00\n  businessDays: weekdays\n",
            "p.yaml:3: auditLog.businessDays: business days 'weekdays'",
        ),
        (
            "auditLog:\n  businessHours: 08:00-18:00\n  timezone: Europe/Atlantis\n",
            "p.yaml:3: auditLog.timezone: unknown time zone 'Europe/Atlantis'",
        ),
        (
            "auditLog:\n  timezone: UTC\n",
            "p.yaml:2: auditLog.timezone: applies to businessHours, which is not given",
        ),
    ],
)
def test_errors_name_the_file_line_and_field(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "p.yaml", frozenset())
    assert error in str(raised.value)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "expect",
                "scanners",
                "allowUserAgents",
                "allowSources",
                "businessHours",
                "businessDays",
                "timezone",
                "x",
            ]
        ),
        st.one_of(st.text(max_size=20), st.lists(st.text(max_size=20), max_size=3), st.integers(), st.none()),
    )
)
def test_any_section_is_read_or_refused_with_a_located_error(section: dict[str, object]) -> None:
    text = json.dumps({"auditLog": section})  # JSON is YAML
    try:
        config = parse_config(text, "p.yaml", frozenset())
    except ConfigError as error:
        assert all(line.strip().startswith("p.yaml:1: auditLog") for line in str(error).splitlines()[1:])
        return
    ReadPolicy.from_settings(config.audit_log)  # what was accepted builds a policy


def test_scan_with_audit_log_judges_with_the_configuration(tmp_path: Path) -> None:
    """An RBAC-allowed reader from outside the configured network: flagged only with the file."""
    log = g.write(
        tmp_path / "audit.log",
        [g.event(verb="get", user=DEPLOYER, groups=DEPLOYER_GROUPS, name="regcred", source_ip="203.0.113.9")],
    )
    manifests = project(tmp_path, "auditLog:\n  allowSources: [10.0.0.0/8]\n")
    done = run("scan", str(manifests), "--audit-log", str(log), "-f", "json")
    assert done.returncode == 1, done.stderr
    ((severity, message),) = pg040(done.stdout)
    assert severity == "medium" and "1 read from a source address not in the allow-list" in message
    clean = run("scan", str(manifests), "--audit-log", str(log), "--no-config", "-f", "json")
    assert clean.returncode in (0, 1), clean.stderr  # the scan's own findings may remain
    assert pg040(clean.stdout) == []


def test_audit_log_flags_add_to_the_lists_and_win_over_single_values(tmp_path: Path) -> None:
    manifests = project(
        tmp_path,
        "auditLog:\n  expect: [mallory]\n  allowUserAgents: ['kubectl/*']\n  businessHours: '10:00-11:00'\n",
    )
    log = g.write(
        tmp_path / "audit.log",
        [
            g.event(
                verb="get", user="mallory", name="regcred", user_agent="wget/1.21"
            ),  # expected by the file
            g.event(
                verb="get", user=DEPLOYER, groups=DEPLOYER_GROUPS, name="regcred", user_agent="curl/8.5.0"
            ),
            g.event(
                verb="get",
                user=DEPLOYER,
                groups=DEPLOYER_GROUPS,
                name="regcred",
                at=g.T0 + timedelta(hours=4),  # 13:00 UTC, outside the file's 10-11
            ),
        ],
    )
    args = ("audit-log", str(log), "--manifests", str(manifests), "-f", "json")
    ((_, message),) = pg040(run(*args).stdout)
    assert "1 read from a user agent not in the allow-list" in message  # curl
    assert "2 reads outside business hours (mon,tue,wed,thu,fri 10:00-11:00 UTC)" in message
    assert "'mallory'" not in message
    # a flag adds a user agent and replaces the window
    done = run(*args, "--allow-user-agent", "curl/*", "--business-hours", "00:00-23:59")
    assert done.returncode == 0, done.stderr
    assert pg040(done.stdout) == []
    assert "user agents kubectl/*, curl/*" in json.loads(done.stdout)["summary"]["policy"]
    # the flag's days and zone apply to the file's window
    late = run(*args, "--allow-user-agent", "curl/*", "--timezone", "Asia/Tokyo")
    assert "(mon,tue,wed,thu,fri 10:00-11:00 Asia/Tokyo)" in pg040(late.stdout)[0][1]


def test_days_or_zone_without_hours_is_a_usage_error(tmp_path: Path) -> None:
    log = g.write(tmp_path / "audit.log", [g.event(verb="get", user="mallory", name="regcred")])
    done = run("audit-log", str(log), "--no-config", "--timezone", "Europe/Berlin")
    assert done.returncode == 2 and "need business hours" in done.stderr
