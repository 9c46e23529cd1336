"""`pullguard secret rotate` end to end, with a fault injected at each step: the old secret keeps
working (skopeo pulls with it) and no credential is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apiserver_double import ApiServerDouble, RequestLog
from cluster.fixtures import pod, pull_secret
from integration.registry_env import USERS, Environment, free_port
from integration.secret_support import assert_hidden, auths_of, can_pull, run, shop, stored, write_kubeconfig

CANARY = "canary-rotate-pw-9c2d-never-print"
IMAGE = "team/app:1.0"


@pytest.fixture
def cluster(registries: Environment, tmp_path: Path) -> Iterator[tuple[ApiServerDouble, str]]:
    secret = pull_secret("regcred", "shop", registries.basic.host, user="bob", password=USERS["bob"])
    objects = shop([secret])
    # a running pod that pulls with the secret: --verify-after checks its image too
    objects["pods"] = [pod("reports-1", "shop", f"{registries.basic.host}/secret/app:1.0", ["regcred"])]
    with ApiServerDouble(objects) as api:
        yield api, write_kubeconfig(api, tmp_path / "kubeconfig")


def rotate(env: Environment, kubeconfig: str, password: str, *extra: str) -> Any:
    return run(
        "secret",
        "rotate",
        "regcred",
        "--username",
        "alice",
        "--password-stdin",
        "--ca-file",
        str(env.pki.ca_pem),
        "--image",
        f"{env.basic.host}/{IMAGE}",
        *extra,
        kubeconfig=kubeconfig,
        stdin=password + "\n",
    )


def secret_of(api: ApiServerDouble) -> dict[str, Any]:
    found = stored(api, "secrets", "shop", "regcred")
    assert found is not None
    return found


def still_pulls(env: Environment, tmp: Path, api: ApiServerDouble, user: str) -> None:
    secret = secret_of(api)
    assert auths_of(secret)[env.basic.host]["username"] == user
    assert can_pull(env, tmp, secret, f"{env.basic.host}/{IMAGE}")


def test_rotate_without_apply_shows_a_masked_plan_and_writes_nothing(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    api, kubeconfig = cluster
    result = rotate(registries, kubeconfig, USERS["alice"])
    assert result.returncode == 0, result.stderr
    assert "fp:" in result.stdout and "new password, new username" in result.stdout
    assert "re-run with --apply" in result.stdout
    assert api.paths("PUT") == []
    assert_hidden(result, USERS["alice"], USERS["bob"])
    still_pulls(registries, tmp_path, api, "bob")


def test_rotate_apply_swaps_keeps_the_previous_and_rolls_back(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    api, kubeconfig = cluster
    uid = secret_of(api)["metadata"]["uid"]
    result = rotate(registries, kubeconfig, USERS["alice"], "--apply", "--verify-after")
    assert result.returncode == 0, result.stderr
    assert "rotated" in result.stdout and "Read back and checked" in result.stdout
    assert f"[ok] {registries.basic.host}: can pull {registries.basic.host}/secret/app:1.0?" in result.stdout
    secret = secret_of(api)
    assert secret["metadata"]["uid"] == uid  # same object: KEP-2535 pull records stay valid
    assert auths_of(secret, ".dockerconfigjson.previous")[registries.basic.host]["username"] == "bob"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in secret["metadata"]["annotations"]
    still_pulls(registries, tmp_path, api, "alice")
    back = run(
        "secret",
        "rotate",
        "regcred",
        "--rollback",
        "--apply",
        "--ca-file",
        str(registries.pki.ca_pem),
        kubeconfig=kubeconfig,
    )
    assert back.returncode == 0, back.stderr
    still_pulls(registries, tmp_path, api, "bob")
    assert (
        auths_of(secret_of(api), ".dockerconfigjson.previous")[registries.basic.host]["username"] == "alice"
    )
    assert_hidden(result, USERS["alice"], USERS["bob"])
    assert_hidden(back, USERS["alice"], USERS["bob"])


def test_rotate_dry_run_server_validates_and_stores_nothing(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    api, kubeconfig = cluster
    result = rotate(registries, kubeconfig, USERS["alice"], "--dry-run=server")
    assert result.returncode == 0, result.stderr
    assert [r.query.get("dryRun") for r in api.requests if r.method == "PUT"] == ["All"]
    still_pulls(registries, tmp_path, api, "bob")


# -- faults at each step ---------------------------------------------------------------------


def test_fault_new_credential_refused_by_the_registry(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    api, kubeconfig = cluster
    result = rotate(registries, kubeconfig, CANARY, "--apply")
    assert result.returncode == 1
    assert "unchanged and keeps working" in result.stdout
    assert api.paths("PUT") == []
    still_pulls(registries, tmp_path, api, "bob")
    assert_hidden(result, CANARY, USERS["bob"])


def test_fault_registry_down(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    api, kubeconfig = cluster
    closed = free_port()
    result = rotate(
        registries,
        kubeconfig,
        USERS["alice"],
        "--apply",
        "--connect-to",
        f"{registries.basic.host}:127.0.0.1:{closed}",
    )
    assert result.returncode == 1
    assert "[unreachable]" in result.stdout
    assert api.paths("PUT") == []
    still_pulls(registries, tmp_path, api, "bob")


def test_fault_api_error_on_the_write(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    api, kubeconfig = cluster

    def intercept(request: RequestLog, _double: Any) -> tuple[int, Any] | None:
        if request.method == "PUT":
            return 500, {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "code": 500,
                "reason": "InternalError",
                "message": "etcdserver: request timed out",
            }
        return None

    api.intercept = intercept
    result = rotate(registries, kubeconfig, USERS["alice"], "--apply")
    assert result.returncode == 2
    assert "etcdserver: request timed out" in result.stderr
    still_pulls(registries, tmp_path, api, "bob")
    assert_hidden(result, USERS["alice"], USERS["bob"])


def test_fault_conflict_with_another_rotation_never_overwrites_it(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    """Someone else rotates between our read and our write: 409, re-read, stop; theirs stays."""
    api, kubeconfig = cluster
    theirs = pull_secret("regcred", "shop", registries.basic.host, user="pusher", password=USERS["pusher"])

    def intercept(request: RequestLog, double: Any) -> tuple[int, Any] | None:
        if request.method == "PUT" and double.intercept is not None:
            double.intercept = None
            secret = next(s for s in double.objects["secrets"] if s["metadata"]["name"] == "regcred")
            secret["data"] = theirs["data"]
            double.resource_version = secret["metadata"]["resourceVersion"] = str(
                int(double.resource_version) + 1
            )
        return None

    api.intercept = intercept
    result = rotate(registries, kubeconfig, USERS["alice"], "--apply")
    assert result.returncode == 1
    assert "changed by someone else" in result.stdout and "nothing was overwritten" in result.stdout
    still_pulls(registries, tmp_path, api, "pusher")


def test_fault_conflict_on_metadata_only_is_retried(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    api, kubeconfig = cluster

    def intercept(request: RequestLog, double: Any) -> tuple[int, Any] | None:
        if request.method == "PUT" and double.intercept is not None:
            double.intercept = None
            secret = next(s for s in double.objects["secrets"] if s["metadata"]["name"] == "regcred")
            secret["metadata"].setdefault("labels", {})["team"] = "payments"
            double.resource_version = secret["metadata"]["resourceVersion"] = str(
                int(double.resource_version) + 1
            )
        return None

    api.intercept = intercept
    result = rotate(registries, kubeconfig, USERS["alice"], "--apply")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(api.paths("PUT")) == 2
    assert secret_of(api)["metadata"]["labels"]["team"] == "payments"  # the concurrent change is kept
    still_pulls(registries, tmp_path, api, "alice")


@pytest.mark.parametrize("applied", [True, False], ids=["applied-then-lost", "lost-before-applied"])
def test_fault_crash_between_write_and_answer(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path, applied: bool
) -> None:
    """The connection drops around the write: pullguard reads back and says which credential is in place."""
    import apiserver_writes

    api, kubeconfig = cluster

    def intercept(request: RequestLog, double: Any) -> tuple[int, Any] | None:
        if request.method == "PUT":
            if applied:  # stored, then the answer is lost (the client's retry finds it stored)
                double.intercept = None
                apiserver_writes.write(double, "PUT", "secrets", "shop", "regcred", {}, {}, double.last_body)
            return -1, None  # not applied: every attempt, retries included, is lost
        return None

    api.intercept = intercept
    result = rotate(registries, kubeconfig, USERS["alice"], "--apply")
    if applied:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "answer was lost" in result.stdout
        still_pulls(registries, tmp_path, api, "alice")
    else:
        assert result.returncode == 1
        assert "old credential is in place" in result.stdout
        still_pulls(registries, tmp_path, api, "bob")
    assert_hidden(result, USERS["alice"], USERS["bob"])


def test_rollback_refuses_a_revoked_previous_credential(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    api, kubeconfig = cluster
    assert rotate(registries, kubeconfig, USERS["alice"], "--apply").returncode == 0
    secret = secret_of(api)
    # the previous credential was revoked at the registry: simulate by keeping a refused one there
    revoked = pull_secret("x", "shop", registries.basic.host, user="bob", password=CANARY)
    secret["data"][".dockerconfigjson.previous"] = revoked["data"][".dockerconfigjson"]
    result = run(
        "secret",
        "rotate",
        "regcred",
        "--rollback",
        "--apply",
        "--ca-file",
        str(registries.pki.ca_pem),
        kubeconfig=kubeconfig,
    )
    assert result.returncode == 1 and "would break pulls" in result.stdout
    still_pulls(registries, tmp_path, api, "alice")
    assert_hidden(result, CANARY)


def test_rotate_from_a_credential_helper(
    registries: Environment, cluster: tuple[ApiServerDouble, str], tmp_path: Path
) -> None:
    from integration.secret_support import make_helper

    api, kubeconfig = cluster
    helper = make_helper(tmp_path / "helper")
    helper.answer(registries.basic.host, ("alice", USERS["alice"]))
    result = run(
        "secret",
        "rotate",
        "regcred",
        "--credential-helper",
        "fake",
        "--apply",
        "--ca-file",
        str(registries.pki.ca_pem),
        kubeconfig=kubeconfig,
        helper=helper,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert helper.calls() == [registries.basic.host] and USERS["alice"] not in helper.argv_log()
    still_pulls(registries, tmp_path, api, "alice")
    assert_hidden(result, USERS["alice"], USERS["bob"])


def test_rotate_asks_which_registry_when_the_secret_covers_several(
    registries: Environment, tmp_path: Path
) -> None:
    import base64
    import json

    two = pull_secret("regcred", "shop", registries.basic.host, user="bob", password=USERS["bob"])
    payload = {
        "auths": {
            registries.basic.host: {"username": "bob", "password": USERS["bob"]},
            registries.token.host: {"username": "bob", "password": USERS["bob"]},
        }
    }
    two["data"][".dockerconfigjson"] = base64.b64encode(json.dumps(payload).encode()).decode()
    with ApiServerDouble(shop([two])) as api:
        kubeconfig = write_kubeconfig(api, tmp_path / "kubeconfig")
        result = rotate(registries, kubeconfig, USERS["alice"], "--apply")
        assert result.returncode == 2 and "say which to rotate with --registry" in result.stderr
        chosen = rotate(
            registries, kubeconfig, USERS["alice"], "--apply", "--registry", registries.token.host
        )
        assert chosen.returncode == 0, chosen.stdout + chosen.stderr
        auths = auths_of(secret_of(api))
        assert auths[registries.token.host]["username"] == "alice"
        assert auths[registries.basic.host]["username"] == "bob"  # the other entry is untouched
