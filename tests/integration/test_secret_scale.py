"""Measured: `pullguard secret refresh` of 200 Secrets across 50 namespaces (time, API requests)."""

from __future__ import annotations

import time
from pathlib import Path

from apiserver_double import ApiServerDouble
from integration.registry_env import Environment
from integration.secret_support import make_helper, run, write_kubeconfig
from integration.test_secret_refresh import ecr_secret, issue, token_of
from integration.test_secret_refresh import tokens as tokens  # the fixture, re-exported


def test_refresh_200_secrets_in_50_namespaces(
    registries: Environment, tokens: set[str], tmp_path: Path
) -> None:
    host = registries.token.host
    old = issue(tokens, 3600, "old")
    secrets = [ecr_secret(f"ecr-{i}", f"team-{i % 50:02d}", host, old) for i in range(200)]
    helper = make_helper(tmp_path / "helper", "ecr-login")
    new = issue(tokens, 12 * 3600, "new")
    helper.answer(host, ("AWS", new))
    with ApiServerDouble({"secrets": secrets}) as api:
        kubeconfig = write_kubeconfig(api, tmp_path / "kubeconfig")
        before = registries.token_server.requests
        started = time.perf_counter()
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
        elapsed = time.perf_counter() - started
        assert result.returncode == 0, result.stdout + result.stderr
        assert "200 of 200 secrets refreshed" in result.stdout
        by_method = {m: len(api.paths(m)) for m in ("GET", "PUT", "POST", "PATCH")}
        assert by_method == {"GET": 1, "PUT": 200, "POST": 0, "PATCH": 0}  # one LIST page, one PUT per Secret
        assert len(helper.calls()) == 1  # one helper call per registry, not per Secret
        token_requests = registries.token_server.requests - before
        assert token_requests == 1  # one registry check of the fresh token
        assert {token_of(api, registries, f"ecr-{i}", f"team-{i % 50:02d}") for i in range(200)} == {new}
    print(
        f"\nrefresh of 200 secrets in 50 namespaces: {elapsed:.2f} s wall (process start included), "
        f"{sum(by_method.values())} API requests {by_method}, 1 helper call, {token_requests} token request"
    )
