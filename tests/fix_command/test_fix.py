"""`pullguard fix PATH`: round-trip edits of manifest files, a unified diff by default, --write."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixer.helpers import findings, run, scan_json
from pullguard.fixer.rtyaml import YamlFile

ROOT = Path(__file__).resolve().parents[2]
CANARY = "canary-fix-pw-71c0-never-print"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    target = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", target)
    return target


def test_diff_applies_and_equals_write_and_fixes_the_findings(examples: Path, tmp_path: Path) -> None:
    before = findings(examples)
    shown = run(examples, "fix", ".", "--no-config")
    assert shown.returncode == 1, shown.stderr
    assert "4 fixable in 3 files" in shown.stderr
    # shop/secrets.yaml gains an auths key: its diff masks the Secret data, so it is no patch
    assert "the diff of shop/secrets.yaml changes Secret data" in shown.stderr
    patches = shown.stdout.split("--- a/")
    secret_diff = next(p for p in patches if p.startswith("shop/secrets.yaml"))
    assert '+  <.dockerconfigjson: auths key "registry.example.com:5000" added next to' in secret_diff
    patched = tmp_path / "patched"
    shutil.copytree(examples, patched)
    (tmp_path / "fix.diff").write_text("--- a/".join(p for p in patches if p is not secret_diff))
    subprocess.run(["git", "init", "-q", "."], cwd=patched, check=True)
    applied = subprocess.run(
        ["git", "apply", "--unidiff-zero", str(tmp_path / "fix.diff")],
        cwd=patched,
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, applied.stderr
    written = run(examples, "fix", ".", "--write", "--no-config")
    assert written.returncode == 0, written.stderr
    for path in examples.rglob("*.yaml"):
        if path.name != "secrets.yaml" or path.parent.name != "shop":
            assert path.read_text() == (patched / path.relative_to(examples)).read_text(), path
    after = findings(examples)
    fixed = before - after
    assert {
        ("PG003", "legacy-opaque"),
        ("PG001", "frontend"),
        ("PG001", "ingest"),
        ("PG001", "cache"),
        ("PG004", "cache"),
    } <= fixed
    # the scan's plan creates the missing 'billing-creds' for billing's image: fix keeps the reference
    assert {("PG002", "billing"), ("PG001", "billing")} <= after
    # no new finding but those of the secret that became a pull secret (now the pull-secret checks see it)
    assert {name for _, name in after - before} <= {"legacy-opaque"}
    again = run(examples, "fix", ".", "--no-config")
    assert again.returncode == 0 and again.stdout == ""


def test_comments_order_quotes_and_other_documents_are_kept(tmp_path: Path) -> None:
    payload = base64.b64encode(
        json.dumps(
            {"auths": {"registry.corp.example": {"auth": base64.b64encode(f"ci:{CANARY}".encode()).decode()}}}
        ).encode()
    ).decode()
    other = base64.b64encode(json.dumps({"auths": {"other.example": {"auth": "dTpw"}}}).encode()).decode()
    text = f"""# the shop's manifests
apiVersion: v1
kind: Secret
metadata:
  name: corp   # pull secret
  namespace: shop
type: Opaque   # wrong: the kubelet ignores it
data:
  .dockerconfigjson: {payload}
---
apiVersion: v1
kind: Secret
metadata: {{name: other, namespace: shop}}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: {other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  template:
    spec:
      # our own list
      imagePullSecrets:
        - name: "gone"        # deleted last year
        - name: other
      containers:
        - name: web
          image: 'other.example/shop/web:1'   # quoted
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: shop}}
spec:
  template:
    spec:
      imagePullSecrets:
        - name: other   # ours
      containers:
        - name: api
          image: 'registry.corp.example/shop/api:1'   # quoted
---
# a document nobody touches, oddly formatted
kind:    ConfigMap
apiVersion: v1
metadata: {{ name: x }}
data: {{a: "1",   b: '2'}}
"""
    path = tmp_path / "app.yaml"
    path.write_text(text)
    result = run(tmp_path, "fix", "app.yaml", "--write", "--no-config", "--assume-private")
    assert result.returncode == 0, result.stderr
    new = path.read_text()
    removed = [line for line in text.splitlines() if line not in new.splitlines()]
    added = [line for line in new.splitlines() if line not in text.splitlines()]
    assert removed == [
        "type: Opaque   # wrong: the kubelet ignores it",
        '        - name: "gone"        # deleted last year',
    ]
    assert added == [
        "type: kubernetes.io/dockerconfigjson # wrong: the kubelet ignores it",
        "        - name: corp",
    ]
    assert new.split("---")[1] == text.split("---")[1]  # untouched documents, byte for byte
    assert new.split("---")[4] == text.split("---")[4]
    assert CANARY not in result.stdout + result.stderr


def test_the_diff_never_shows_secret_data(tmp_path: Path) -> None:
    payload = base64.b64encode(
        json.dumps({"auths": {"r.example": {"username": "u", "password": CANARY}}}).encode()
    ).decode()
    (tmp_path / "s.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: Opaque\ndata:\n  .dockerconfigjson: {payload}\n"
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\ntype: Opaque\nstringData:\n"
        f'  .dockerconfigjson: \'{{"auths": {{"r.example": {{"username": "u", "password": "{CANARY}"}}}}}}\'\n'
    )
    result = run(tmp_path, "fix", ".", "--no-config")
    assert result.returncode == 1
    assert result.stdout.count("+type: kubernetes.io/dockerconfigjson") == 2
    assert payload not in result.stdout and CANARY not in result.stdout + result.stderr
    assert "--unidiff-zero" in result.stderr


def test_write_touches_only_files_with_a_fix_and_keeps_their_mode(examples: Path) -> None:
    untouched = examples / "ops" / "ops.yaml"
    fixed = examples / "shop" / "secrets.yaml"
    fixed.chmod(0o640)
    stamp = untouched.stat().st_mtime_ns
    assert run(examples, "fix", ".", "--write", "--no-config").returncode == 0
    assert untouched.stat().st_mtime_ns == stamp
    assert fixed.stat().st_mode & 0o777 == 0o640
    assert not list(examples.rglob("*.pullguard"))


def test_usage_errors(tmp_path: Path) -> None:
    assert run(tmp_path, "fix", "-").returncode == 2
    assert run(tmp_path, "fix", "missing.yaml").returncode == 2


chunks = st.lists(
    st.sampled_from(["a: 1\n", "---\n", "--- # c\n", "\n", "# x\n", "b: [1, 2]\n", "  - y\n", "---"]),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(parts=chunks)
def test_an_untouched_file_renders_byte_for_byte(parts: list[str]) -> None:
    text = "".join(parts)
    assert YamlFile.parse("f.yaml", text).render() == text


@settings(max_examples=200, deadline=None)
@given(parts=chunks)
def test_document_numbers_are_the_scans(parts: list[str]) -> None:
    """Non-blank chunks between `---` lines are numbered 1, 2, … as the scan numbers documents."""
    text = "".join(parts)
    numbers = [c.number for c in YamlFile.parse("f.yaml", text).chunks if c.number is not None]
    assert numbers == list(range(1, len(numbers) + 1))


def test_registries_the_nodes_pull_from_need_no_fix(tmp_path: Path) -> None:
    """--node-credentials means what it means for scan: the nodes pull that registry themselves,
    so a pod without pull secrets for it is not PG001 and gets no imagePullSecrets added."""
    (tmp_path / "app.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred, namespace: shop}\n"
        "type: kubernetes.io/dockerconfigjson\n"
        'stringData:\n  .dockerconfigjson: \'{"auths": {"registry.corp.example": {"auth": "dTpw"}}}\'\n'
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n"
        "spec:\n  containers:\n    - {name: web, image: registry.corp.example/shop/web:1.0}\n"
    )
    flagged = run(tmp_path, "fix", ".", "--no-config", "--private-registry", "registry.corp.example")
    assert flagged.returncode == 1 and "imagePullSecrets" in flagged.stdout, flagged.stderr
    by_node = run(
        tmp_path,
        "fix",
        ".",
        "--no-config",
        "--private-registry",
        "registry.corp.example",
        "--node-credentials",
        "registry.corp.example",
    )
    assert by_node.returncode == 0, by_node.stdout + by_node.stderr
    assert by_node.stdout == ""


def test_a_docker_hub_secret_covers_docker_hub_images_as_the_kubelet_falls_back(tmp_path: Path) -> None:
    """`docker login` writes the key https://index.docker.io/v1/. It matches no image by URLsMatch
    (docker.io is another host), and the kubelet falls back to it for any image Docker Hub serves
    (kubernetes/kubernetes pkg/credentialprovider/keyring.go, Lookup and isDefaultRegistryMatch).
    fix attaches it, as the scan's plan says to, and the scan then finds the image covered."""
    (tmp_path / "app.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: dockerhub, namespace: shop}\n"
        "type: kubernetes.io/dockerconfigjson\n"
        'stringData:\n  .dockerconfigjson: \'{"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}}}\'\n'
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n"
        "spec:\n  containers:\n    - {name: web, image: acme/private-web:1.0}\n"
    )
    hub = ("--private-registry", "docker.io")
    plan = scan_json(tmp_path, *hub)
    assert ("PG001", "web") in {(f["checkId"], f["object"]["name"]) for f in plan["findings"]}
    assert "Reuse pull secret 'dockerhub'" in json.dumps(plan["fixes"])
    shown = run(tmp_path, "fix", ".", "--no-config", *hub)
    assert shown.returncode == 1, shown.stderr
    assert "imagePullSecrets = [dockerhub]" in shown.stderr
    assert "no pull secret in the files covers" not in shown.stderr
    written = run(tmp_path, "fix", ".", "--write", "--no-config", *hub)
    assert written.returncode == 0, written.stderr
    assert ("PG001", "web") not in findings(tmp_path, *hub)


_SA_LISTS_A_SECRET_NOT_IN_THE_FILES = (
    "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: team}\n"
    "imagePullSecrets:\n- name: regcred\n"
    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: team}\n"
    "spec:\n  selector: {matchLabels: {app: app}}\n  template:\n    metadata: {labels: {app: app}}\n"
    "    spec:\n      containers:\n      - {name: app, image: harbor.internal.example/team/app:1.0}\n"
)


def test_a_service_accounts_secret_stays_while_an_image_of_unknown_visibility_may_need_it(
    tmp_path: Path,
) -> None:
    """A repository that keeps Secrets out of Git: the ServiceAccount lists a secret the files do not
    hold, and its pods pull from a registry not declared public or private. The name may be the very
    credential those pulls use, so fix keeps it and says what would settle it; with the registry
    declared public no image needs it and it goes; declared private, the plan creates it."""
    (tmp_path / "app.yaml").write_text(_SA_LISTS_A_SECRET_NOT_IN_THE_FILES)
    unknown = run(tmp_path, "fix", ".", "--no-config")
    assert unknown.returncode == 0, unknown.stderr
    assert unknown.stdout == ""
    assert "ServiceAccount 'default' lists 'regcred', which may be needed" in unknown.stderr
    assert "not known to be public or private" in unknown.stderr
    written = run(tmp_path, "fix", ".", "--write", "--no-config")
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "app.yaml").read_text() == _SA_LISTS_A_SECRET_NOT_IN_THE_FILES

    private = run(tmp_path, "fix", ".", "--no-config", "--private-registry", "harbor.internal.example")
    assert "ServiceAccount 'default' lists 'regcred', which its images need" in private.stderr
    assert "missing pull secret 'regcred' that ServiceAccount 'default' lists" in private.stderr
    assert (tmp_path / "app.yaml").read_text() == _SA_LISTS_A_SECRET_NOT_IN_THE_FILES

    public = run(tmp_path, "fix", ".", "--no-config", "--public-registry", "harbor.internal.example")
    assert public.returncode == 1, public.stderr
    assert "-- name: regcred" in public.stdout


def test_a_secret_the_kubelet_cannot_decode_is_left_to_the_plans_repair(examples: Path) -> None:
    """`ops/broken-creds` has the right type and an `auth` that is not base64: the kubelet fails every
    pull of the pods that list it until it is repaired. fix cannot repair a credential, and says so
    with the scan plan's repair command; the CronJob's PG001 points at that repair instead of asking
    for a new secret (which would not help: the broken one still fails the pod's pulls)."""
    shown = run(examples, "fix", ".")
    assert (
        "PG003 ops/ops.yaml: document 3: Secret 'broken-creds' holds a malformed .dockerconfigjson the "
        "kubelet cannot decode: repair its content: kubectl create secret docker-registry broken-creds -n ops"
    ) in shown.stderr
    assert (
        "PG001 ops/ops.yaml: document 5: registry.example.com/ops/backup:2.3 is left to the repair of pull "
        "secret 'broken-creds'"
    ) in shown.stderr
    assert "covers registry.example.com/ops/backup:2.3" not in shown.stderr
    plan = scan_json(examples)
    assert "Repair pull secret 'broken-creds'" in json.dumps(plan["fixes"])


def test_the_readmes_fix_example_is_what_fix_prints(examples: Path) -> None:
    """README "pullguard fix" shows the notes of `pullguard fix .` in examples/: they are its output."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("note: the diff of shop/secrets.yaml changes Secret data")
    shown = readme[start : readme.index("(exit 1)", start)]
    printed = run(examples, "fix", ".")
    assert printed.returncode == 1
    assert printed.stderr == shown


def test_a_reused_token_that_nothing_refreshes_is_renewed_first(examples: Path) -> None:
    """platform/ecr-token holds an ECR authorization token (valid 12 hours) written once: attaching it
    as it is pulls only until it expires (PG006). The plan's reuse step renews it first, and fix,
    which attaches it, says to."""
    plan = json.dumps(scan_json(examples)["fixes"])
    assert "Reuse pull secret 'ecr-token'" in plan
    assert "that nothing refreshes, so renew it first" in plan
    assert "pullguard secret refresh ecr-token -n platform --credential-helper ecr-login --apply" in plan
    shown = run(examples, "fix", ".")
    assert "ServiceAccount 'ingest': imagePullSecrets += ecr-token" in shown.stderr
    assert (
        "PG006 platform/platform.yaml: document 5: pull secret 'ecr-token', attached for "
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/ingest:4.2, holds an Amazon ECR authorization "
        "token (valid 12 hours) that nothing refreshes: renew it before the pods restart"
    ) in shown.stderr
    # only that token: the other reused secrets hold registry passwords, which do not expire
    assert plan.count("pullguard secret refresh") == 1
