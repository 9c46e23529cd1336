"""A line break in a file name, object name, namespace, container, image or secret name never
starts a line of a report: it is shown as an escape (`\\x0a`).

Before, a file named `x\\nrm -rf ~ #.json` made the text report print a line that began with
`rm -rf ~ #.json:1  PG002 …`, and a pod name with newlines split the finding's block and the
grouped input problems into lines the report never wrote. Each injected part below starts with
FORGED: no line of any report may start with it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cluster.fixtures import pod
from hostile.support import doctor_on_a_stuck_pod, no_internal_error, pullguard

BREAKS = ["\n", "\r", "\u2028", "\r\n"]


def _objects(brk: str) -> str:
    namespace = f"ns{brk}FORGED-NS"
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p$(touch /tmp/x){brk}FORGED-NAME /tmp/x{brk}", "namespace": namespace},
            "spec": {
                "imagePullSecrets": [{"name": f"sec'$(id){brk}FORGED-SECRET"}],
                "containers": [
                    {"name": f"c{brk}FORGED-CONTAINER", "image": f"reg.corp.example/a{brk}FORGED-IMAGE:1"},
                    {"name": "ok", "image": "reg.corp.example/b:1"},
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": namespace},
        },
    ]
    return "\n".join(json.dumps(d) for d in documents)


def _write(tmp_path: Path, brk: str) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / f"x{brk}FORGED-PATH ~ #.json").write_text(_objects(brk))
    # identical input problems in two files: one grouped line naming both files
    for name in (f"a{brk}FORGED-GROUP1.yaml", f"b{brk}FORGED-GROUP2.yaml"):
        (folder / name).write_text(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: t}\nspec: {{ .Values.spec }}\n"
        )
    return folder


def _forged(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.lstrip("#| ").startswith("FORGED")]


@pytest.mark.parametrize("brk", BREAKS, ids=["LF", "CR", "U+2028", "CRLF"])
def test_the_text_report_never_starts_a_line_from_a_name(tmp_path: Path, brk: str) -> None:
    folder = _write(tmp_path, brk)
    result = pullguard("scan", str(folder), "--assume-private", "--images")
    no_internal_error(result)
    output = result.stdout.decode()
    assert "FORGED-PATH" in output and "FORGED-NAME" in output and "FORGED-GROUP2" in output
    assert "FORGED-IMAGE" in output and "FORGED-CONTAINER" in output
    assert _forged(output) == []
    assert "\\x0aFORGED-PATH" in output or "\\x0dFORGED-PATH" in output or "\\u2028FORGED-PATH" in output


def test_fix_comments_never_start_a_line_from_a_name(tmp_path: Path) -> None:
    """`--show-fixes` is pasted into a shell: a comment that a name ended would make the rest of
    the name a command."""
    folder = _write(tmp_path, "\n")
    result = pullguard("scan", str(folder), "--assume-private", "--show-fixes")
    no_internal_error(result)
    output = result.stdout.decode()
    # the pod's name and the file's path are only in comments (the commands quote the names they
    # hold, a matter of shell quoting not checked here)
    comments = [
        line
        for line in output.splitlines()
        if line.startswith("# ") and ("FORGED-NAME" in line or "FORGED-PATH" in line)
    ]
    assert any("FORGED-NAME" in line for line in comments) and any("FORGED-PATH" in line for line in comments)
    assert all("\\x0aFORGED" in line for line in comments)
    starts = [
        line for line in output.splitlines() if line.lstrip("# ").startswith(("FORGED-NAME", "FORGED-PATH"))
    ]
    assert starts == []


@pytest.mark.parametrize("output_format", ["markdown", "html"])
def test_markdown_and_html_keep_a_name_on_its_line(tmp_path: Path, output_format: str) -> None:
    folder = _write(tmp_path, "\n")
    result = pullguard("scan", str(folder), "--assume-private", "-f", output_format)
    no_internal_error(result)
    # the fix commands (<pre>, "How to fix") keep their own lines; not checked here
    output = re.sub(r"<pre>.*?</pre>", "", result.stdout.decode(), flags=re.DOTALL)
    assert "FORGED-NAME" in output
    assert "\nFORGED" not in output and "\n  FORGED" not in output
    assert "x0aFORGED-NAME" in output
    if output_format == "markdown":  # every row with a name is one whole table row
        rows = [line for line in output.splitlines() if "FORGED" in line]
        assert rows and all(line.startswith("| ") and line.endswith(" |") for line in rows)


def test_finding_messages_hold_no_line_break(tmp_path: Path) -> None:
    folder = _write(tmp_path, "\n")
    result = pullguard("scan", str(folder), "--assume-private", "-f", "json")
    report = json.loads(result.stdout)
    messages = [f["message"] for f in report["findings"]]
    assert any("FORGED-NAME" in m for m in messages)
    assert not any("\n" in m or "\r" in m for m in messages)


@pytest.mark.parametrize("output_format", ["text", "markdown", "html"])
def test_verify_never_starts_a_line_from_a_name(tmp_path: Path, output_format: str) -> None:
    folder = _write(tmp_path, "\n")
    result = pullguard("verify", str(folder), "-f", output_format, "--deadline", "5", timeout=60)
    no_internal_error(result)
    output = result.stdout.decode()
    assert "FORGED-NAME" in output
    assert _forged(output) == []


def test_doctor_never_starts_a_line_from_a_name_or_an_event(tmp_path: Path) -> None:
    image = "127.0.0.1:1/team/app:1"
    name = "stuck\nFORGED-POD"
    stuck = pod(name, "shop", image, waiting="ErrImagePull")
    stuck["status"]["containerStatuses"][0]["name"] = stuck["spec"]["containers"][0]["name"] = "app\nFORGED-C"
    message = f'Failed to pull image "{image}": refused\nFORGED-EVENT all good'
    result = doctor_on_a_stuck_pod(tmp_path, stuck, "Failed", message)
    no_internal_error(result)
    output = result.stdout.decode()
    assert "FORGED-POD" in output and "FORGED-EVENT" in output and "FORGED-C" in output
    assert _forged(output) == []


FIXABLE_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "regcred", "namespace": "shop"},
    "type": "kubernetes.io/dockerconfigjson",
    # {"auths":{"reg.corp.example":{"auth":"dXNlcjpwYXNz"}}}
    "data": {".dockerconfigjson": "eyJhdXRocyI6eyJyZWcuY29ycC5leGFtcGxlIjp7ImF1dGgiOiJkWE5sY2pwd1lYTnoifX19"},
}


def test_fix_never_starts_a_line_from_a_file_name(tmp_path: Path) -> None:
    """The diff names the file as git does (`--- "a/x\\nFORGED.yaml"`, which `git apply` reads);
    what fix says on standard error is one line per fix."""
    (tmp_path / "x\nFORGED-PATH.yaml").write_text(
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "p\\nFORGED-NAME"\n  namespace: shop\n'
        "spec:\n  containers:\n  - name: c\n    image: reg.corp.example/app:1\n"
    )
    (tmp_path / "secret.yaml").write_text(json.dumps(FIXABLE_SECRET))
    result = pullguard("fix", ".", "--assume-private", cwd=tmp_path)
    no_internal_error(result)
    assert result.returncode == 1, result.stderr.decode()
    output, errors = result.stdout.decode(), result.stderr.decode()
    assert '--- "a/x\\nFORGED-PATH.yaml"' in output
    assert "FORGED-NAME" in errors
    assert _forged(output) == [] and _forged(errors) == []
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    applied = subprocess.run(
        ["git", "apply", "--check", "-"], input=result.stdout, cwd=tmp_path, capture_output=True, timeout=30
    )
    assert applied.returncode == 0, applied.stderr.decode()


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_audit_log_never_starts_a_line_from_a_secret_name(tmp_path: Path, output_format: str) -> None:
    """An audit event names the secret that was read; the inventory holds one named so."""
    from auditlog import auditgen

    secret = {**FIXABLE_SECRET, "metadata": {"name": "reg\nFORGED-SECRET", "namespace": "shop"}}
    (tmp_path / "inventory.json").write_text(json.dumps(secret))
    log = auditgen.write(
        tmp_path / "audit.log",
        [auditgen.event(verb="get", user="mallory", name="reg\nFORGED-SECRET", namespace="shop")],
    )
    result = pullguard(
        "audit-log", str(log), "--manifests", str(tmp_path / "inventory.json"), "-f", output_format
    )
    no_internal_error(result)
    output = result.stdout.decode()
    assert "FORGED-SECRET" in output
    assert _forged(output) == []
