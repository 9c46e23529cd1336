"""Issue 4: `pullguard verify examples/` gives a correct table against real registries.

The registries (examples_env.py) serve every host the examples name, reached with
``--connect-to``; their users are the examples' own credentials. The expected
table is what the kubelet does with the examples' secrets: ServiceAccount
admission, keyring matching, no anonymous fallback, a malformed secret failing
the whole pod.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration import manifests as m
from integration.conftest import require_binaries
from integration.examples_env import REPO, ExamplesEnvironment, start_examples_environment
from integration.registry_env import free_port, push_image, skopeo_can_pull
from pullguard.cli import main
from pullguard.registry.client import ClientOptions, RegistryClient, Target
from pullguard.registry.credentials import Login
from pullguard.registry.outcome import Outcome, OutcomeKind
from pullguard.semantics.dockerconfig import Credential

OK, UNAUTHORIZED, BROKEN = OutcomeKind.OK, OutcomeKind.UNAUTHORIZED, OutcomeKind.BROKEN_SECRET
NOT_CHECKED = OutcomeKind.NOT_CHECKED

# (object, container) -> (outcome, the credential that pulls, or a phrase of the failing row's detail)
EXPECTED: dict[tuple[str, str], tuple[OutcomeKind, str]] = {
    ("Deployment ops/mirror-sync", "sync"): (OK, "secret ops/mirror-creds key 'registry.example.com:5000'"),
    ("CronJob ops/backup", "backup"): (BROKEN, "pull secret 'broken-creds' cannot be decoded"),
    # a public image on a registry pullguard can reach still fails: the keyring cannot be built
    ("CronJob ops/backup", "upload"): (BROKEN, "pull secret 'broken-creds' cannot be decoded"),
    # its ServiceAccount's IRSA role is for the containers; the kubelet pulls with no credential
    ("Deployment platform/ingest", "ingest"): (UNAUTHORIZED, "HTTP 401 to an anonymous request"),
    ("Deployment platform/docs", "docs"): (OK, "secret platform/registry-creds key 'registry.example.com'"),
    ("Deployment shop/api", "migrate"): (OK, "secret shop/registry-creds key 'registry.example.com'"),
    ("Deployment shop/api", "api"): (OK, "secret shop/registry-creds key 'registry.example.com'"),
    ("Deployment shop/api", "proxy"): (OK, "anonymous"),
    # the ServiceAccount's secret, through the glob key
    ("Deployment shop/worker", "worker"): (OK, "secret shop/corp-creds key 'https://*.corp.example'"),
    # its own secret shadows the ServiceAccount's: nothing matches, anonymous, refused
    ("Deployment shop/frontend", "web"): (UNAUTHORIZED, "no key of pull secret 'registry-creds' matches"),
    ("StatefulSet shop/billing", "billing"): (UNAUTHORIZED, "'billing-creds' does not exist"),
    # the registry accepts the Opaque secret's credential, but the kubelet never sends it
    ("Deployment shop/reports", "reports"): (UNAUTHORIZED, "type Opaque, which the kubelet ignores"),
    ("Deployment shop/payments", "payments"): (UNAUTHORIZED, "no key of pull secret 'registry-creds'"),
    # the key registry.example.com does not match registry.example.com:5000
    ("DaemonSet shop/cache", "cache"): (UNAUTHORIZED, "matches registry.example.com:5000/shop/cache"),
    # the legacy https://index.docker.io/v1/ key, via a Bearer token from auth.docker.io
    ("Deployment shop/analytics", "analytics"): (
        OK,
        "secret shop/hub-creds key 'https://index.docker.io/v1/'",
    ),
    ("Job shop/smoke-test", "pause"): (OK, "anonymous"),
    # quay.io (visibility unknown to scan) holds a private repository: anonymous is refused
    ("Job shop/smoke-test", "probe"): (UNAUTHORIZED, "HTTP 401 to an anonymous request"),
    # pulled by kubelet credential providers (examples/eks, examples/gke), which pullguard does not run
    ("Deployment checkout/checkout", "api"): (NOT_CHECKED, "ecr-credential-provider with ServiceAccount"),
    ("Deployment ml/recommender", "recommender"): (NOT_CHECKED, "auth-provider-gcp (node identity)"),
}


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory, no_proxy: None) -> Iterator[ExamplesEnvironment]:
    require_binaries()
    env = start_examples_environment(tmp_path_factory.mktemp("examples-registries"))
    try:
        yield env
    finally:
        env.stop()


def _canaries(env: ExamplesEnvironment) -> list[str]:
    encoded = [base64.b64encode(f"{u}:{p}".encode()).decode() for u, p in env.users.items()]
    return [*env.users.values(), *encoded]


def run_cli(env: ExamplesEnvironment, *extra: str) -> subprocess.CompletedProcess[str]:
    command = env.command(*extra)
    print("reproduce (the registries stop with the test; `make verify-demo` runs it standalone):")
    print("  " + " ".join(command))
    done = subprocess.run(
        [sys.executable, "-m", "pullguard", *command[1:]],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    for canary in _canaries(env):
        assert canary not in done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def report(examples: ExamplesEnvironment) -> dict[str, object]:
    done = run_cli(examples, "-f", "json", "--deadline", "60")
    assert done.returncode == 1, done.stderr
    document: dict[str, object] = json.loads(done.stdout)
    return document


def _rows(report: dict[str, object]) -> dict[tuple[str, str], dict[str, object]]:
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for row in report["results"]:  # type: ignore[attr-defined]
        owner = row["object"]
        rows[(f"{owner['kind']} {owner['namespace']}/{owner['name']}", row["name"])] = row
    return rows


def test_the_examples_table_is_what_the_kubelet_would_do(report: dict[str, object]) -> None:
    rows = _rows(report)
    assert {key: row["outcome"] for key, row in rows.items()} == {
        key: kind.value for key, (kind, _) in EXPECTED.items()
    }
    for key, (kind, phrase) in EXPECTED.items():
        row = rows[key]
        if kind is OK:
            assert row["credential"] == phrase or str(row["credential"]).startswith(phrase), (key, row)
        else:
            assert phrase in f"{row['detail']} {row.get('note') or ''}", (key, row)
    summary = report["summary"]
    assert summary["line"] == _headline()  # type: ignore[index]


def _headline() -> str:
    """The 17 of `8 of 17` are the images asked about; the 2 not checked make up the total of 19."""
    ok = sum(kind is OK for kind, _ in EXPECTED.values())
    checked = sum(kind is not NOT_CHECKED for kind, _ in EXPECTED.values())
    assert (ok, checked, len(EXPECTED)) == (8, 17, 19)
    return (
        f"{ok} of {checked} checked images can be pulled with the credentials the kubelet would use; "
        f"{len(EXPECTED) - checked} more were not checked."
    )


def test_ok_rows_carry_the_pushed_digest(report: dict[str, object], examples: ExamplesEnvironment) -> None:
    for row in _rows(report).values():
        if row["outcome"] == "ok":
            assert row["digest"] == examples.pushed[str(row["normalized"])], row


def test_every_request_goes_through_connect_to(report: dict[str, object]) -> None:
    summary = report["summary"]
    # the Bearer tokens (acme/analytics with hub-creds, library/nginx anonymous) came from auth.docker.io,
    # rerouted like the registries
    assert summary["tokenRequests"] == 2  # type: ignore[index]
    asked = {
        str(r["registry"])
        for r in _rows(report).values()
        if r["outcome"] not in ("broken-secret", "not-checked")
    }
    assert summary["pings"] == len(asked)  # type: ignore[index]


@pytest.fixture(scope="module")
def text_output(examples: ExamplesEnvironment) -> str:
    done = run_cli(examples, "--no-color")
    assert done.returncode == 1, done.stderr
    return done.stdout


def test_text_table(text_output: str) -> None:
    ok = sum(kind is OK for kind, _ in EXPECTED.values())
    checked = sum(kind is not NOT_CHECKED for kind, _ in EXPECTED.values())
    failing = f"{checked - ok - 2} unauthorized"
    first = _headline()
    assert _words(text_output).startswith(f"{first} {len(EXPECTED)} images (2 broken-secret, 2 not-checked, ")
    assert f"{len(EXPECTED)} images (2 broken-secret, 2 not-checked, {ok} ok, {failing})" in text_output


def _words(text: str) -> str:
    """Text as a reader sees it: wrapping and the run's timing aside."""
    return " ".join(re.sub(r" in \d+\.\d\ds;", " in 0.00s;", text).split())


def test_readme_example_is_the_real_output(text_output: str) -> None:
    """README "Verify" shows this set-up's output; once it showed `8 of 17 images` and `17 images (...)`
    when the examples held 19. Every line it shows (`…` marks what it leaves out) is in today's output,
    in the same order."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Verify\n") : readme.index("\n## ", readme.index("## Verify\n") + 1)]
    block = next(b for b in section.split("```")[1::2] if "$ pullguard verify examples/" in b)
    shown = [line for line in block.splitlines() if line.strip() and not line.startswith(("$", "    --"))]
    assert shown[0] == _headline()
    output = _words(text_output)
    position = 0
    for part in re.split(r"…", "\n".join(shown)):
        if not part.strip():
            continue
        found = output.find(_words(part), position)
        assert found >= 0, f"README shows what verify does not print (from {position}): {part!r}"
        position = found


# ---------------------------------------------------------------------------
# skopeo agrees (it reaches the same processes at 127.0.0.1, with the same logins)


def test_skopeo_agrees(examples: ExamplesEnvironment, report: dict[str, object], tmp_path: Path) -> None:
    users = examples.users
    by_user = {"shop-puller": "api", "shop-bot": "worker", "ops-puller": "mirror-sync"}
    assert set(by_user) <= set(users)
    opaque_user = next(u for u in users if u.startswith("0000"))  # the ACR identity of legacy-opaque
    private = examples.private.host
    cases = [
        # (repository:tag, login) -> does skopeo pull it; compared with our row
        ("shop/api:v1.4", "shop-puller", ("Deployment shop/api", "api")),
        ("shop/worker:2.0", "shop-bot", ("Deployment shop/worker", "worker")),
        ("ops/mirror-sync:0.9", "ops-puller", ("Deployment ops/mirror-sync", "sync")),
        ("shop/web:3.1", None, ("Deployment shop/frontend", "web")),
        ("shop/cache:1.0", None, ("DaemonSet shop/cache", "cache")),
        ("acme/smoke:latest", None, ("Job shop/smoke-test", "probe")),
    ]
    rows = _rows(report)
    for index, (image, user, key) in enumerate(cases):
        auths = (
            {private: {"auth": base64.b64encode(f"{user}:{users[user]}".encode()).decode()}} if user else {}
        )
        assert _skopeo(examples, tmp_path / f"auth-{index}.json", auths, f"{private}/{image}") == (
            rows[key]["outcome"] == "ok"
        ), (image, user)
    # the Opaque secret's credential is valid: reports fails only because the kubelet ignores that secret
    auths = {private: {"auth": base64.b64encode(f"{opaque_user}:{users[opaque_user]}".encode()).decode()}}
    assert _skopeo(examples, tmp_path / "auth-opaque.json", auths, f"{private}/shop/reports:v1")
    assert rows[("Deployment shop/reports", "reports")]["outcome"] == "unauthorized"
    public = examples.public.host
    assert _skopeo(examples, tmp_path / "auth-none.json", {}, f"{public}/pause:3.9")


def _skopeo(env: ExamplesEnvironment, authfile: Path, auths: dict[str, object], image: str) -> bool:
    return skopeo_can_pull(authfile, auths, env.pki.cert_dir, image)


# ---------------------------------------------------------------------------
# --connect-to itself: the certificate is checked for the original name, per name


def _check(options: ClientOptions, *checks: tuple[Target, Login]) -> list[Outcome]:
    async def run() -> list[Outcome]:
        async with RegistryClient(options) as client:
            return [await client.check(target, login) for target, login in checks]

    return asyncio.run(run())


def test_connect_to_checks_the_certificate_against_the_original_name(examples: ExamplesEnvironment) -> None:
    port = examples.private.port
    login = Login("test", Credential("shop-puller", examples.users["shop-puller"]))
    options = ClientOptions(
        ca_file=str(examples.pki.ca_pem),
        connect_to=(
            ("registry.example.com", None, "127.0.0.1", port),
            ("unlisted.example", None, "127.0.0.1", port),  # not in the certificate
        ),
    )
    listed = Target("registry.example.com", "shop/api", "v1.4")
    unlisted = Target("unlisted.example", "shop/api", "v1.4")
    # same address, same client: the connection verified for one name is not reused for the other
    first, second, third = _check(options, (listed, login), (unlisted, login), (listed, login))
    assert first.kind is OK and third.kind is OK
    assert second.kind is OutcomeKind.TLS_ERROR
    assert "unlisted.example" in second.detail and "Hostname mismatch" in second.detail
    assert f"connected to 127.0.0.1:{port}" in second.detail


def test_connect_to_is_per_host_and_port(examples: ExamplesEnvironment) -> None:
    closed = free_port()
    login = Login("test", Credential("ops-puller", examples.users["ops-puller"]))
    options = ClientOptions(
        ca_file=str(examples.pki.ca_pem),
        connect_to=(
            ("registry.example.com", 5000, "127.0.0.1", closed),
            (
                "registry.example.com",
                443,
                "127.0.0.1",
                examples.private.port,
            ),  # 443 written out = the default
        ),
    )
    mirror, default = _check(
        options,
        (Target("registry.example.com:5000", "ops/mirror-sync", "0.9"), login),
        (Target("registry.example.com", "ops/mirror-sync", "0.9"), login),
    )
    assert mirror.kind is OutcomeKind.UNREACHABLE
    assert mirror.detail == f"registry.example.com:5000 (connected to 127.0.0.1:{closed}): connection refused"
    assert default.kind is OK


def test_connect_to_keeps_the_host_header_over_plain_http(no_proxy: None) -> None:
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Docker-Content-Digest", "sha256:" + "0" * 64)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = int(server.server_address[1])
        options = ClientOptions(
            plain_http=frozenset({"mirror.example:5000", "plain.example"}),
            connect_to=(
                ("mirror.example", 5000, "127.0.0.1", port),
                ("plain.example", None, "127.0.0.1", port),
            ),
        )
        outcomes = _check(
            options,
            (Target("mirror.example:5000", "a/b", "1"), Login("anonymous")),
            (Target("plain.example", "a/b", "1"), Login("anonymous")),
        )
    finally:
        server.shutdown()
        server.server_close()
    assert [o.kind for o in outcomes] == [OK, OK]
    assert set(hosts) == {"mirror.example:5000", "plain.example"}


# ---------------------------------------------------------------------------
# scan --probe: an anonymous pull check tells public from private on registries of unknown visibility


def test_scan_probe_classifies_unknown_registries(examples: ExamplesEnvironment, tmp_path: Path) -> None:
    push_image(examples.public, "acme/tool", "1.0", None)
    images = {
        "open": "open.example/acme/tool:1.0",  # the open registry: anonymous pull works -> public
        "private": "quay.io/acme/smoke:latest",  # the htpasswd registry: 401 -> private
        "missing": "open.example/acme/missing:1.0",  # not found: stays unknown
    }
    path = m.write(tmp_path / "probe.yaml", [], [m.Workload(name, image) for name, image in images.items()])
    args = ["scan", str(path), "-f", "json", "--fail-on", "never"]
    before = CliRunner().invoke(main, args)
    assert before.exit_code == 0, before.output
    assert {i["object"]["name"]: i["visibility"] for i in json.loads(before.output)["images"]} == {
        "open": "unknown",
        "private": "unknown",
        "missing": "unknown",
    }
    probe = ["--probe", "--ca-file", str(examples.pki.ca_pem), *examples.connect_to()]
    after = CliRunner().invoke(main, [*args, *probe])
    assert after.exit_code == 1, after.output  # the probed private image has no credential: it breaks a pull
    document = json.loads(after.output)
    assert {i["object"]["name"]: i["visibility"] for i in document["images"]} == {
        "open": "public",
        "private": "private",
        "missing": "unknown",
    }
    assert document["summary"]["line"] == "0 of 1 private images have pull credentials configured."


def test_scan_probe_reads_standard_input_once(examples: ExamplesEnvironment, tmp_path: Path) -> None:
    """`cat k8s.yaml | pullguard scan - --probe` judges the manifests it read: the probe's
    second analysis reuses the inventory instead of re-reading an exhausted standard input."""
    push_image(examples.public, "acme/tool", "1.0", None)
    images = {"open": "open.example/acme/tool:1.0", "private": "quay.io/acme/smoke:latest"}
    path = m.write(tmp_path / "probe.yaml", [], [m.Workload(name, image) for name, image in images.items()])
    probe = ["--probe", "--ca-file", str(examples.pki.ca_pem), *examples.connect_to()]
    done = CliRunner().invoke(
        main, ["scan", "-", "-f", "json", *probe], input=path.read_text(encoding="utf-8")
    )
    assert done.exit_code == 1, done.output  # the private image has no credential: a finding
    document = json.loads(done.output)
    assert document["summary"]["documents"] == 2
    assert document["summary"]["line"] == "0 of 1 private images have pull credentials configured."
    assert {i["object"]["name"]: i["visibility"] for i in document["images"]} == {
        "open": "public",
        "private": "private",
    }


def test_verify_uses_the_configuration_node_credentials_like_scan(
    examples: ExamplesEnvironment, tmp_path: Path
) -> None:
    """One configuration for every command: `nodeCredentials` in .pullguard.yaml make scan say
    the image is covered by the nodes; verify must agree (not checked: pullguard does not hold
    the nodes' identity), not try an anonymous pull that the registry refuses."""
    project = tmp_path / "project"
    project.mkdir()
    (project / ".pullguard.yaml").write_text(
        'nodeCredentials:\n  - registry: "quay.io/acme"\n    via: node IAM role\n', encoding="utf-8"
    )
    m.write(project / "app.yaml", [], [m.Workload("smoke", "quay.io/acme/smoke:latest")])
    scanned = CliRunner().invoke(main, ["scan", str(project), "-f", "json", "--fail-on", "never"])
    assert json.loads(scanned.output)["images"][0]["coverage"] == "node", scanned.output
    args = [
        "verify",
        str(project),
        "-f",
        "json",
        "--ca-file",
        str(examples.pki.ca_pem),
        *examples.connect_to(),
    ]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    row = json.loads(done.output)["results"][0]
    assert row["outcome"] == "not-checked"
    assert "node credentials" in row["detail"]
