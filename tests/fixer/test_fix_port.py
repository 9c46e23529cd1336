"""`pullguard fix` adds the image's port to an auths key, and never shows the credential.

The kubelet compares ports as strings and implies none (kubernetes/kubernetes
pkg/credentialprovider/keyring.go, URLsMatch): the key `registry.example.com` does
not cover `registry.example.com:5000/team/app`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from fixer.helpers import b64, findings, run, secret_config

CANARY = "canary-port-7f3e-never-shown"
AUTH = b64(f"puller:{CANARY}")
IMAGE = "registry.example.com:5000/team/app:1"


def _config(pretty: bool) -> str:
    config = {
        "auths": {
            "other.example": {"auth": b64("o:x-other-pw")},
            "registry.example.com": {"username": "puller", "password": CANARY, "auth": AUTH},
        },
        "credsStore": "desktop",
    }
    return json.dumps(config, indent=2) if pretty else json.dumps(config, separators=(",", ":"))


def _secret(where: str, pretty: bool) -> str:
    config = _config(pretty)
    if where == "data":
        value = b64(config)
        body = f"data:\n  .dockerconfigjson: {value}   # generated\n"
    elif pretty:
        body = "stringData:\n  .dockerconfigjson: |\n" + "".join(
            f"    {line}\n" for line in config.splitlines()
        )
    else:
        body = f"stringData:\n  .dockerconfigjson: '{config}'\n"
    return (
        "# pull secret of the team\napiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n"
        f"  namespace: team\ntype: kubernetes.io/dockerconfigjson\n{body}"
    )


def _workload(name: str, image: str, listed: str = "regcred") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: team}}   # keep this comment
spec:
  template:
    spec:
      imagePullSecrets:
      - name: {listed}
      containers:
      - name: {name}
        image: {image}
"""


def _forbidden(text: str) -> list[str]:
    """Everything that would reveal the credential, in any encoding the files hold."""
    values = [CANARY, AUTH, b64(CANARY), _config(False), b64(_config(False)), b64(_config(True))]
    return [v for v in values if v in text]


FORMS = [("data", False), ("data", True), ("stringData", False), ("stringData", True)]


@pytest.mark.parametrize(("where", "pretty"), FORMS)
def test_the_port_is_added_and_the_credential_never_shown(tmp_path: Path, where: str, pretty: bool) -> None:
    path = tmp_path / "app.yaml"
    original = _secret(where, pretty) + "---\n" + _workload("app", IMAGE)
    path.write_text(original)
    assert ("PG004", "app") in findings(tmp_path, "--assume-private")

    shown = run(tmp_path, "fix", ".", "--no-config", "--assume-private")
    assert shown.returncode == 1, shown.stderr
    assert _forbidden(shown.stdout + shown.stderr) == []
    assert (
        '+  <.dockerconfigjson: auths key "registry.example.com" -> "registry.example.com:5000"; '
        "credential unchanged, not shown>"
    ) in shown.stdout
    assert "changes Secret data, which is never shown" in shown.stderr
    assert path.read_text() == original  # a diff only

    written = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert written.returncode == 0, written.stderr
    new_text = path.read_text()
    assert _forbidden(written.stdout + written.stderr) == []
    outputs = written.stdout + written.stderr + shown.stdout + shown.stderr
    new_json = _config(pretty).replace('"registry.example.com"', '"registry.example.com:5000"')
    assert new_json not in outputs and b64(new_json) not in outputs  # the whole new value, either form
    if where == "data":
        new_value = next(line for line in new_text.splitlines() if ".dockerconfigjson:" in line)
        assert new_value.split()[1] == b64(new_json)  # the key token alone changed
        assert new_value.split()[1] not in outputs

    config = secret_config(path, "regcred")
    before = json.loads(_config(False))
    # renamed (no other image needs the port-less key), same credential byte for byte, same order
    assert list(config["auths"]) == ["other.example", "registry.example.com:5000"]
    assert config["auths"]["registry.example.com:5000"] == before["auths"]["registry.example.com"]
    assert config["auths"]["other.example"] == before["auths"]["other.example"]
    assert list(config) == ["auths", "credsStore"]
    # only the value changed: comments, other documents and key order stay
    old_lines, new_lines = original.splitlines(), new_text.splitlines()
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(changed) == 1 or (where == "stringData" and pretty)
    assert new_text.split("---\n")[1] == original.split("---\n")[1]
    assert "# pull secret of the team" in new_text and "# keep this comment" in new_text
    if where == "data":
        assert "# generated" in new_text  # the comment stays (ruamel may move its column)

    assert not {("PG004", "app"), ("PG001", "app")} & findings(tmp_path, "--assume-private")
    again = run(tmp_path, "fix", ".", "--no-config", "--assume-private")
    assert again.returncode == 0 and again.stdout == ""


def test_a_second_key_when_another_image_still_needs_the_port_less_one(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(
        _secret("data", False)
        + "---\n"
        + _workload("app", IMAGE)
        + "---\n"
        + _workload("legacy", "registry.example.com/team/legacy:1")
    )
    result = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert result.returncode == 0, result.stderr
    assert 'auths key "registry.example.com:5000" added next to "registry.example.com"' in result.stderr
    auths = secret_config(path, "regcred")["auths"]
    assert list(auths) == ["other.example", "registry.example.com", "registry.example.com:5000"]
    assert auths["registry.example.com:5000"] == auths["registry.example.com"]
    assert auths["registry.example.com"]["password"] == CANARY
    assert _forbidden(result.stdout + result.stderr) == []
    assert not {("PG004", "app"), ("PG001", "app"), ("PG001", "legacy")} & findings(
        tmp_path, "--assume-private"
    )


def test_a_service_account_secret_is_repaired_too(tmp_path: Path) -> None:
    """No PG004 (the pod lists no secret of its own): the PG001 of the image leads to the same repair."""
    path = tmp_path / "app.yaml"
    workload = _workload("app", IMAGE).replace("      imagePullSecrets:\n      - name: regcred\n", "")
    account = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: team}\n"
    account += "imagePullSecrets:\n- name: regcred\n"
    path.write_text(_secret("stringData", True) + "---\n" + account + "---\n" + workload)
    result = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert result.returncode == 0, result.stderr
    assert "registry.example.com:5000" in secret_config(path, "regcred")["auths"]
    assert ("PG001", "app") not in findings(tmp_path, "--assume-private")


def test_two_keys_that_could_take_the_port_are_left_to_a_person(tmp_path: Path) -> None:
    second = _secret("data", False).replace("name: regcred", "name: second")
    text = _secret("data", False) + "---\n" + second + "---\n" + _workload("app", IMAGE)
    text = text.replace("      - name: regcred\n", "      - name: regcred\n      - name: second\n")
    path = tmp_path / "app.yaml"
    path.write_text(text)
    result = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert path.read_text() == text
    assert "several auths keys would cover it with its port" in result.stderr
    assert _forbidden(result.stdout + result.stderr) == []


def test_a_secret_declared_outside_the_files_becomes_a_manual_item(tmp_path: Path) -> None:
    (tmp_path / ".pullguard.yaml").write_text(
        "externalPullSecrets:\n  - name: regcred\n    namespace: team\n    registries: [registry.example.com]\n"
    )
    (tmp_path / "app.yaml").write_text(_workload("app", IMAGE))
    result = run(tmp_path, "fix", ".", "--assume-private", "--write")
    assert result.returncode == 0, result.stderr
    assert (
        'rename auths key "registry.example.com" to "registry.example.com:5000" (the kubelet matches ports '
        "exactly; covers registry.example.com:5000/team/app:1); not edited: it is declared in the configuration"
    ) in result.stderr
    assert "1 left to do by hand" in result.stderr


def test_an_encrypted_document_is_never_edited(tmp_path: Path) -> None:
    """Defence in depth: whatever the scan decided, a document with SOPS metadata is not rewritten."""
    from pullguard.fixer.authport import RepairRefused
    from pullguard.fixer.plan import _Planner, _PortRepair
    from pullguard.inventory.model import ObjectRef, PullSecretPayload, Secret
    from pullguard.remediation.plan import Plan
    from pullguard.semantics.dockerconfig import parse_dockerconfigjson
    from pullguard.sources.model import Location

    path = tmp_path / "s.yaml"
    path.write_text(_secret("data", False) + "sops:\n  version: 3.8.1\n")
    entries = tuple(parse_dockerconfigjson(_config(False).encode()))
    secret = Secret(
        ObjectRef("Secret", "team", "regcred"),
        Location(str(path), 1, 1),
        "kubernetes.io/dockerconfigjson",
        (".dockerconfigjson",),
        PullSecretPayload(".dockerconfigjson", entries),
    )
    planner = _Planner("default", None, Plan([]))
    planner._files = {str(path)}
    from pullguard.fixer.authport import KeyEdit

    with pytest.raises(RepairRefused, match="not a plain Secret"):
        planner._edit_secret(
            _PortRepair(secret), [KeyEdit("registry.example.com", "registry.example.com:5000", False)], "team"
        )
    assert base64.b64decode(b64("x")) == b"x"


def test_context_lines_of_a_multi_line_value_are_masked(tmp_path: Path) -> None:
    """Regression: a block-scalar stringData value was matched whole against single diff lines, so its
    lines (the password among them) were printed as context of a nearby fix (here: the type)."""
    text = _secret("stringData", True).replace("type: kubernetes.io/dockerconfigjson", "type: Opaque")
    (tmp_path / "s.yaml").write_text(text)
    result = run(tmp_path, "fix", ".", "--no-config")
    assert result.returncode == 1, result.stderr
    assert "+type: kubernetes.io/dockerconfigjson" in result.stdout
    assert _forbidden(result.stdout + result.stderr) == []
    assert "password" not in result.stdout


def test_a_dangling_name_is_not_needed_once_the_port_repair_covers_the_image(tmp_path: Path) -> None:
    """The scan's plan (made before the repair) would create the missing name for the image; once the
    listed secret's key has the port, no image needs the name: it is removed, nothing is left to do."""
    path = tmp_path / "app.yaml"
    workload = _workload("app", IMAGE).replace(
        "      - name: regcred\n", "      - name: old-creds\n      - name: regcred\n"
    )
    path.write_text(_secret("data", False) + "---\n" + workload)
    result = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert result.returncode == 0, result.stderr
    assert "imagePullSecrets -= old-creds" in result.stderr
    assert "2 fixed in 1 file; 0 left to do by hand" in result.stderr
    assert not {("PG001", "app"), ("PG002", "app"), ("PG004", "app")} & findings(tmp_path, "--assume-private")
