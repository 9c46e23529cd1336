"""One pipeline for every command: regression tests for what assembling it per command broke,
and files judged against a live cluster (the API-server double over real HTTP)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from apiserver_double import ApiServerDouble
from cluster.fixtures import pull_secret, service_account, shop_cluster
from cluster.test_cluster_scan import assert_no_canary, run, write_kubeconfig
from pullguard.cli import main
from pullguard.inventory.access import compute_secret_access
from pullguard.scan import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

UNCOVERED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      imagePullSecrets: [{name: regcred}]
      containers: [{name: app, image: registry.corp.example/shop/web:1.0}]
"""


def _fleet(password: str) -> dict[str, list[dict[str, Any]]]:
    objects = shop_cluster()
    objects["secrets"][0] = pull_secret("registry-creds", "shop", "registry.example.com", password=password)
    return objects


# -- 2. formats: rendered or refused, never replaced by text ---------------------------


@pytest.mark.parametrize(
    ("fmt", "marker"), [("html", "<!doctype html>"), ("junit", "<testsuites"), ("markdown", "#")]
)
def test_cluster_scan_renders_every_single_cluster_format(tmp_path: Path, fmt: str, marker: str) -> None:
    with ApiServerDouble(shop_cluster()) as api:
        kubeconfig = write_kubeconfig(tmp_path / "k", api.kubeconfig("prod"))
        result = run("scan", "--cluster", "--kubeconfig", kubeconfig, "-A", "-f", fmt)
    assert result.returncode == 1, result.stderr
    assert marker.lower() in result.stdout[:200].lower(), result.stdout[:200]
    assert "PG002" in result.stdout  # the cluster's findings, not the text table
    assert "Severity   Check" not in result.stdout
    assert_no_canary(result.stdout)


def test_fleet_refuses_formats_it_cannot_render(tmp_path: Path) -> None:
    with ApiServerDouble(shop_cluster()) as a, ApiServerDouble(shop_cluster()) as b:
        paths = [
            write_kubeconfig(tmp_path / f"{n}.yaml", api.kubeconfig(n)) for n, api in (("a", a), ("b", b))
        ]
        result = run(
            "scan",
            "--context",
            "a",
            "--context",
            "b",
            "-A",
            "-f",
            "html",
            env={"KUBECONFIG": ":".join(paths)},
        )
    assert result.returncode == 2
    assert "--format html is not available for a scan of several clusters" in result.stderr
    assert result.stdout == ""
    assert a.paths() == [] and b.paths() == []  # refused before any request


# -- 3 and 6. cross-cluster PG007: in SARIF, and finalised with the configuration -----


def test_fleet_sarif_holds_the_cross_cluster_findings_and_configuration_applies(tmp_path: Path) -> None:
    with ApiServerDouble(_fleet("shared-pw-1")) as prod, ApiServerDouble(_fleet("shared-pw-1")) as staging:
        paths = [
            write_kubeconfig(tmp_path / f"{n}.yaml", api.kubeconfig(n))
            for n, api in (("prod", prod), ("staging", staging))
        ]
        env = {"KUBECONFIG": ":".join(paths), "PULLGUARD_FINGERPRINT_KEY": "test-key"}
        args = ["scan", "--context", "prod", "--context", "staging", "-A", "--no-config"]
        sarif = json.loads(run(*args, "-f", "sarif", env=env).stdout)
        config = tmp_path / "pullguard.yaml"
        config.write_text(
            "severity: {PG007: high}\n"
            "suppressions:\n"
            "  - {check: PG007, object: 'Secret ops/ops-creds', reason: rotated next week}\n",
            encoding="utf-8",
        )
        configured = json.loads(run(*args[:-1], "--config", str(config), "-f", "json", env=env).stdout)
        configured_sarif = json.loads(run(*args[:-1], "--config", str(config), "-f", "sarif", env=env).stdout)
    fleet_runs = [r for r in sarif["runs"] if r.get("automationDetails", {}).get("id") == "pullguard/fleet"]
    assert len(fleet_runs) == 1
    cross = {(r["properties"]["cluster"], r["ruleId"]) for r in fleet_runs[0]["results"]}
    assert cross == {("prod", "PG007"), ("staging", "PG007")}
    assert len(fleet_runs[0]["results"]) == 4  # registry-creds and ops-creds, in both clusters
    reuse = configured["fleet"]["findings"]
    assert {f["object"]["name"] for f in reuse} == {"registry-creds"}  # ops-creds suppressed
    assert {f["severity"] for f in reuse} == {"high"}  # the override applies across clusters too
    fleet_run = next(
        r for r in configured_sarif["runs"] if r.get("automationDetails", {}).get("id") == "pullguard/fleet"
    )
    assert sum(1 for r in fleet_run["results"] if r.get("suppressions")) == 2


# -- 4. the HTML report shows the fingerprints analysis computed ------------------------


def test_html_shows_credential_fingerprints(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["scan", str(EXAMPLES), "-f", "html", "--fail-on", "never"])
    assert done.exit_code in (0, 1), done.output
    assert "hmac-sha256:" in done.output
    section = done.output.split('id="pull-secrets"', 1)[1]
    assert section.count("hmac-sha256:") >= 3


# -- 7. no module-level cache shared by the fleet's threads -----------------------------


def test_secret_access_is_computed_per_analysis_not_cached_across_threads() -> None:
    results: dict[str, object] = {}

    def scan(name: str, path: Path) -> None:
        result = scan_paths([str(path)], ScanOptions())
        results[name] = (result.facts.access, compute_secret_access(result.inventory))

    threads = [
        threading.Thread(target=scan, args=(name, EXAMPLES / sub))
        for name, sub in (("platform", "platform"), ("shop", "shop"), ("ops", "ops"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for stored, fresh in results.values():  # type: ignore[misc]
        assert stored.readers == fresh.readers
        assert stored.cluster_wide == fresh.cluster_wide
    import pullguard.inventory.access as access

    assert not any(name.startswith("_last") for name in vars(access))


# -- 8. -o infers the format from the extension -----------------------------------------


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("report.json", lambda text: json.loads(text)["summary"]["line"]),
        ("pullguard.sarif", lambda text: json.loads(text)["version"] == "2.1.0"),
        ("report.html", lambda text: text.lower().startswith("<!doctype html>")),
        ("report.md", lambda text: text.startswith("#")),
        ("junit.xml", lambda text: "<testsuite" in text),
    ],
)
def test_output_file_extension_chooses_the_format(tmp_path: Path, name: str, check: Any) -> None:
    out = tmp_path / name
    done = CliRunner().invoke(
        main, ["scan", str(EXAMPLES), "-o", str(out), "--fail-on", "never", "--no-fail-on-broken-pulls"]
    )
    assert done.exit_code == 0, done.output
    assert check(out.read_text(encoding="utf-8"))


def test_unknown_output_extension_without_format_is_a_usage_error(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["scan", str(EXAMPLES), "-o", str(tmp_path / "report.out")])
    assert done.exit_code == 2
    assert "cannot tell the report format" in done.output
    assert not (tmp_path / "report.out").exists()


@pytest.mark.parametrize("name", ["report.txt", "report.TXT"])
def test_txt_output_file_is_the_text_report(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    done = CliRunner().invoke(
        main, ["scan", str(EXAMPLES), "-o", str(out), "--fail-on", "never", "--no-fail-on-broken-pulls"]
    )
    assert done.exit_code == 0, done.output
    assert "private images have pull credentials configured" in out.read_text(encoding="utf-8")


def test_sarif_json_output_file_is_sarif(tmp_path: Path) -> None:
    out = tmp_path / "report.sarif.json"
    CliRunner().invoke(main, ["scan", str(EXAMPLES), "-o", str(out), "--fail-on", "never"])
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "2.1.0"


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("command", ["scan", "verify", "audit-log"])
def test_format_help_names_every_extension_and_that_others_are_refused(command: str) -> None:
    """The help once said "else text" while `-o r.yaml` is refused: it states what the code does."""
    from pullguard.report.formats import SUFFIXES

    help_text = _words(CliRunner().invoke(main, [command, "--help"]).output)
    start = help_text.index("-f, --format")
    option = help_text[start : help_text.index("-o, --output", start)]
    for suffix in SUFFIXES:
        assert suffix in option, (command, suffix)
    assert ".sarif.json" in option
    assert "text on standard output" in option
    assert "else text" not in option
    assert "Any other extension is refused (exit 2): give -f" in option


def test_readme_format_option_names_every_extension_and_that_others_are_refused() -> None:
    from pullguard.report.formats import SUFFIXES

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `-f, --format"))
    for suffix in [*SUFFIXES, ".sarif.json"]:
        assert f"`{suffix}`" in row, suffix
    assert "else text" not in row
    assert "any other extension is refused (exit 2)" in row


def test_explicit_format_wins_over_the_extension(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    CliRunner().invoke(main, ["scan", str(EXAMPLES), "-o", str(out), "-f", "sarif", "--fail-on", "never"])
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "2.1.0"


# -- judging manifests against a cluster -------------------------------------------------


def _prod() -> dict[str, list[dict[str, Any]]]:
    objects = shop_cluster()
    objects["secrets"].append(pull_secret("regcred", "shop", "registry.corp.example"))
    return objects


def test_files_judged_against_the_cluster_secrets(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(UNCOVERED, encoding="utf-8")
    alone = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", "json", "--no-config"])
    assert alone.exit_code == 1
    assert {f["checkId"] for f in json.loads(alone.output)["findings"]} >= {"PG002"}
    with ApiServerDouble(_prod()) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.kubeconfig("prod"))
        result = run(
            "scan", str(tmp_path / "app.yaml"), "--context", "prod", "--kubeconfig", kubeconfig, "-f", "json"
        )
        requested = api.paths()
    assert result.returncode == 1, result.stdout + result.stderr  # PG005: the secret it uses is 689 days old
    report = json.loads(result.stdout)
    assert report["summary"]["line"] == "1 of 1 private images have pull credentials configured."
    # about the files and what their pods use, not the rest of the cluster (other secrets, namespaces)
    assert {(f["checkId"], f["object"]["kind"], f["object"]["name"]) for f in report["findings"]} == {
        ("PG005", "Secret", "regcred"),
        ("PG013", "ServiceAccount", "default"),
    }
    sources = report["sources"]
    assert sources["files"]["Deployment"] == 1
    assert sources["cluster prod"]["Secret"] >= 1 and sources["cluster prod"]["ServiceAccount"] >= 1
    # only what the files are judged against: no workloads, pods or RBAC are listed
    assert not any("/pods" in p or "/deployments" in p or "rolebindings" in p for p in requested), requested
    assert_no_canary(result.stdout)


def test_an_object_in_the_files_replaces_the_clusters(tmp_path: Path) -> None:
    """The files' ServiceAccount (without the secret) replaces the cluster's, as `kubectl apply` would."""
    (tmp_path / "app.yaml").write_text(
        UNCOVERED.replace("      imagePullSecrets: [{name: regcred}]\n", "")
        + "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: shop}\n",
        encoding="utf-8",
    )
    objects = _prod()
    objects["serviceaccounts"][0] = service_account("default", "shop", ["regcred"])
    with ApiServerDouble(objects) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.kubeconfig("prod"))
        json_result = run(
            "scan", str(tmp_path / "app.yaml"), "--context", "prod", "--kubeconfig", kubeconfig, "-f", "json"
        )
        text_result = run("scan", str(tmp_path / "app.yaml"), "--context", "prod", "--kubeconfig", kubeconfig)
    report = json.loads(json_result.stdout)
    assert report["summary"]["line"] == "0 of 1 private images have pull credentials configured."
    assert "ServiceAccount shop/default" in report["sourcesReplaced"]
    assert "from cluster prod" in text_result.stdout and "replaced by the files" in text_result.stdout


def test_secrets_from_cluster_uses_the_current_context(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(UNCOVERED, encoding="utf-8")
    with ApiServerDouble(_prod()) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.kubeconfig("prod"))
        result = run(
            "scan",
            str(tmp_path / "app.yaml"),
            "--secrets-from-cluster",
            "--kubeconfig",
            kubeconfig,
            "--fail-on",
            "high",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 of 1 private images have pull credentials configured." in result.stdout


def test_standard_input_against_the_cluster(tmp_path: Path) -> None:
    with ApiServerDouble(_prod()) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.kubeconfig("prod"))
        import subprocess
        import sys

        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pullguard",
                "scan",
                "-",
                "--context",
                "prod",
                "--kubeconfig",
                kubeconfig,
                "--fail-on",
                "high",
            ],
            input=UNCOVERED,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 of 1 private images" in done.stdout


# -- pull secrets managed outside the repository, declared for CI without cluster access ---


def test_declared_external_pull_secrets_count_as_existing(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(UNCOVERED, encoding="utf-8")
    (tmp_path / ".pullguard.yaml").write_text(
        "externalPullSecrets:\n  - name: regcred\n    namespace: shop\n    registries: [registry.corp.example]\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", "json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["summary"]["line"] == "1 of 1 private images have pull credentials configured."
    image = report["images"][0]
    assert image["visibility"] == "private"  # the declared registry is private evidence


def test_declared_external_pull_secret_for_another_registry_still_fails(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(UNCOVERED, encoding="utf-8")
    (tmp_path / ".pullguard.yaml").write_text(
        "privateRegistries: [registry.corp.example]\n"
        "externalPullSecrets:\n  - name: regcred\n    registries: [ghcr.io]\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", "json"])
    report = json.loads(done.output)
    assert done.exit_code == 1
    assert {f["checkId"] for f in report["findings"]} == {"PG001", "PG004"}


def test_declared_without_registries_is_unverifiable_not_missing(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(UNCOVERED, encoding="utf-8")
    (tmp_path / ".pullguard.yaml").write_text(
        "privateRegistries: [registry.corp.example]\nexternalPullSecrets:\n  - name: 'reg*'\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", "json"])
    report = json.loads(done.output)
    assert not any(f["checkId"] == "PG002" for f in report["findings"]), report["findings"]
    assert report["images"][0]["coverage"] == "unverifiable"


def test_external_pull_secret_declaration_errors_are_located(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(UNCOVERED, encoding="utf-8")
    (tmp_path / ".pullguard.yaml").write_text(
        "externalPullSecrets:\n  - namespace: shop\n  - name: x\n    type: Opaque\n", encoding="utf-8"
    )
    done = CliRunner().invoke(main, ["scan", str(tmp_path)])
    assert done.exit_code == 2
    assert ".pullguard.yaml:2: externalPullSecrets[0]: needs 'name'" in done.output
    assert ".pullguard.yaml:4: externalPullSecrets[1].type: must be one of" in done.output
