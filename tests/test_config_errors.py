"""`.pullguard.yaml` mistakes as a new user makes them, through the real command line: each
problem on a line of its own, by every command that reads the file; impossible dates and other
values YAML cannot build as field errors (never an internal error); a Kubernetes version written
as a YAML number refused; check ids in any case."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_support import run
from pullguard.checks import REGISTRY
from pullguard.config import Config, parse_config
from pullguard.errors import ConfigError, printed
from pullguard.inventory.model import ObjectRef
from pullguard.suppress import annotation_suppressions

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CHECKS = frozenset(REGISTRY)
KEYS = (
    "privateRegistries, publicRegistries, assumePrivate, nodeCredentials, maxCredentialAgeDays, "
    "fingerprintKey, severity, disable, suppressions, externalPullSecrets, auditLog, kubelet"
)
# keys a pull request can write: an escape sequence (retitles the terminal) and a new line that
# would forge a problem of its own
HOSTILE = 'privateRegistry: x\n"evil\\e]0;title\\a": 1\n"y\\n  forged.yaml:9: fine": 2\n'
# the kubelet of a CredentialProviderConfig with tokenAttributes: refused before v1.34 (PG019)
TOKEN_PROVIDER = FIXTURES / "pg019" / "pass" / "sa_mode.yaml"
RBAC = FIXTURES / "pg012" / "fail" / "role_lists_secrets.yaml"  # PG009, PG010 and PG012


def _project(tmp_path: Path, config: str, manifest: Path = TOKEN_PROVIDER) -> Path:
    (tmp_path / manifest.name).write_text(manifest.read_text())
    (tmp_path / ".pullguard.yaml").write_text(config)
    return tmp_path / ".pullguard.yaml"


def _refused(path: str) -> list[str]:
    return [
        "pullguard: invalid configuration:",
        f"  {path}:1: privateRegistry: unknown key; expected one of {KEYS}",
        f"  {path}:2: evil\\x1b]0;title\\x07: unknown key; expected one of {KEYS}",
        f"  {path}:3: y\\x0a  forged.yaml:9: fine: unknown key; expected one of {KEYS}",
    ]


# -- 1. every command prints the problems one per line, each made safe -----------------------


@pytest.mark.parametrize(
    "command",
    [
        ["scan", ".", "--disable", "pg012"],
        ["fix", "."],
        ["verify", "."],
        ["audit-log", "audit.log", "--manifests", "."],
        ["doctor", "web-0", "--kubeconfig", "kubeconfig"],
        ["serve", "--config", ".pullguard.yaml", "--disable", "pg012", "--kubeconfig", "kubeconfig"],
    ],
    ids=lambda command: command[0],
)
def test_every_command_prints_one_problem_per_line(tmp_path: Path, command: list[str]) -> None:
    config = _project(tmp_path, HOSTILE)
    (tmp_path / "audit.log").write_text("")
    # a cluster that is never asked: the configuration is refused first (no port listens on 1)
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u, namespace: shop}}]\n"
        "users: [{name: u, user: {token: not-a-secret}}]\n"
    )
    done = run(*command, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    shown = ".pullguard.yaml" if command[0] == "serve" else str(config.resolve())
    assert done.stderr.splitlines() == _refused(shown)


def test_secret_commands_print_their_errors_on_one_safe_line(tmp_path: Path) -> None:
    done = run(
        "secret", "create", "regcred", "--registry", "r.example", "--username", "ci",
        "--password-env", "NO\nSUCH\x1b[2J", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "pullguard: --password-env NO\\x0aSUCH\\x1b[2J: the environment variable is not set"
    ]


def test_printed_lines_keep_the_message_of_the_error() -> None:
    error = ConfigError("invalid configuration:", ["c.yaml:1: a\nb: unknown key", "c.yaml:2: \x1b[31m"])
    assert str(error) == "invalid configuration:\n  c.yaml:1: a\nb: unknown key\n  c.yaml:2: \x1b[31m"
    assert printed(error) == [
        "pullguard: invalid configuration:",
        "  c.yaml:1: a\\x0ab: unknown key",
        "  c.yaml:2: \\x1b[31m",
    ]
    assert printed(ConfigError("c.yaml: configuration file not found")) == [
        "pullguard: c.yaml: configuration file not found"
    ]
    assert printed("cannot write out\n.sarif") == ["pullguard: cannot write out\\x0a.sarif"]


# -- 2. values YAML cannot build are field errors -----------------------------------------------


def _suppression(expires: str) -> str:
    return (
        f'suppressions:\n  - check: PG009\n    object: "Secret x/y"\n    reason: r\n    expires: {expires}\n'
    )


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "c.yaml", CHECKS)
    return list(raised.value.problems)


def test_an_impossible_date_is_a_field_error_through_the_cli(tmp_path: Path) -> None:
    config = _project(
        tmp_path, 'suppressions: [{check: PG009, object: "Secret x/y", reason: r, expires: 2026-13-45}]\n'
    )
    done = run("scan", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "pullguard: invalid configuration:",
        f"  {config.resolve()}:1: suppressions[0].expires: must be a date (YYYY-MM-DD): "
        "2026-13-45 is not a calendar date",
    ]


@pytest.mark.parametrize(
    ("expires", "reason"),
    [
        ("2026-13-45", "2026-13-45 is not a calendar date"),
        ("2026-02-30", "2026-02-30 is not a calendar date"),
        ('"2026-02-30"', "2026-02-30 is not a calendar date"),  # a string, read with date.fromisoformat
        ("2026-02-03 25:00:00", "2026-02-03 25:00:00 is not a valid date and time"),
        ("2026-02-03T10:00:00+99:00", "2026-02-03T10:00:00+99:00 is not a valid date and time"),
        ("!!timestamp next week", "not a YAML timestamp (YYYY-MM-DD, or an ISO 8601 date and time)"),
    ],
)
def test_impossible_dates_name_file_line_and_field(expires: str, reason: str) -> None:
    assert _problems(_suppression(expires)) == [
        f"c.yaml:5: suppressions[0].expires: must be a date (YYYY-MM-DD): {reason}"
    ]


def test_values_yaml_cannot_build_are_field_errors_everywhere() -> None:
    text = (
        "maxCredentialAgeDays: 0b_\n"  # an int to the resolver, no digits to the constructor
        "assumePrivate: !custom x\n"
        "fingerprintKey: !!timestamp 2026-02-30 10:00:00.123456789\n"  # never shown, even a date
        "2026-13-45: key\n"
        "kubelet:\n"
        "  featureGates: {KubeletEnsureSecretPulledImages: 2026-02-30}\n"
        "suppressions:\n"
        "  - {check: PG009, object: '* x/y', reason: r, expires: &d 2026-02-30}\n"
        "  - {check: PG010, object: '* x/y', reason: r, expires: *d}\n"
    )
    assert _problems(text) == [
        "c.yaml:4: (top level): 2026-13-45 is not a calendar date",
        "c.yaml:1: maxCredentialAgeDays: must be a whole number of days above 0: cannot be read as a YAML int",
        "c.yaml:2: assumePrivate: must be true or false: the YAML tag '!custom' is not supported",
        "c.yaml:3: fingerprintKey: not a YAML timestamp (YYYY-MM-DD, or an ISO 8601 date and time)",
        "c.yaml:6: kubelet: 2026-02-30 is not a calendar date",
        "c.yaml:8: suppressions[0].expires: must be a date (YYYY-MM-DD): 2026-02-30 is not a calendar date",
        "c.yaml:8: suppressions[1].expires: must be a date (YYYY-MM-DD): 2026-02-30 is not a calendar date",
    ]


def test_a_control_character_in_the_file_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"^c\.yaml: not valid YAML: special characters are not allowed"):
        parse_config("assumePrivate: \x1b[2J\n", "c.yaml", CHECKS)


_DATE_LIKE = st.from_regex(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,12})?"
    r"( ?(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?",
    fullmatch=True,
)
_TAGS = st.sampled_from(
    ["", "", "!!timestamp ", "!!int ", "!!float ", "!!bool ", "!!binary ", "!!null ", "!!str ", "!!set ",
     "!!omap ", "!!pairs ", "!!merge ", "!local ", "&anchor ", "*nowhere "]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tag=_TAGS,
    text=st.one_of(_DATE_LIKE, st.text(max_size=40), _DATE_LIKE.map(json.dumps), st.text().map(json.dumps)),
)
def test_any_scalar_as_expires_is_a_config_or_a_config_error(tag: str, text: str) -> None:
    try:
        config = parse_config(_suppression(tag + text), "c.yaml", CHECKS)
    except ConfigError:
        return
    assert isinstance(config, Config)
    assert all(s.expires is None or isinstance(s.expires, date) for s in config.suppressions)


# -- 3. a Kubernetes version is a string -----------------------------------------------------


def test_an_unquoted_kubernetes_version_is_refused_through_the_cli(tmp_path: Path) -> None:
    config = _project(tmp_path, "kubelet:\n  kubernetesVersion: 1.40\n")
    done = run("scan", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "pullguard: invalid configuration:",
        f"  {config.resolve()}:2: kubelet.kubernetesVersion: 1.4 is a YAML number (1.40 reads as 1.4); "
        'write it as a string: "1.40"',
    ]
    assert "v1.4 " not in done.stdout
    config.write_text('kubelet:\n  kubernetesVersion: "1.40"\n')  # as meant: tokenAttributes are fine
    done = run("scan", ".", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["findings"] == []
    config.write_text('kubelet:\n  kubernetesVersion: "1.33"\n')  # the check still judges the version
    done = run("scan", ".", "--format", "json", cwd=tmp_path)
    assert [f["checkId"] for f in json.loads(done.stdout)["findings"]] == ["PG019"]


def test_the_command_line_version_is_read_as_written(tmp_path: Path) -> None:
    _project(tmp_path, "{}\n")
    for version, checks in (("1.40", []), ("1.4", ["PG019"]), ("1.30", ["PG019"])):
        done = run("scan", ".", "--format", "json", "--kubernetes-version", version, cwd=tmp_path)
        assert [f["checkId"] for f in json.loads(done.stdout)["findings"]] == checks, version


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("1.30", '1.3 is a YAML number (1.30 reads as 1.3); write it as a string: "1.30"'),
        ("1.34", '1.34 is a YAML number; write it as a string: "1.34"'),
        ("1", '1 is a YAML number; write it as a string: "1"'),
        ('!!float "1.40"', '1.4 is a YAML number (1.40 reads as 1.4); write it as a string: "1.40"'),
        ("true", 'must be a string such as "v1.34"'),
    ],
)
def test_kubernetes_version_numbers_are_refused(written: str, problem: str) -> None:
    text = f"kubelet:\n  featureGates: {{}}\n  kubernetesVersion: {written}\n"
    assert _problems(text) == [f"c.yaml:3: kubelet.kubernetesVersion: {problem}"]
    assert parse_config('kubelet: {kubernetesVersion: "1.30"}', "c.yaml", CHECKS).kubelet.version == "1.30"  # type: ignore[union-attr]


# -- 4. check ids in any case ------------------------------------------------------------------


def test_check_ids_in_any_case_on_the_command_line_and_in_the_file(tmp_path: Path) -> None:
    _project(tmp_path, "disable: [pg010]\nseverity: {Pg009: critical}\n", RBAC)
    done = run("scan", ".", "--disable", "pg012", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert [(f["checkId"], f["severity"]) for f in findings] == [("PG009", "critical")]
    (tmp_path / ".pullguard.yaml").write_text(
        "suppressions: [{check: pg009, object: 'Secret shop/*', reason: kept for the export job}]\n"
    )
    done = run("scan", ".", "--disable", "Pg010", "--disable", "PG012", "--format", "json", cwd=tmp_path)
    report = json.loads(done.stdout)
    assert report["findings"] == []
    assert [s["checkId"] for s in report["suppressedFindings"]] == ["PG009"]
    done = run("scan", ".", "--disable", "pg999", cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown check PG999" in done.stderr


def test_check_ids_in_the_configuration_are_upper_case() -> None:
    config = parse_config(
        "disable: [pg004]\nseverity: {pg013: info}\nsuppressions: [{check: pG009, object: '*', reason: r}]\n",
        "c.yaml",
        CHECKS,
    )
    assert config.disable == ("PG004",)
    assert config.severity == (("PG013", "info"),)
    assert [s.check for s in config.suppressions] == ["PG009"]
    assert _problems("severity: {PG013: info, pg013: low}\n") == [
        "c.yaml:1: severity.pg013: PG013 given twice"
    ]
    assert _problems("disable: [pg999, x]\n") == [
        "c.yaml:1: disable[0]: unknown check 'pg999'; see `pullguard checks`",
        "c.yaml:1: disable[1]: unknown check 'x'; see `pullguard checks`",
    ]


def test_the_ignore_annotation_takes_check_ids_in_any_case() -> None:
    ref = ObjectRef("Secret", "shop", "old-creds")
    found = annotation_suppressions("pg009, Pg010: used by the export job; *: all", ref)
    assert [(s.check, s.reason) for s in found] == [
        ("PG009", "used by the export job"),
        ("PG010", "used by the export job"),
        ("*", "all"),
    ]
