"""`pullguard secret refresh` end to end: ECR-shaped short-lived tokens from a fake credential helper,
checked against the real token-auth registry before each write; faults at each step; the loop."""

from __future__ import annotations

import calendar
import itertools
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apiserver_double import ApiServerDouble, RequestLog
from cluster.fixtures import pull_secret
from integration.registry_env import USERS, Environment
from integration.secret_support import (
    PULLGUARD,
    ROOT,
    FakeHelper,
    assert_hidden,
    auths_of,
    can_pull,
    ecr_like_token,
    make_helper,
    run,
    shop,
    stored,
    write_kubeconfig,
)

PUBLIC_IMAGE = "public/tool:2.0"  # the token server lets any authenticated user pull public/*


class _AnyOf(str):
    """The token server's password for user AWS: any token issued so far (ECR tokens overlap)."""

    tokens: set[str]

    def __ne__(self, other: object) -> bool:
        return other not in self.tokens

    def __eq__(self, other: object) -> bool:
        return other in self.tokens

    __hash__ = str.__hash__


@pytest.fixture
def tokens(registries: Environment) -> Iterator[set[str]]:
    issued: set[str] = set()
    accepted = _AnyOf("AWS")
    accepted.tokens = issued
    saved = registries.token_server.users
    registries.token_server.users = {**USERS, "AWS": accepted}
    try:
        yield issued
    finally:
        registries.token_server.users = saved


def issue(tokens: set[str], lifetime: float, nonce: str) -> str:
    token = ecr_like_token(time.time() + lifetime, nonce)
    tokens.add(token)
    return token


def ecr_secret(
    name: str, ns: str, registry: str, token: str, expires: str = "2030-01-01T00:00:00Z"
) -> dict[str, Any]:
    secret = pull_secret(name, ns, registry, user="AWS", password=token)
    secret["metadata"]["annotations"] = {"pullguard.io/expires-at": expires}
    secret["metadata"]["labels"] = {"pullguard.io/refresh": "ecr"}
    return secret


@pytest.fixture
def helper(tmp_path: Path) -> FakeHelper:
    return make_helper(tmp_path / "helper", "ecr-login")


@pytest.fixture
def cluster(
    registries: Environment, tokens: set[str], tmp_path: Path
) -> Iterator[tuple[ApiServerDouble, str]]:
    old = issue(tokens, 3600, "old")
    with ApiServerDouble(shop([ecr_secret("ecr", "shop", registries.token.host, old)])) as api:
        yield api, write_kubeconfig(api, tmp_path / "kubeconfig")


def refresh(env: Environment, kubeconfig: str, helper: FakeHelper, *extra: str, timeout: float = 120) -> Any:
    return run(
        "secret",
        "refresh",
        "--credential-helper",
        "ecr-login",
        "--ca-file",
        str(env.pki.ca_pem),
        "--image",
        f"{env.token.host}/{PUBLIC_IMAGE}",
        *extra,
        kubeconfig=kubeconfig,
        helper=helper,
        timeout=timeout,
    )


def token_of(api: ApiServerDouble, env: Environment, name: str = "ecr", ns: str = "shop") -> str:
    secret = stored(api, "secrets", ns, name)
    assert secret is not None
    return str(auths_of(secret)[env.token.host]["password"])


def pulls(env: Environment, tmp: Path, api: ApiServerDouble, name: str = "ecr", ns: str = "shop") -> bool:
    secret = stored(api, "secrets", ns, name)
    assert secret is not None
    return can_pull(env, tmp, secret, f"{env.token.host}/{PUBLIC_IMAGE}")


def test_refresh_writes_a_verified_token_and_its_expiry(
    registries: Environment,
    tokens: set[str],
    cluster: tuple[ApiServerDouble, str],
    helper: FakeHelper,
    tmp_path: Path,
) -> None:
    api, kubeconfig = cluster
    uid = stored(api, "secrets", "shop", "ecr")["metadata"]["uid"]  # type: ignore[index]
    new = issue(tokens, 12 * 3600, "new")
    helper.answer(registries.token.host, ("AWS", new))
    result = refresh(registries, kubeconfig, helper, "ecr", "--apply")
    assert result.returncode == 0, result.stdout + result.stderr
    secret = stored(api, "secrets", "shop", "ecr")
    assert secret is not None and secret["metadata"]["uid"] == uid
    assert token_of(api, registries) == new
    expires = secret["metadata"]["annotations"]["pullguard.io/expires-at"]
    assert (
        expires
        == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(time.time() + 12 * 3600)))[:15] + expires[15:]
    )
    assert helper.calls() == [registries.token.host]
    assert new not in helper.argv_log()
    assert pulls(registries, tmp_path, api)
    assert_hidden(result, new)


def test_refresh_without_apply_writes_nothing(
    registries: Environment, tokens: set[str], cluster: tuple[ApiServerDouble, str], helper: FakeHelper
) -> None:
    api, kubeconfig = cluster
    helper.answer(registries.token.host, ("AWS", issue(tokens, 3600, "n")))
    result = refresh(registries, kubeconfig, helper, "ecr")
    assert result.returncode == 0 and "would refresh" in result.stdout and "--apply" in result.stdout
    assert api.paths("PUT") == []


def test_refresh_creates_a_missing_secret_with_registry(
    registries: Environment,
    tokens: set[str],
    cluster: tuple[ApiServerDouble, str],
    helper: FakeHelper,
    tmp_path: Path,
) -> None:
    api, kubeconfig = cluster
    helper.answer(registries.token.host, ("AWS", issue(tokens, 3600, "n")))
    result = refresh(registries, kubeconfig, helper, "fresh", "--registry", registries.token.host, "--apply")
    assert result.returncode == 0, result.stdout + result.stderr
    assert pulls(registries, tmp_path, api, "fresh")


# -- faults at each step ---------------------------------------------------------------------


def test_fault_helper_fails_exit_1_while_the_token_in_place_is_valid(
    registries: Environment, cluster: tuple[ApiServerDouble, str], helper: FakeHelper, tmp_path: Path
) -> None:
    api, kubeconfig = cluster
    before = token_of(api, registries)
    helper.fail()
    result = refresh(registries, kubeconfig, helper, "ecr", "--apply")
    assert result.returncode == 1
    assert "not refreshed" in result.stdout and "expires at 2030-01-01" in result.stdout
    assert token_of(api, registries) == before and pulls(registries, tmp_path, api)


def test_fault_helper_fails_exit_3_when_the_token_in_place_has_expired(
    registries: Environment, tokens: set[str], helper: FakeHelper, tmp_path: Path
) -> None:
    expired = ecr_secret(
        "ecr", "shop", registries.token.host, issue(tokens, -60, "x"), "2020-01-01T00:00:00Z"
    )
    with ApiServerDouble(shop([expired])) as api:
        kubeconfig = write_kubeconfig(api, tmp_path / "kubeconfig")
        helper.fail()
        result = refresh(registries, kubeconfig, helper, "ecr", "--apply")
    assert result.returncode == 3 and "pulls fail now" in result.stdout


def test_fault_registry_refuses_the_fresh_token(
    registries: Environment, cluster: tuple[ApiServerDouble, str], helper: FakeHelper, tmp_path: Path
) -> None:
    api, kubeconfig = cluster
    before = token_of(api, registries)
    refused = ecr_like_token(time.time() + 3600, "never-issued-canary")
    helper.answer(registries.token.host, ("AWS", refused))
    result = refresh(registries, kubeconfig, helper, "ecr", "--apply")
    assert result.returncode == 1
    assert "refuses the fresh token" in result.stderr
    assert api.paths("PUT") == []
    assert token_of(api, registries) == before and pulls(registries, tmp_path, api)
    assert_hidden(result, refused)


def test_fault_api_error_keeps_the_token_in_place(
    registries: Environment,
    tokens: set[str],
    cluster: tuple[ApiServerDouble, str],
    helper: FakeHelper,
    tmp_path: Path,
) -> None:
    api, kubeconfig = cluster
    before = token_of(api, registries)
    helper.answer(registries.token.host, ("AWS", issue(tokens, 3600, "n")))

    def intercept(request: RequestLog, _double: Any) -> tuple[int, Any] | None:
        if request.method == "PUT":
            return 503, {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "code": 503,
                "reason": "ServiceUnavailable",
                "message": "the server is currently unable to handle the request",
            }
        return None

    api.intercept = intercept
    result = refresh(registries, kubeconfig, helper, "ecr", "--apply")
    assert result.returncode == 1 and "the credential in place is unchanged" in result.stdout
    assert token_of(api, registries) == before and pulls(registries, tmp_path, api)


def test_fault_conflict_with_a_later_refresh_leaves_it(
    registries: Environment,
    tokens: set[str],
    cluster: tuple[ApiServerDouble, str],
    helper: FakeHelper,
    tmp_path: Path,
) -> None:
    """Two refreshers: the other one wrote a token that lives longer between our read and write."""
    api, kubeconfig = cluster
    helper.answer(registries.token.host, ("AWS", issue(tokens, 3600, "ours")))
    theirs = ecr_secret(
        "ecr", "shop", registries.token.host, issue(tokens, 7200, "theirs"), "2031-01-01T00:00:00Z"
    )

    def intercept(request: RequestLog, double: Any) -> tuple[int, Any] | None:
        if request.method == "PUT" and double.intercept is not None:
            double.intercept = None
            secret = next(s for s in double.objects["secrets"] if s["metadata"]["name"] == "ecr")
            secret["data"], secret["metadata"]["annotations"] = (
                theirs["data"],
                theirs["metadata"]["annotations"],
            )
            double.resource_version = secret["metadata"]["resourceVersion"] = str(
                int(double.resource_version) + 1
            )
        return None

    api.intercept = intercept
    result = refresh(registries, kubeconfig, helper, "ecr", "--apply")
    assert result.returncode == 1 and "later expiry" in result.stdout
    assert token_of(api, registries) == auths_of(theirs)[registries.token.host]["password"]
    assert pulls(registries, tmp_path, api)


def test_fault_crash_between_writes_of_many_secrets(
    registries: Environment, tokens: set[str], helper: FakeHelper, tmp_path: Path
) -> None:
    """The refresher is killed (SIGKILL) after 3 of 6 writes: every Secret holds a working token."""
    host = registries.token.host
    old = issue(tokens, 3600, "old")
    secrets = [ecr_secret(f"ecr-{i}", f"team-{i % 3}", host, old) for i in range(6)]
    new = issue(tokens, 3600, "new")
    helper.answer(host, ("AWS", new))
    puts: list[str] = []

    def intercept(request: RequestLog, _double: Any) -> tuple[int, Any] | None:
        if request.method == "PUT":
            puts.append(request.path)
            if len(puts) > 3:
                time.sleep(30)  # the fourth write hangs until the process is killed
        return None

    with ApiServerDouble({"secrets": secrets}, intercept=intercept) as api:
        kubeconfig = write_kubeconfig(api, tmp_path / "kubeconfig")
        env = {
            "KUBECONFIG": kubeconfig,
            "PATH": f"{helper.bin}:/usr/bin:/bin",
            "FAKE_HELPER_DIR": str(helper.directory),
        }
        process = subprocess.Popen(
            [
                *PULLGUARD,
                "secret",
                "refresh",
                "-A",
                "-l",
                "pullguard.io/refresh=ecr",
                "--credential-helper",
                "ecr-login",
                "--ca-file",
                str(registries.pki.ca_pem),
                "--apply",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while len(puts) < 4 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
        assert len(puts) == 4
        in_place = [token_of(api, registries, f"ecr-{i}", f"team-{i % 3}") for i in range(6)]
        assert sorted(in_place) == sorted([new] * 3 + [old] * 3)
        for i in range(6):
            assert pulls(registries, tmp_path, api, f"ecr-{i}", f"team-{i % 3}")
        # the next run finishes the job
        api.intercept = None
        result = run(
            "secret",
            "refresh",
            "-A",
            "-l",
            "pullguard.io/refresh=ecr",
            "--credential-helper",
            "ecr-login",
            "--ca-file",
            str(registries.pki.ca_pem),
            "--apply",
            kubeconfig=kubeconfig,
            helper=helper,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert {token_of(api, registries, f"ecr-{i}", f"team-{i % 3}") for i in range(6)} == {new}


def test_loop_renews_at_two_thirds_of_the_token_lifetime(
    registries: Environment, tokens: set[str], cluster: tuple[ApiServerDouble, str], helper: FakeHelper
) -> None:
    api, kubeconfig = cluster
    issued = [issue(tokens, 7 + 5 * i, f"loop-{i}") for i in range(3)]
    helper.answer(registries.token.host, *(("AWS", t) for t in issued))
    writes: list[tuple[float, float]] = []  # (when written, the expiry it recorded)

    def on_put(request: RequestLog, double: Any) -> tuple[int, Any] | None:
        if request.method == "PUT":
            annotations = json.loads(double.last_body)["metadata"]["annotations"]
            expires = calendar.timegm(
                time.strptime(annotations["pullguard.io/expires-at"], "%Y-%m-%dT%H:%M:%SZ")
            )
            writes.append((time.time(), expires))
        return None

    api.intercept = on_put
    result = refresh(
        registries,
        kubeconfig,
        helper,
        "ecr",
        "--apply",
        "--loop",
        "--max-runs",
        "3",
        "--renew-before",
        "1s",
        "--min-interval",
        "0.2",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(writes) == 3
    assert token_of(api, registries) == issued[-1]
    for (written, expires), (renewed, _) in itertools.pairwise(writes):
        remaining = expires - written
        # renewed at about 2/3 of the remaining lifetime (minus up to 10 % jitter): before expiry, not hammering
        assert remaining / 3 < renewed - written < remaining, (written, expires, renewed)
    assert "next refresh in" in result.stderr
    assert_hidden(result, *issued)


def test_refresh_server_dry_run_stores_nothing(
    registries: Environment, tokens: set[str], cluster: tuple[ApiServerDouble, str], helper: FakeHelper
) -> None:
    api, kubeconfig = cluster
    before = token_of(api, registries)
    helper.answer(registries.token.host, ("AWS", issue(tokens, 3600, "dry")))
    result = refresh(registries, kubeconfig, helper, "ecr", "--dry-run=server")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "would be refreshed (server dry run)" in result.stdout
    assert [r.query.get("dryRun") for r in api.requests if r.method == "PUT"] == ["All"]
    assert token_of(api, registries) == before


def test_loop_stops_cleanly_on_sigterm(
    registries: Environment, tokens: set[str], cluster: tuple[ApiServerDouble, str], helper: FakeHelper
) -> None:
    """A Deployment running --loop is stopped with SIGTERM between refreshes: exit 0, nothing half-written."""
    api, kubeconfig = cluster
    new = issue(tokens, 12 * 3600, "long")
    helper.answer(registries.token.host, ("AWS", new))
    env = {
        "KUBECONFIG": kubeconfig,
        "PATH": f"{helper.bin}:/usr/bin:/bin",
        "FAKE_HELPER_DIR": str(helper.directory),
    }
    process = subprocess.Popen(
        [
            *PULLGUARD,
            "secret",
            "refresh",
            "ecr",
            "--credential-helper",
            "ecr-login",
            "--ca-file",
            str(registries.pki.ca_pem),
            "--apply",
            "--loop",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not api.paths("PUT") and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # now sleeping until ~8 h from now
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "next refresh in" in err and token_of(api, registries) == new
    assert new not in out + err
