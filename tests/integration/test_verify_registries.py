"""`pullguard verify` against real registries (distribution 2.8) on 127.0.0.1, cross-checked with skopeo."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration import manifests as m
from integration.registry_env import USERS, Environment, Registry, free_port, skopeo_can_pull
from pullguard.cli import main
from pullguard.registry.client import ClientOptions, RegistryClient, Target
from pullguard.registry.credentials import Login
from pullguard.registry.outcome import OutcomeKind
from pullguard.registry.verify import ImageVerdict, VerifyOptions, verify
from pullguard.scan import ScanOptions, scan_paths
from pullguard.semantics.dockerconfig import Credential

ALICE = ("alice", USERS["alice"])
BOB = ("bob", USERS["bob"])
WRONG = ("bob", "not-bobs-password-canary")


def expired_ecr_password() -> str:
    envelope = {
        "payload": "x",
        "datakey": "y",
        "version": "2",
        "type": "DATA_KEY",
        "expiration": int(time.time()) - 3600,
    }
    return base64.b64encode(json.dumps(envelope).encode()).decode()


@dataclass(frozen=True)
class Case:
    workload: str
    image: str
    secrets: tuple[str, ...]
    expected: OutcomeKind


def cases(env: Environment) -> tuple[list[dict[str, object]], list[Case]]:
    b, t, o = env.basic.host, env.token.host, env.open.host
    closed = f"127.0.0.1:{free_port()}"
    secrets = [
        m.secret("basic-alice", {b: ALICE}),
        m.secret("basic-wrong", {b: WRONG}),
        m.secret("token-bob", {t: BOB}),
        m.secret("token-wrong", {t: WRONG}),
        m.secret("token-wrong-team", {f"{t}/team": WRONG}),
        m.secret("token-expired", {t: ("AWS", expired_ecr_password())}),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "malformed", "namespace": "apps"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64.b64encode(b'{"auths": {"x": {"auth": "%%%"}}}').decode()},
        },
    ]
    table = [
        Case("basic-ok", f"{b}/team/app:1.0", ("basic-alice",), OutcomeKind.OK),
        Case("basic-bad-password", f"{b}/team/app:1.0", ("basic-wrong",), OutcomeKind.UNAUTHORIZED),
        Case("basic-anonymous", f"{b}/team/app:1.0", (), OutcomeKind.UNAUTHORIZED),
        Case("token-ok", f"{t}/team/app:1.0", ("token-bob",), OutcomeKind.OK),
        Case("token-denied", f"{t}/secret/app:1.0", ("token-bob",), OutcomeKind.DENIED),
        Case("token-bad-password", f"{t}/team/app:1.0", ("token-wrong",), OutcomeKind.UNAUTHORIZED),
        Case("token-anonymous-public", f"{t}/public/tool:2.0", (), OutcomeKind.OK),
        Case("token-anonymous-private", f"{t}/team/app:1.0", (), OutcomeKind.UNAUTHORIZED),
        Case("token-no-fallback", f"{t}/public/tool:2.0", ("token-wrong",), OutcomeKind.UNAUTHORIZED),
        Case("kubelet-order", f"{t}/team/app:1.0", ("token-bob", "token-wrong-team"), OutcomeKind.OK),
        Case("token-expired", f"{t}/team/app:1.0", ("token-expired",), OutcomeKind.EXPIRED),
        Case("open-ok", f"{o}/library/hello:1.0", (), OutcomeKind.OK),
        Case("open-missing-tag", f"{o}/library/hello:9.9", (), OutcomeKind.NOT_FOUND),
        Case("open-missing-repo", f"{o}/nothing/here:1.0", (), OutcomeKind.NOT_FOUND),
        Case("unreachable", f"{closed}/team/app:1.0", (), OutcomeKind.UNREACHABLE),
        Case("broken-secret", f"{o}/library/hello:1.0", ("malformed",), OutcomeKind.BROKEN_SECRET),
    ]
    return secrets, table


@pytest.fixture(scope="module")
def case_file(registries: Environment, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    secrets, table = cases(registries)
    workloads = [m.Workload(c.workload, c.image, c.secrets) for c in table]
    path = m.write(tmp_path_factory.mktemp("manifests") / "apps.yaml", secrets, workloads)
    return path, table


def run_verify(path: Path, env: Environment, **client: object) -> list[ImageVerdict]:
    options = ClientOptions(ca_file=str(env.pki.ca_pem), **client)  # type: ignore[arg-type]
    result = verify(scan_paths([str(path)], ScanOptions()), VerifyOptions(client=options, deadline=60))
    return result.verdicts


@pytest.fixture(scope="module")
def verdicts(case_file: tuple[Path, list[Case]], registries: Environment) -> dict[str, ImageVerdict]:
    path, _ = case_file
    return {v.judgement.pod.template.owner.name: v for v in run_verify(path, registries)}


def test_every_outcome_class(verdicts: dict[str, ImageVerdict], case_file: tuple[Path, list[Case]]) -> None:
    _, table = case_file
    got = {c.workload: verdicts[c.workload].outcome.kind for c in table}
    assert got == {c.workload: c.expected for c in table}


def test_ok_reports_the_pushed_digest(verdicts: dict[str, ImageVerdict], registries: Environment) -> None:
    assert verdicts["basic-ok"].outcome.digest == registries.digests["basic/team/app:1.0"]
    assert verdicts["token-ok"].outcome.digest == registries.digests["token/team/app:1.0"]
    assert verdicts["open-ok"].outcome.digest == registries.digests["open/library/hello:1.0"]
    assert verdicts["token-ok"].credential is not None and "token-bob" in verdicts["token-ok"].credential
    assert verdicts["open-ok"].credential == "anonymous"


def test_denied_is_told_apart_from_bad_credentials(verdicts: dict[str, ImageVerdict]) -> None:
    assert "accepted" in verdicts["token-denied"].outcome.detail
    assert "refuses" in verdicts["token-bad-password"].outcome.detail


def test_not_found_names_repository_or_tag(verdicts: dict[str, ImageVerdict]) -> None:
    assert "tag 9.9 not found in repository library/hello" in verdicts["open-missing-tag"].outcome.detail
    assert "repository nothing/here not found" in verdicts["open-missing-repo"].outcome.detail


def test_kubelet_order_tries_the_more_specific_key_first(verdicts: dict[str, ImageVerdict]) -> None:
    verdict = verdicts["kubelet-order"]
    assert [a.outcome.kind for a in verdict.attempts] == [OutcomeKind.UNAUTHORIZED, OutcomeKind.OK]
    assert "token-wrong-team" in verdict.attempts[0].login and "/team" in verdict.attempts[0].login
    assert verdict.credential is not None and "token-bob" in verdict.credential


def test_no_anonymous_fallback(verdicts: dict[str, ImageVerdict]) -> None:
    verdict = verdicts["token-no-fallback"]
    assert verdict.fails
    assert verdict.note is not None
    assert "does not fall back to an anonymous pull" in verdict.note
    assert "an anonymous pull would have worked" in verdict.note


def test_expired_names_the_expiry(verdicts: dict[str, ImageVerdict]) -> None:
    assert "expired at" in verdicts["token-expired"].outcome.detail
    assert "12 hours" in verdicts["token-expired"].outcome.cause


def test_tls_error_names_the_certificate_problem(
    case_file: tuple[Path, list[Case]], registries: Environment
) -> None:
    path, _ = case_file
    result = verify(scan_paths([str(path)], ScanOptions()), VerifyOptions(deadline=30))
    by_name = {v.judgement.pod.template.owner.name: v for v in result.verdicts}
    outcome = by_name["open-ok"].outcome
    assert outcome.kind is OutcomeKind.TLS_ERROR
    assert "unable to get local issuer certificate" in outcome.detail or "self-signed" in outcome.detail


def test_skip_tls_verify_is_per_registry(case_file: tuple[Path, list[Case]], registries: Environment) -> None:
    path, _ = case_file
    options = ClientOptions(skip_tls_verify=frozenset({registries.open.host}))
    result = verify(scan_paths([str(path)], ScanOptions()), VerifyOptions(client=options, deadline=30))
    by_name = {v.judgement.pod.template.owner.name: v for v in result.verdicts}
    assert by_name["open-ok"].outcome.kind is OutcomeKind.OK
    assert by_name["basic-ok"].outcome.kind is OutcomeKind.TLS_ERROR


def test_unreachable_says_refused(verdicts: dict[str, ImageVerdict]) -> None:
    assert "connection refused" in verdicts["unreachable"].outcome.detail


def test_tokens_are_cached_per_identity_and_scope(
    case_file: tuple[Path, list[Case]], registries: Environment
) -> None:
    path, _ = case_file
    before = registries.token_server.requests
    result = verify(
        scan_paths([str(path)], ScanOptions()),
        VerifyOptions(client=ClientOptions(ca_file=str(registries.pki.ca_pem)), deadline=60),
    )
    issued = registries.token_server.requests - before
    # one per distinct (identity, scope) that the token server accepts: bob team/app, bob secret/app,
    # anonymous public/tool, anonymous team/app, anonymous secret/app (the no-fallback remark)
    assert issued == 5, registries.token_server.log[-issued:]
    assert result.stats.pings == 4  # basic, token, open, closed port: once each


# ---------------------------------------------------------------------------
# skopeo agrees on every (image, credential) pair


def _pairs(env: Environment) -> list[tuple[Registry, str, tuple[str, str] | None]]:
    b, t, o = env.basic, env.token, env.open
    return [
        (b, "team/app:1.0", ALICE),
        (b, "team/app:1.0", WRONG),
        (b, "team/app:1.0", None),
        (b, "secret/app:1.0", BOB),
        (b, "team/app:7.7", ALICE),
        (t, "team/app:1.0", BOB),
        (t, "secret/app:1.0", BOB),
        (t, "secret/app:1.0", ALICE),
        (t, "team/app:1.0", WRONG),
        (t, "public/tool:2.0", None),
        (t, "team/app:1.0", None),
        (t, "missing/repo:1.0", ALICE),
        (t, "team/app:9.9", BOB),
        (o, "library/hello:1.0", None),
        (o, "library/hello:1.0", WRONG),
        (o, "library/hello:0.0", None),
    ]


def test_skopeo_agrees_on_every_pair(registries: Environment, tmp_path: Path) -> None:
    pairs = _pairs(registries)

    async def ours() -> list[bool]:
        async with RegistryClient(ClientOptions(ca_file=str(registries.pki.ca_pem))) as client:
            outcomes = []
            for registry, image, cred in pairs:
                path, tag = image.split(":")
                login = Login("test", Credential(*cred)) if cred else Login("anonymous")
                outcomes.append(await client.check(Target(registry.host, path, tag), login))
            return [o.ok for o in outcomes]

    pullguard = asyncio.run(ours())
    skopeo = []
    for index, (registry, image, cred) in enumerate(pairs):
        authfile = tmp_path / f"auth-{index}.json"
        auths = {registry.host: {"auth": base64.b64encode(":".join(cred).encode()).decode()}} if cred else {}
        skopeo.append(skopeo_can_pull(authfile, auths, registries.pki.cert_dir, f"{registry.host}/{image}"))
    assert pullguard == skopeo
    assert any(pullguard) and not all(pullguard)


# ---------------------------------------------------------------------------
# the command line, every format, and no secret anywhere


def _canaries() -> list[str]:
    secrets = [p for p in USERS.values()] + [WRONG[1], expired_ecr_password()]
    encoded = [base64.b64encode(f"{u}:{p}".encode()).decode() for u, p in (ALICE, BOB, WRONG)]
    return secrets + encoded


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_cli_formats_exit_code_and_no_secrets(
    case_file: tuple[Path, list[Case]], registries: Environment, output_format: str, tmp_path: Path
) -> None:
    path, table = case_file
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "verify",
            str(path),
            "--ca-file",
            str(registries.pki.ca_pem),
            "-f",
            output_format,
            "--deadline",
            "60",
        ],
    )
    assert result.exit_code == 1, result.output
    output = result.output
    for canary in _canaries():
        assert canary not in output
    if output_format == "json":
        doc = json.loads(output)
        assert doc["summary"]["images"] == len(table)
        rows = {r["object"]["name"]: r for r in doc["results"]}
        assert rows["token-denied"]["outcome"] == "denied"
        assert rows["token-ok"]["digest"] == registries.digests["token/team/app:1.0"]
        assert rows["basic-bad-password"]["fix"]
    elif output_format == "sarif":
        import jsonschema

        from sarif_schema import official_sarif_schema

        schema = official_sarif_schema()
        doc = json.loads(output)
        if schema is not None:
            jsonschema.validators.validator_for(schema)(schema).validate(doc)
        ids = {r["ruleId"] for r in doc["runs"][0]["results"]}
        assert "verify/denied" in ids and "verify/ok" not in ids
    else:
        assert "images can be pulled with the credentials the kubelet would use" in output
        assert "token-denied" in output and "denied" in output


def test_cli_exit_zero_when_everything_pulls(registries: Environment, tmp_path: Path) -> None:
    path = m.write(
        tmp_path / "ok.yaml",
        [m.secret("s", {registries.basic.host: ALICE})],
        [m.Workload("w", f"{registries.basic.host}/team/app:1.0", ("s",))],
    )
    result = CliRunner().invoke(main, ["verify", str(path), "--ca-file", str(registries.pki.ca_pem)])
    assert result.exit_code == 0, result.output


def test_cli_username_password_stdin_as_node_credential(registries: Environment, tmp_path: Path) -> None:
    host = registries.basic.host
    path = m.write(tmp_path / "node.yaml", [], [m.Workload("w", f"{host}/team/app:1.0")])
    args = [
        "verify",
        str(path),
        "--ca-file",
        str(registries.pki.ca_pem),
        "--node-credentials",
        host,
        "-f",
        "json",
    ]
    good = CliRunner().invoke(
        main, [*args, "--username", "alice", "--password-stdin"], input=USERS["alice"] + "\n"
    )
    assert good.exit_code == 0, good.output
    row = json.loads(good.output)["results"][0]
    assert row["credential"] == "--username"
    bad = CliRunner().invoke(
        main, [*args, "--username", "alice", "--password-stdin"], input="nope-canary-pw\n"
    )
    assert bad.exit_code == 1
    assert "nope-canary-pw" not in bad.output
    missing = CliRunner().invoke(main, [*args])
    assert json.loads(missing.output)["results"][0]["outcome"] == "not-checked"


def test_docker_config_identity_token_and_credential_helper(registries: Environment, tmp_path: Path) -> None:
    t, b = registries.token.host, registries.basic.host
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-pgtest"
    helper.write_text(
        "#!/bin/sh\n"
        "read server\n"
        f'if [ "$server" = "{b}" ]; then printf \'{{"ServerURL":"%s","Username":"alice","Secret":"{USERS["alice"]}"}}\' "$server"; '
        'else echo "credentials not found in native keychain"; exit 1; fi\n'
    )
    helper.chmod(0o755)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "auths": {t: {"identitytoken": "refresh-token-for-alice-8f3a"}},
                "credHelpers": {b: "pgtest"},
            }
        )
    )
    path = m.write(
        tmp_path / "dc.yaml",
        [],
        [m.Workload("via-token", f"{t}/secret/app:1.0"), m.Workload("via-helper", f"{b}/secret/app:1.0")],
    )
    import os

    env = {"PATH": f"{helper_dir}:{os.environ['PATH']}"}
    result = CliRunner(env=env).invoke(
        main,
        [
            "verify",
            str(path),
            "--ca-file",
            str(registries.pki.ca_pem),
            "--docker-config",
            str(config),
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = {r["object"]["name"]: r for r in json.loads(result.output)["results"]}
    assert rows["via-token"]["outcome"] == "ok" and "auths" in rows["via-token"]["credential"]
    assert (
        rows["via-helper"]["outcome"] == "ok"
        and "credential helper 'pgtest'" in rows["via-helper"]["credential"]
    )
    assert "refresh-token-for-alice" not in result.output and USERS["alice"] not in result.output


def test_real_cli_process(case_file: tuple[Path, list[Case]], registries: Environment) -> None:
    import sys

    path, _ = case_file
    done = subprocess.run(
        [sys.executable, "-m", "pullguard", "verify", str(path), "--ca-file", str(registries.pki.ca_pem)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "token-denied" in done.stdout, done.stdout
    for canary in _canaries():
        assert canary not in done.stdout + done.stderr


def test_summary_tells_no_credential_sent_from_credential_refused(
    case_file: tuple[Path, list[Case]], registries: Environment
) -> None:
    """Issue 12: an image whose pod sends no credential (no key matches) is not 'recreate the password'."""
    import io

    from pullguard.report import verify_report

    path, _ = case_file
    options = ClientOptions(ca_file=str(registries.pki.ca_pem))
    result = verify(scan_paths([str(path)], ScanOptions()), VerifyOptions(client=options, deadline=60))
    groups = {
        title: {v.judgement.pod.template.owner.name for v in verdicts}
        for title, _, _, verdicts in verify_report.failure_groups(result)
    }
    none_sent = groups[verify_report.NO_CREDENTIAL]
    refused = groups["unauthorized: the credential was refused"]
    assert {"basic-anonymous", "token-anonymous-private"} <= none_sent
    assert {"basic-bad-password", "token-bad-password", "token-no-fallback"} <= refused
    assert not none_sent & refused
    out = io.StringIO()
    verify_report.render_text(result, out, color=False)
    text = out.getvalue()
    assert f"{verify_report.NO_CREDENTIAL} ({len(none_sent)}):" in text
    assert "give the pod a credential for the registry" in text  # its own fix
    assert f"unauthorized: the credential was refused ({len(refused)}):" in text
    rows = {r["object"]["name"]: r for r in json.loads(verify_report.render_json(result))["results"]}
    assert rows["basic-anonymous"]["credentialSent"] is False
    assert rows["basic-bad-password"]["credentialSent"] is True
