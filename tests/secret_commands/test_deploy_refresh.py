"""deploy/secret-refresh: rendered by `kubectl kustomize`, applied with `kubectl apply --dry-run=server`
against the API-server double, and its Role is exactly what `secret refresh` needs (and no more)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from apiserver_double import ApiServerDouble, Denial
from cluster.fixtures import pull_secret
from integration.secret_support import ROOT, auths_of, make_helper, run, stored, write_kubeconfig

KUSTOMIZATION = ROOT / "deploy" / "secret-refresh"
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("kubectl is needed to render deploy/ (make system-deps)")
        pytest.skip("kubectl is not installed")
    return found


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(KUSTOMIZATION)], capture_output=True, text=True, timeout=60, check=True
    )
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(d for d in documents if d["kind"] == kind)


def test_rendered_objects_and_least_privilege(rendered: list[dict[str, Any]]) -> None:
    assert sorted(d["kind"] for d in rendered) == ["CronJob", "Role", "RoleBinding", "ServiceAccount"]
    assert {d["metadata"]["namespace"] for d in rendered} == {"shop"}
    role = by_kind(rendered, "Role")
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["ecr-pull"],
            "verbs": ["get", "update"],
        }
    ]
    cron = by_kind(rendered, "CronJob")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == by_kind(rendered, "ServiceAccount")["metadata"]["name"]
    assert pod["restartPolicy"] == "Never" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    args = pod["containers"][0]["args"]
    assert args[:3] == ["secret", "refresh", "ecr-pull"] and "--apply" in args
    assert pod["containers"][0]["image"] == "registry.example.com/platform/pullguard:0.1.0"
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    # every 4 hours: a 12-hour token is renewed with at least two more runs before it expires
    assert cron["spec"]["schedule"].split()[1] == "*/4"


def test_server_side_dry_run_against_the_double(rendered: list[dict[str, Any]], tmp_path: Path) -> None:
    # clientcmd sends credentials only over TLS (client_config.go: "only try to read the auth
    # information if we are secure"): kubectl talks to the plain-HTTP double without a token.
    with ApiServerDouble({"namespaces": [{"metadata": {"name": "shop"}}]}, token="") as api:
        kubeconfig = write_kubeconfig(api, tmp_path / "kubeconfig")
        manifest = tmp_path / "refresh.yaml"
        manifest.write_text(yaml.safe_dump_all(rendered))
        done = subprocess.run(
            [
                kubectl(),
                "--kubeconfig",
                kubeconfig,
                "apply",
                "--dry-run=server",
                "--validate=false",
                "-f",
                str(manifest),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("created (server dry run)") == 4
        posts = [r for r in api.requests if r.method == "POST"]
        assert len(posts) == 4 and all(r.query.get("dryRun") == "All" for r in posts)
        assert all(not items for items in api.objects.values() if items is not api.objects["namespaces"])


def test_the_role_is_enough_for_refresh(rendered: list[dict[str, Any]], tmp_path: Path) -> None:
    """Every verb the Role does not grant is denied: the CronJob's command still refreshes."""
    role = by_kind(rendered, "Role")
    granted = set(role["rules"][0]["verbs"])
    secret = pull_secret(
        "ecr-pull", "shop", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", user="AWS", password="old-token-1"
    )
    denials = {
        Denial(verb, plural, "shop")
        for verb in VERBS
        for plural in ("secrets", "serviceaccounts", "pods")
        if not (plural == "secrets" and verb in granted)
    }
    helper = make_helper(tmp_path / "helper", "ecr-login")
    helper.answer("123456789012.dkr.ecr.eu-west-1.amazonaws.com", ("AWS", "new-token-canary-2"))
    args = by_kind(rendered, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    with ApiServerDouble({"secrets": [secret]}, denials=denials) as api:
        kubeconfig = write_kubeconfig(api, tmp_path / "kubeconfig")
        result = run(*args, "--no-verify", kubeconfig=kubeconfig, helper=helper)
        assert result.returncode == 0, result.stdout + result.stderr
        refreshed = stored(api, "secrets", "shop", "ecr-pull")
        assert refreshed is not None
        assert (
            auths_of(refreshed)["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]["password"]
            == "new-token-canary-2"
        )
        assert {r.method for r in api.requests} == {"GET", "PUT"}
    assert "new-token-canary-2" not in result.stdout + result.stderr
