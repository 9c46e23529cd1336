"""`pullguard secret create` and `attach` end to end: the API-server double over HTTP, the real
registries of the verify tests, a fake credential helper speaking the real protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from apiserver_double import ApiServerDouble, Denial, RequestLog
from integration.registry_env import USERS, Environment
from integration.secret_support import (
    FakeHelper,
    assert_hidden,
    auths_of,
    can_pull,
    make_helper,
    run,
    shop,
    stored,
    write_kubeconfig,
)

CANARY = "canary-new-pw-5b1e-never-print"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[ApiServerDouble, str]]:
    with ApiServerDouble(shop()) as api:
        yield api, write_kubeconfig(api, tmp_path / "kubeconfig")


@pytest.fixture
def helper(tmp_path: Path) -> FakeHelper:
    return make_helper(tmp_path / "helper")


def registry_args(env: Environment) -> list[str]:
    return ["--ca-file", str(env.pki.ca_pem)]


# -- create ----------------------------------------------------------------------------------


def test_create_verifies_then_writes_a_pull_secret_that_pulls(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    api, kubeconfig = cluster
    basic = registries.basic.host
    result = run(
        "secret",
        "create",
        "regcred",
        "-n",
        "shop",
        "--registry",
        basic,
        "--username",
        "alice",
        "--password-stdin",
        "--image",
        f"{basic}/team/app:1.0",
        *registry_args(registries),
        kubeconfig=kubeconfig,
        stdin=USERS["alice"] + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "[ok]" in result.stdout and "created in namespace shop" in result.stdout
    secret = stored(api, "secrets", "shop", "regcred")
    assert secret is not None and secret["type"] == "kubernetes.io/dockerconfigjson"
    assert auths_of(secret)[basic]["username"] == "alice"
    assert "pullguard.io/rotated-at" in secret["metadata"]["annotations"]
    assert "pullguard.io/expires-at" not in secret["metadata"]["annotations"]  # a static password
    assert can_pull(registries, tmp_path, secret, f"{basic}/team/app:1.0")
    assert_hidden(result, USERS["alice"])


def test_create_refuses_a_credential_the_registry_refuses_and_writes_nothing(
    registries: Environment, cluster: tuple[ApiServerDouble, str]
) -> None:
    api, kubeconfig = cluster
    result = run(
        "secret",
        "create",
        "regcred",
        "-n",
        "shop",
        "--registry",
        registries.basic.host,
        "--username",
        "alice",
        "--password-env",
        "NEW_PW",
        *registry_args(registries),
        kubeconfig=kubeconfig,
        env={"NEW_PW": CANARY},
    )
    assert result.returncode == 1
    assert "[unauthorized]" in result.stdout and "nothing was written" in result.stdout
    assert stored(api, "secrets", "shop", "regcred") is None
    assert api.paths("POST") == []
    assert_hidden(result, CANARY)


def test_create_with_a_token_registry_and_a_credential_helper(
    registries: Environment, cluster: tuple[ApiServerDouble, str], helper: FakeHelper
) -> None:
    api, kubeconfig = cluster
    token = registries.token.host
    helper.answer(token, ("bob", USERS["bob"]))
    result = run(
        "secret",
        "create",
        "bobcred",
        "-n",
        "shop",
        "--registry",
        token,
        "--credential-helper",
        "fake",
        "--image",
        f"{token}/team/app:1.0",
        *registry_args(registries),
        kubeconfig=kubeconfig,
        helper=helper,
    )
    assert result.returncode == 0, result.stderr
    assert helper.calls() == [token]
    assert json.loads(helper.argv_log().splitlines()[0])[1:] == ["get"]  # the server went on stdin
    assert USERS["bob"] not in helper.argv_log()
    secret = stored(api, "secrets", "shop", "bobcred")
    assert secret is not None and auths_of(secret)[token]["password"] == USERS["bob"]
    assert_hidden(result, USERS["bob"])


def test_create_records_the_expiry_of_a_token(cluster: tuple[ApiServerDouble, str], tmp_path: Path) -> None:
    from integration.secret_support import ecr_like_token

    api, kubeconfig = cluster
    token = ecr_like_token(1893456000, "x")  # 2030-01-01T00:00:00Z
    (tmp_path / "pw").write_text(token + "\n")
    result = run(
        "secret",
        "create",
        "ecr",
        "--registry",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "--username",
        "AWS",
        "--password-file",
        str(tmp_path / "pw"),
        "--no-verify",
        kubeconfig=kubeconfig,
    )
    assert result.returncode == 0, result.stderr
    secret = stored(api, "secrets", "shop", "ecr")
    assert secret is not None
    assert secret["metadata"]["annotations"]["pullguard.io/expires-at"] == "2030-01-01T00:00:00Z"
    assert_hidden(result, token)


def test_create_output_yaml_writes_nothing_and_says_encryption_is_the_users_job(
    cluster: tuple[ApiServerDouble, str],
) -> None:
    api, kubeconfig = cluster
    result = run(
        "secret",
        "create",
        "regcred",
        "-n",
        "shop",
        "--registry",
        "r.example",
        "--username",
        "ci",
        "--password-stdin",
        "--no-verify",
        "-o",
        "yaml",
        kubeconfig=kubeconfig,
        stdin=CANARY,
    )
    assert result.returncode == 0, result.stderr
    obj = yaml.safe_load(result.stdout)
    assert obj["kind"] == "Secret" and obj["type"] == "kubernetes.io/dockerconfigjson"
    assert "SOPS" in result.stderr and "Sealed Secrets" in result.stderr and "ExternalSecret" in result.stderr
    assert CANARY not in result.stderr
    without_namespace = run(
        "secret",
        "create",
        "regcred",
        "--registry",
        "r.example",
        "--username",
        "ci",
        "--password-stdin",
        "--no-verify",
        "-o",
        "yaml",
        kubeconfig=kubeconfig,
        stdin=CANARY,
    )
    assert (
        yaml.safe_load(without_namespace.stdout)["metadata"]["namespace"] == "shop"
    )  # the context's, as kubectl
    assert api.requests == []  # not even a read


def test_create_server_dry_run_stores_nothing(cluster: tuple[ApiServerDouble, str]) -> None:
    api, kubeconfig = cluster
    result = run(
        "secret",
        "create",
        "regcred",
        "--registry",
        "r.example",
        "--username",
        "ci",
        "--password-stdin",
        "--no-verify",
        "--dry-run=server",
        kubeconfig=kubeconfig,
        stdin=CANARY,
    )
    assert result.returncode == 0, result.stderr
    assert "would be created (server dry run)" in result.stdout
    assert [(r.method, r.query.get("dryRun")) for r in api.requests] == [("POST", "All")]
    assert stored(api, "secrets", "shop", "regcred") is None


def test_create_existing_secret_is_not_overwritten(cluster: tuple[ApiServerDouble, str]) -> None:
    api, kubeconfig = cluster
    args = [
        "secret",
        "create",
        "regcred",
        "--registry",
        "r.example",
        "--username",
        "ci",
        "--password-stdin",
        "--no-verify",
    ]
    assert run(*args, kubeconfig=kubeconfig, stdin="first-pw-1").returncode == 0
    before = stored(api, "secrets", "shop", "regcred")
    result = run(*args, kubeconfig=kubeconfig, stdin=CANARY)
    assert result.returncode == 2
    assert "already exists" in result.stdout and "pullguard secret rotate regcred" in result.stdout
    assert stored(api, "secrets", "shop", "regcred") == before
    assert_hidden(result, CANARY)


@pytest.mark.parametrize("argv", [["--password", CANARY], [f"--password={CANARY}"], ["-p", CANARY]])
def test_a_password_in_argv_is_refused_with_the_reason(argv: list[str]) -> None:
    result = run("secret", "create", "x", "--registry", "r.example", "--username", "u", *argv)
    assert result.returncode == 2
    assert "ps" in result.stderr and "history" in result.stderr and "--password-stdin" in result.stderr
    assert CANARY not in result.stderr + result.stdout


def test_create_forbidden_names_the_rbac_rule(cluster: tuple[ApiServerDouble, str]) -> None:
    api, kubeconfig = cluster
    api.denials.add(Denial("create", "secrets", "shop"))
    result = run(
        "secret",
        "create",
        "regcred",
        "--registry",
        "r.example",
        "--username",
        "ci",
        "--password-stdin",
        "--no-verify",
        kubeconfig=kubeconfig,
        stdin=CANARY,
    )
    assert result.returncode == 2
    assert 'verbs: ["create"]' in result.stderr and "secrets" in result.stderr
    assert_hidden(result, CANARY)


# -- attach ----------------------------------------------------------------------------------


def sa_secrets(api: ApiServerDouble, name: str) -> list[str]:
    account = stored(api, "serviceaccounts", "shop", name)
    assert account is not None
    return [ref["name"] for ref in account.get("imagePullSecrets", [])]


def test_attach_appends_to_the_serviceaccount_and_is_idempotent(cluster: tuple[ApiServerDouble, str]) -> None:
    api, kubeconfig = cluster
    result = run("secret", "attach", "regcred", "--serviceaccount", "default", kubeconfig=kubeconfig)
    assert result.returncode == 0, result.stderr
    assert sa_secrets(api, "default") == ["existing", "regcred"]
    patches = [r for r in api.requests if r.method == "PATCH"]
    assert len(patches) == 1
    again = run("secret", "attach", "regcred", "--serviceaccount", "default", kubeconfig=kubeconfig)
    assert again.returncode == 0 and "already attached" in again.stdout
    assert sa_secrets(api, "default") == ["existing", "regcred"]
    assert len([r for r in api.requests if r.method == "PATCH"]) == 1


def test_attach_creates_the_list_when_the_serviceaccount_has_none(
    cluster: tuple[ApiServerDouble, str],
) -> None:
    api, kubeconfig = cluster
    assert (
        run("secret", "attach", "regcred", "--serviceaccount", "builder", kubeconfig=kubeconfig).returncode
        == 0
    )
    assert sa_secrets(api, "builder") == ["regcred"]


def test_attach_rereads_on_conflict_and_keeps_the_concurrent_change(
    cluster: tuple[ApiServerDouble, str],
) -> None:
    """Another writer appends between our read and our patch: 409, read again, both stay."""
    api, kubeconfig = cluster
    raced = []

    def intercept(request: RequestLog, double: Any) -> tuple[int, Any] | None:
        if request.method == "PATCH" and not raced:
            raced.append(True)
            account = next(a for a in double.objects["serviceaccounts"] if a["metadata"]["name"] == "default")
            account["imagePullSecrets"].append({"name": "added-by-someone-else"})
            account["metadata"]["resourceVersion"] = str(int(double.resource_version) + 7)
            double.resource_version = account["metadata"]["resourceVersion"]
        return None

    api.intercept = intercept
    result = run("secret", "attach", "regcred", "--serviceaccount", "default", kubeconfig=kubeconfig)
    assert result.returncode == 0, result.stderr
    assert "409 Conflict" in result.stdout
    assert sa_secrets(api, "default") == ["existing", "added-by-someone-else", "regcred"]


def test_attach_warns_about_workloads_with_their_own_list(cluster: tuple[ApiServerDouble, str]) -> None:
    _, kubeconfig = cluster
    result = run("secret", "attach", "regcred", "--serviceaccount", "default", kubeconfig=kubeconfig)
    assert "deployment/api declares its own imagePullSecrets" in result.stderr
    assert "--workload deployment/api" in result.stderr
    assert "deployment/web" not in result.stderr


def test_attach_to_a_workload_that_would_shadow_the_serviceaccount_needs_apply(
    cluster: tuple[ApiServerDouble, str],
) -> None:
    api, kubeconfig = cluster
    result = run("secret", "attach", "regcred", "--workload", "deployment/web", kubeconfig=kubeconfig)
    assert result.returncode == 0
    assert "would stop using ['existing']" in result.stderr
    assert "re-run with --apply" in result.stdout
    assert api.paths("PATCH") == []
    applied = run("secret", "attach", "regcred", "--workload", "deploy/web", "--apply", kubeconfig=kubeconfig)
    assert applied.returncode == 0, applied.stderr
    web = stored(api, "deployments", "shop", "web")
    assert web is not None and web["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


def test_attach_to_a_workload_with_its_own_list_appends(cluster: tuple[ApiServerDouble, str]) -> None:
    api, kubeconfig = cluster
    result = run("secret", "attach", "regcred", "--workload", "deployment/api", kubeconfig=kubeconfig)
    assert result.returncode == 0, result.stderr
    api_deploy = stored(api, "deployments", "shop", "api")
    assert api_deploy is not None
    assert api_deploy["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "api-pull"},
        {"name": "regcred"},
    ]


def test_attach_server_dry_run_and_yaml_change_nothing(cluster: tuple[ApiServerDouble, str]) -> None:
    api, kubeconfig = cluster
    dry = run(
        "secret",
        "attach",
        "regcred",
        "--serviceaccount",
        "default",
        "--dry-run=server",
        kubeconfig=kubeconfig,
    )
    assert dry.returncode == 0, dry.stderr
    assert [r.query.get("dryRun") for r in api.requests if r.method == "PATCH"] == ["All"]
    as_yaml = run(
        "secret", "attach", "regcred", "--serviceaccount", "default", "-o", "yaml", kubeconfig=kubeconfig
    )
    assert yaml.safe_load(as_yaml.stdout)["imagePullSecrets"] == [{"name": "existing"}, {"name": "regcred"}]
    assert sa_secrets(api, "default") == ["existing"]


def test_attach_to_a_pod_is_refused(cluster: tuple[ApiServerDouble, str]) -> None:
    _, kubeconfig = cluster
    result = run("secret", "attach", "regcred", "--workload", "pod/web-1", kubeconfig=kubeconfig)
    assert result.returncode == 2 and "cannot be changed after it is created" in result.stderr
