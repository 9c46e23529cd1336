"""One coherent fix plan per namespace (remediation/plan.py), and fixes that apply as written."""

from __future__ import annotations

import base64
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from gate_support import run

from pullguard.remediation.plan import Action, Plan, Step
from pullguard.scan import ScanOptions, ScanResult, scan_paths

CORP = "eyJhdXRocyI6IHsiKi5jb3JwLmV4YW1wbGUiOiB7ImF1dGgiOiAiZFRwdyJ9fX0="  # *.corp.example
REG = "eyJhdXRocyI6IHsicmVnaXN0cnkuZXhhbXBsZS5jb20iOiB7ImF1dGgiOiAiZFRwdyJ9fX0="  # registry.example.com
BROKEN = "eyJhdXRocyI6IHsicmVnaXN0cnkuZXhhbXBsZS5jb20iOiB7ImF1dGgiOiAiISEhIn19fQ=="  # auth is not base64
ACR = "eyJhdXRocyI6IHsibXlyZWdpc3RyeS5henVyZWNyLmlvIjogeyJhdXRoIjogImRUcHcifX19"  # myregistry.azurecr.io


def secret(name: str, data: str, kind: str = "kubernetes.io/dockerconfigjson") -> str:
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: shop}}\ntype: {kind}\n"
        f"data:\n  .dockerconfigjson: {data}\n"
    )


def deployment(name: str, image: str, account: str = "default", pull_secrets: tuple[str, ...] = ()) -> str:
    listed = (
        f"      imagePullSecrets: [{', '.join('{name: ' + s + '}' for s in pull_secrets)}]\n"
        if pull_secrets
        else ""
    )
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\n"
        f"spec:\n  template:\n    spec:\n      serviceAccountName: {account}\n{listed}"
        f"      containers: [{{name: app, image: {image}}}]\n"
    )


SA_DEFAULT = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: shop}\nimagePullSecrets: [{name: reg}]\n"
SA_WORKER = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: worker, namespace: shop}\n"
MANIFEST = "---\n".join(
    [
        secret("corp", CORP),
        secret("reg", REG),
        secret("broken", BROKEN),
        secret("legacy", ACR, "Opaque"),
        SA_DEFAULT,
        SA_WORKER,
        deployment("a", "build.corp.example/team/a:1"),  # the SA's secret lacks it; 'corp' covers it
        deployment("b", "build.corp.example/team/b:1"),  # the same SA: one attach serves both
        deployment("c", "myregistry.azurecr.io/team/c:1", "worker"),  # no secret covers it anywhere
        deployment("d", "myregistry.azurecr.io/team/d:1", "worker"),
        deployment("e", "myregistry.azurecr.io/team/e:1", pull_secrets=("gone",)),  # PG001 + PG002
        deployment("f", "myregistry.azurecr.io/team/f:1", pull_secrets=("legacy",)),  # Opaque: PG003
        deployment("g", "registry.example.com/team/g:1", pull_secrets=("broken",)),  # malformed: PG003
    ]
)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScanResult]:
    path = tmp_path_factory.mktemp("plan") / "shop.yaml"
    path.write_text(MANIFEST)
    return path, scan_paths([str(path)], ScanOptions())


def _steps(plan: Plan) -> list[Step]:
    [namespace] = plan.namespaces
    assert namespace.namespace == "shop"
    return namespace.steps


def _by(steps: list[Step], action: Action) -> list[Step]:
    return [s for s in steps if s.action is action]


def test_reuses_a_secret_that_already_covers_the_registry(scanned: tuple[Path, ScanResult]) -> None:
    steps = _steps(scanned[1].plan)
    [reuse] = _by(steps, Action.REUSE)
    assert reuse.secret == "corp" and reuse.registries == ["build.corp.example"]
    attach = next(
        s for s in _by(steps, Action.ATTACH_SERVICE_ACCOUNT) if s.target and s.target.name == "default"
    )
    assert attach.secrets == ["corp"]
    assert [str(w) for w in attach.serves] == [
        "Deployment shop/a",
        "Deployment shop/b",
    ]  # one step, both pods


def test_one_new_secret_per_namespace_and_registry_named_after_it(scanned: tuple[Path, ScanResult]) -> None:
    steps = _steps(scanned[1].plan)
    [create] = _by(steps, Action.CREATE)
    assert create.secret == "pull-myregistry.azurecr.io" and create.registries == ["myregistry.azurecr.io"]
    assert [str(w) for w in create.serves] == ["Deployment shop/c", "Deployment shop/d"]
    created = [
        s.secret
        for s in steps
        if s.action in (Action.CREATE, Action.CREATE_MISSING, Action.REPAIR, Action.RETYPE)
    ]
    assert len(created) == len(set(created))  # never two steps creating one name


def test_broken_secrets_are_repaired_in_place_and_pg003_names_the_registry(
    scanned: tuple[Path, ScanResult],
) -> None:
    _, result = scanned
    steps = _steps(result.plan)
    [repair] = _by(steps, Action.REPAIR)
    assert repair.secret == "broken" and "--docker-server=registry.example.com" in repair.commands[0]
    assert "kubectl apply -f -" in repair.commands[0]  # rewrites the existing secret
    [retype] = _by(steps, Action.RETYPE)
    assert retype.secret == "legacy"
    command = retype.commands[0]
    assert command.index("base64 -d > config.json") < command.index(
        "kubectl delete secret legacy"
    )  # data first
    pg003 = {f.object.name: f.remediation for f in result.findings if f.check_id == "PG003"}
    assert "--docker-server=registry.example.com" in pg003["broken"] and "<registry>" not in pg003["broken"]
    assert not any(s.action is Action.CREATE and s.serves and s.serves[0].name in ("f", "g") for s in steps)


def test_pg001_and_pg002_of_one_pod_give_one_fix(scanned: tuple[Path, ScanResult]) -> None:
    _, result = scanned
    fixes = {f.check_id: f.remediation for f in result.findings if f.object.name == "e"}
    assert set(fixes) >= {"PG001", "PG002"}
    assert fixes["PG001"] == fixes["PG002"]
    assert (
        "kubectl create secret docker-registry gone -n shop --docker-server=myregistry.azurecr.io"
        in fixes["PG001"]
    )


def test_service_accounts_are_appended_to_with_a_json_patch(scanned: tuple[Path, ScanResult]) -> None:
    _, result = scanned
    commands = [c for n in result.plan.namespaces for s in n.steps for c in s.commands]
    remediations = [f.remediation for f in result.findings]
    for text in commands + remediations:
        for line in text.splitlines():
            if "kubectl patch serviceaccount" in line and "imagePullSecrets" in line:
                assert "--type=json" in line, line  # never the strategic-merge patch that replaces the list
    steps = _by(_steps(result.plan), Action.ATTACH_SERVICE_ACCOUNT)
    worker = next(s for s in steps if s.target and s.target.name == "worker")
    assert (
        '[{"op":"add","path":"/imagePullSecrets","value":[{"name":"pull-myregistry.azurecr.io"}]}]'
        in worker.commands[0]
    )
    default = next(s for s in steps if s.target and s.target.name == "default")
    assert '"path":"/imagePullSecrets/-","value":{"name":"corp"}' in default.commands[0]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl applies the patches locally")
def test_the_service_account_patches_keep_the_other_pull_secrets(
    scanned: tuple[Path, ScanResult], tmp_path: Path
) -> None:
    """kubectl applies our patch to the ServiceAccount with --local (no server): 'reg' stays, 'corp' is added.
    The strategic-merge patch we never recommend drops 'reg' (the list has no patch merge key)."""
    _, result = scanned
    steps = _by(_steps(result.plan), Action.ATTACH_SERVICE_ACCOUNT)
    for manifest, name, before, added in (
        (SA_DEFAULT, "default", ["reg"], "corp"),
        (SA_WORKER, "worker", [], "pull-myregistry.azurecr.io"),
    ):
        step = next(s for s in steps if s.target and s.target.name == name)
        words = shlex.split(step.commands[0])
        patch = words[words.index("-p") + 1]
        path = tmp_path / f"{name}.yaml"
        path.write_text(manifest)
        done = subprocess.run(
            ["kubectl", "patch", "-f", str(path), "--local", "--type=json", "-p", patch, "-o", "json"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert [r["name"] for r in json.loads(done.stdout)["imagePullSecrets"]] == [*before, added]
    path = tmp_path / "default.yaml"
    strategic = subprocess.run(
        ["kubectl", "patch", "-f", str(path), "--local", "-p", '{"imagePullSecrets":[{"name":"corp"}]}', "-o", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert [r["name"] for r in json.loads(strategic.stdout)["imagePullSecrets"]] == ["corp"]  # 'reg' was lost


def test_show_fixes_prints_the_plan_outside_any_table(scanned: tuple[Path, ScanResult]) -> None:
    path, _ = scanned
    out = run("scan", str(path), "--show-fixes", env={"COLUMNS": "80"}).stdout
    plan = out[out.index("Fix plan:") :]
    lines = plan.splitlines()
    command = next(
        line for line in lines if line.startswith("kubectl create secret docker-registry pull-myregistry")
    )
    assert command == " ".join(command.split())  # one unwrapped line, nothing around it
    assert "│" not in plan and "┃" not in plan
    assert all(line == line.rstrip() for line in lines)


def test_json_and_sarif_carry_the_fixes(scanned: tuple[Path, ScanResult]) -> None:
    path, _ = scanned
    report = json.loads(run("scan", str(path), "-f", "json").stdout)
    [namespace] = report["fixes"]
    actions = [s["action"] for s in namespace["steps"]]
    assert "reuse-secret" in actions and "create-secret" in actions and "attach-to-serviceaccount" in actions
    log = json.loads(run("scan", str(path), "-f", "sarif").stdout)
    with_fixes = [r for r in log["runs"][0]["results"] if r.get("fixes")]
    assert {r["ruleId"] for r in with_fixes} >= {"PG001", "PG002", "PG003"}
    assert all(f["description"]["text"] for r in with_fixes for f in r["fixes"])


# -- an auths key that misses the image's port -----------------------------------------------------

PORT_CANARY = "canary-port-pw-5e1d-never-print"


def _port_manifest(tmp_path: Path) -> Path:
    config = {"auths": {"registry.example.com": {"username": "ci", "password": PORT_CANARY}}}
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    path = tmp_path / "shop.yaml"
    path.write_text(
        secret("reg", encoded)
        + "---\n"
        + deployment("cache", "registry.example.com:5000/team/cache:1", pull_secrets=("reg",))
    )
    return path


def test_a_key_that_misses_the_port_gets_a_second_key_not_a_new_secret(tmp_path: Path) -> None:
    path = _port_manifest(tmp_path)
    result = scan_paths([str(path)], ScanOptions(assume_private=True))
    steps = _steps(result.plan)
    assert [s.action for s in steps] == [Action.ADD_PORT_KEY]  # no new secret, no attach: the pod lists 'reg'
    (step,) = steps
    assert step.secret == "reg"
    assert step.key_edits == [("registry.example.com", "registry.example.com:5000")]
    assert {"PG001 Deployment shop/cache", "PG004 Deployment shop/cache"} <= set(step.fixes)
    assert PORT_CANARY not in "".join(step.commands)


@pytest.mark.skipif(shutil.which("jq") is None, reason="the command runs jq (Debian package jq)")
def test_the_port_key_command_copies_the_credential_and_then_the_image_pulls(tmp_path: Path) -> None:
    """The command's jq program, run by the real jq on the Secret as `kubectl get -o json` prints it,
    adds the key with the port and the very same credential; a scan of the result finds nothing."""
    path = _port_manifest(tmp_path)
    (step,) = _steps(scan_paths([str(path)], ScanOptions(assume_private=True)).plan)
    lexer = shlex.shlex(step.commands[0], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    stages: list[list[str]] = [[]]
    for word in lexer:
        if word == "|":
            stages.append([])
        else:
            stages[-1].append(word)
    assert stages[0][:3] == ["kubectl", "get", "secret"] and stages[-1] == ["kubectl", "replace", "-f", "-"]
    [jq] = [stage for stage in stages if stage[0] == "jq"]
    documents = path.read_text().split("---\n")
    live = yaml.safe_load(documents[0])  # what `kubectl get secret reg -o json` holds
    done = subprocess.run(jq, input=json.dumps(live), capture_output=True, text=True, timeout=30, check=True)
    replaced = json.loads(done.stdout)
    config = json.loads(base64.b64decode(replaced["data"][".dockerconfigjson"]))
    assert config["auths"]["registry.example.com:5000"] == config["auths"]["registry.example.com"]
    assert config["auths"]["registry.example.com:5000"]["password"] == PORT_CANARY
    path.write_text(yaml.safe_dump(replaced) + "---\n" + documents[1])
    after = scan_paths([str(path)], ScanOptions(assume_private=True))
    assert not [f for f in after.findings if f.object.name == "cache" and f.breaks_pull]


def test_fix_and_the_scan_plan_name_the_same_key(tmp_path: Path) -> None:
    """`pullguard fix` edits the file with the key the scan's plan adds in the cluster."""
    path = _port_manifest(tmp_path)
    (step,) = _steps(scan_paths([str(path)], ScanOptions(assume_private=True)).plan)
    done = run("fix", str(path), "--no-config", "--assume-private", "--write", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert PORT_CANARY not in done.stdout + done.stderr
    written = yaml.safe_load(path.read_text().split("---\n")[0])
    keys = set(json.loads(base64.b64decode(written["data"][".dockerconfigjson"]))["auths"])
    assert {new for _, new in step.key_edits} <= keys
