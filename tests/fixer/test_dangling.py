"""PG002: `fix` removes a dangling imagePullSecrets name only when no image needs it, and says what the
scan's fix plan says for a name the plan creates."""

from __future__ import annotations

import json
from pathlib import Path

from fixer.helpers import b64, findings, run, scan_json
from pullguard.scan import ScanOptions, scan_paths


def _deployment(name: str, image: str, secrets: list[str], namespace: str = "shop") -> str:
    listed = "".join(f"      - name: {s}\n" for s in secrets)
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n"
        f"  template:\n    spec:\n      imagePullSecrets:\n{listed}      containers:\n"
        f"      - name: {name}\n        image: {image}\n"
    )


def _secret(name: str, registry: str, namespace: str = "shop") -> str:
    value = b64(json.dumps({"auths": {registry: {"auth": b64("u:pw-never-shown")}}}))
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {value}\n"
    )


def _plan_commands(cwd: Path) -> dict[tuple[str, str], str]:
    """(namespace, secret) -> the command of the scan plan's create-missing-secret step."""
    return {
        (step["secret"], plan["namespace"]): step["commands"][0]
        for plan in scan_json(cwd, "--assume-private")["fixes"]
        for step in plan["steps"]
        if step["action"] == "create-missing-secret"
    }


def test_a_name_the_image_needs_is_kept_and_fix_says_what_scan_says(tmp_path: Path) -> None:
    text = _deployment("api", "registry.corp.example/shop/api:1", ["regcred"])
    (tmp_path / "app.yaml").write_text(text)
    commands = _plan_commands(tmp_path)
    command = commands[("regcred", "shop")]
    assert command.startswith("kubectl create secret docker-registry regcred -n shop ")
    result = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "app.yaml").read_text() == text  # the reference stays
    assert (
        "not fixed: PG002 app.yaml: document 1: Deployment 'api' lists 'regcred', which its images need: "
        f"create secret regcred in namespace shop: {command}\n"
    ) in result.stderr
    assert "0 fixed in 0 files" in result.stderr


def test_a_name_no_image_needs_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(
        _secret("good", "registry.corp.example")
        + "---\n"
        + _deployment("api", "registry.corp.example/shop/api:1", ["old", "good"])
    )
    assert _plan_commands(tmp_path) == {}  # the plan creates nothing: the image is covered
    result = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert result.returncode == 0, result.stderr
    assert "imagePullSecrets -= old" in result.stderr
    assert "- name: old" not in path.read_text() and "- name: good" in path.read_text()
    assert ("PG002", "api") not in findings(tmp_path, "--assume-private")


def test_a_secret_of_that_name_in_another_namespace_means_it_is_needed(tmp_path: Path) -> None:
    """Another listed secret covers the image, so the plan creates nothing, but the name is clearly
    meant: a Secret of that name in another namespace covers the image (pull secrets are namespace-local,
    https://kubernetes.io/docs/concepts/containers/images/#referring-to-an-imagepullsecrets-on-a-pod)."""
    path = tmp_path / "app.yaml"
    text = (
        _secret("regcred", "registry.corp.example", namespace="other")
        + "---\n"
        + _deployment("api", "registry.corp.example/shop/api:1", ["regcred", "good"])
        + "---\n"
        + _secret("good", "registry.corp.example")
    )
    path.write_text(text)
    assert _plan_commands(tmp_path) == {}
    result = run(tmp_path, "fix", ".", "--no-config", "--write")
    assert path.read_text() == text
    assert "lists 'regcred', which exists in namespace other and covers registry.corp.example/shop/api:1" in (
        result.stderr
    )
    assert "create secret regcred in namespace shop: kubectl create secret docker-registry regcred" in (
        result.stderr
    )


def test_a_service_account_reference_follows_the_same_rule(tmp_path: Path) -> None:
    account = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: shop}\n"
    account += "imagePullSecrets:\n- name: regcred\n"
    workload = _deployment("api", "registry.corp.example/shop/api:1", []).replace(
        "      imagePullSecrets:\n", ""
    )
    (tmp_path / "app.yaml").write_text(account + "---\n" + workload)
    command = _plan_commands(tmp_path)[("regcred", "shop")]
    result = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert (
        f"ServiceAccount 'default' lists 'regcred', which its images need: create secret regcred in namespace shop: {command}"
        in result.stderr
    )
    assert "- name: regcred" in (tmp_path / "app.yaml").read_text()


def test_findings_name_the_secret_they_are_about(tmp_path: Path) -> None:
    """Structured, not parsed from the message: PG002 names the missing secret, PG004 the listed one."""
    account = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: shop}\n"
    account += "imagePullSecrets:\n- name: sa-missing\n"
    (tmp_path / "app.yaml").write_text(
        account
        + "---\n"
        + _secret("wrong-registry", "elsewhere.example")
        + "---\n"
        + _deployment("api", "registry.corp.example/shop/api:1", ["pod-missing", "wrong-registry"])
    )
    options = ScanOptions(assume_private=True)
    result = scan_paths([str(tmp_path)], options)
    named = {
        (f.check_id, f.object.name, f.secret) for f in result.findings if f.check_id in ("PG002", "PG004")
    }
    assert named == {
        ("PG002", "default", "sa-missing"),
        ("PG002", "api", "pod-missing"),
        ("PG004", "api", "wrong-registry"),
    }


def test_a_name_is_kept_when_the_input_cannot_show_that_no_image_needs_it(tmp_path: Path) -> None:
    """A ServiceAccount no pod of the input runs as, or a pod whose image is not a valid reference
    (an un-rendered placeholder): its pods elsewhere may need the secret, so the reference stays."""
    account = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: builder, namespace: shop}\n"
    account += "imagePullSecrets:\n- name: regcred\n"
    text = account + "---\n" + _deployment("api", "''", ["old"])
    (tmp_path / "app.yaml").write_text(text)
    result = run(tmp_path, "fix", ".", "--no-config", "--write")
    assert (tmp_path / "app.yaml").read_text() == text
    assert "lists 'regcred', which may be needed (no pod in the input runs as ServiceAccount 'builder')" in (
        result.stderr
    )
    assert "lists 'old', which may be needed (the image '' is not a valid reference)" in result.stderr
