"""One hostile document, file or name costs that unit, never the report (issue: hostile input).

Each test names the input that used to end the whole run with an internal error and no findings.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

from hostile.support import PRIVATE, no_internal_error, pullguard

FORMATS = ("text", "json", "sarif", "junit", "markdown", "html")

UNCOVERED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: shop}
spec:
  containers: [{name: c, image: reg.corp.example/fine:1}]
"""


def _scan_dir(
    tmp_path: Path, files: dict[str, str | bytes], *extra: str, output_format: str = "json"
) -> tuple[int, dict]:  # type: ignore[type-arg]
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    result = pullguard("scan", str(tmp_path), "-f", output_format, *PRIVATE, *extra)
    no_internal_error(result)
    return result.returncode, json.loads(result.stdout) if output_format == "json" else {}


def test_findings_without_namespace_sort_with_namespaced_ones(tmp_path: Path) -> None:
    """A script's `kubectl create secret docker-registry` without -n (namespace None) next to a
    plaintext pull Secret in a namespace: both PG010, same severity, compared by object."""
    code, report = _scan_dir(
        tmp_path,
        {
            "secret.yaml": (
                "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\n"
                "type: kubernetes.io/dockerconfigjson\nstringData:\n"
                """  .dockerconfigjson: '{"auths":{"reg.corp.example":{"username":"u","password":"p"}}}'\n"""
            ),
            "deploy.sh": "kubectl create secret docker-registry regcred --docker-server=reg.corp.example "
            "--docker-username=u --docker-password=hunter2\n",
        },
    )
    pg010 = [f["object"] for f in report["findings"] if f["checkId"] == "PG010"]
    assert {"kind": "Secret", "namespace": "shop", "name": "s"} in pg010
    assert {"kind": "Secret", "namespace": None, "name": "regcred"} in pg010
    assert code == 1


@pytest.mark.parametrize(
    ("value", "readable"),
    [
        ("annotations: {checked: 2024-02-30}", True),  # no such day: a string, as Go YAML reads it
        ("creationTimestamp: 2024-13-01T00:00:00Z", True),
        ("annotations: !vault x", False),
        ("annotations: {a: !!python/name:os.system x}", False),
        ("annotations: {<<: 5}", False),
        ("annotations: {a: !!int twelve}", False),
    ],
)
def test_a_value_that_cannot_be_built_costs_its_object(tmp_path: Path, value: str, readable: bool) -> None:
    bad = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: odd\n  namespace: shop\n"
        f"  {value}\nspec:\n  containers: [{{name: c, image: reg.corp.example/odd:1}}]\n"
    )
    code, report = _scan_dir(tmp_path, {"a.yaml": UNCOVERED_POD + "---\n" + bad})
    objects = {f["object"]["name"] for f in report["findings"] if f["checkId"] == "PG001"}
    problems = report["inputProblems"]
    if readable:
        assert objects == {"fine", "odd"}
        assert problems == []
    else:
        assert objects == {"fine"}
        assert [(p["code"], p["location"]["document"], p["location"]["line"]) for p in problems] == [
            ("yaml-value", 2, 12)  # the line of the value, in the file
        ]
        message = problems[0]["message"]
        assert "odd" in message  # the object, named
        assert not any(value in message for value in ("vault", "os.system", "twelve", "5"))  # never the value
        assert code == 2


def test_a_100000_deep_json_manifest_is_an_input_problem(tmp_path: Path) -> None:
    deep = (
        '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"deep"},"x":'
        + "[" * 100_000
        + "]" * 100_000
        + "}"
    )
    code, report = _scan_dir(tmp_path, {"a.yaml": UNCOVERED_POD, "b.json": deep})
    assert [f["object"]["name"] for f in report["findings"] if f["checkId"] == "PG001"] == ["fine"]
    assert [p["code"] for p in report["inputProblems"]] == ["too-deep"]
    assert code == 2


HOSTILE_NAME_POD = """\
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web[/]\\u001b]0;owned\\u0007\\u001b[2J\\u009b31m\\ud800\\u202e","namespace":"[bold]x"},
 "spec":{"containers":[{"name":"c[/red]\\u0001","image":"reg.corp.example/app:1"}]}}
"""


@pytest.mark.parametrize("output_format", FORMATS)
def test_every_format_writes_hostile_names_safely(tmp_path: Path, output_format: str) -> None:
    """Rich markup, terminal escapes, C0/C1 controls, a lone surrogate and a bidi override in a
    name: every format is written (to -o and to a pipe), nothing drives a terminal, JUnit is XML 1.0."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pod.json").write_text(HOSTILE_NAME_POD)
    out = tmp_path / f"report.{output_format}"
    to_file = pullguard("scan", str(tmp_path / "in"), "-f", output_format, "-o", str(out), *PRIVATE)
    to_pipe = pullguard("scan", str(tmp_path / "in"), "-f", output_format, *PRIVATE, "--color")
    for result in (to_file, to_pipe):
        no_internal_error(result)
        assert result.returncode == 1
    written = out.read_bytes()
    assert written
    for data in (written, to_pipe.stdout):
        text = data.decode("utf-8")  # encodable: no lone surrogate
        for raw in ("\x1b]", "\x1b[2J", "\x07", "\x9b", "\x01", "\u202e", "\ud800"):
            assert raw not in text
    if output_format in ("markdown", "html", "junit"):
        # the name is still shown, its control characters as visible escapes
        assert "owned\\x07\\x1b" in written.decode()
        assert "31m\\ud800\\u202e" in written.decode()
    if output_format == "text":  # a narrow column may cut the name short, never its markup
        assert "x/web[/]\\x1b]0;owned" in written.decode()
    if output_format == "junit":
        xml.dom.minidom.parseString(written)
    if output_format in ("json", "sarif"):
        json.loads(written)


def test_a_failing_check_costs_its_findings_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in one check (here a check that raises) is an internal-error problem (exit 2) and
    every other check's findings are still reported."""
    from pullguard.checks.base import REGISTRY, Check, CheckInfo, Severity
    from pullguard.scan import ScanOptions, scan_paths

    def broken(_resolution: object) -> list[object]:
        raise KeyError("bug")

    info = CheckInfo("PG999", "broken", Severity.LOW, "", "", ())
    monkeypatch.setitem(REGISTRY, "PG999", Check(info, broken))  # type: ignore[arg-type]
    (tmp_path / "pod.yaml").write_text(UNCOVERED_POD)
    result = scan_paths([str(tmp_path)], ScanOptions(private_patterns=("*.corp.example",)))
    assert [f.check_id for f in result.findings] == ["PG001"]
    assert [(p.code, p.level.value) for p in result.problems] == [("internal-error", "error")]
    assert "PG999" in result.problems[0].message and result.summary.input_errors == 1


def test_a_control_character_the_fast_reader_takes_is_an_input_problem(tmp_path: Path) -> None:
    """Found by `make fuzz` (scan_text): NUL bytes in a key. The fast reader took the document,
    libyaml (asked for one value's YAML 1.1 reading) refused it: an internal error until then.
    Now neither reader takes it (kubectl's YAML reader refuses control characters too): the
    document is refused at the NUL's line."""
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: mirror-sync, namespace: ops}\nspec:\n"
        "  template:\n    spec:\n      imagePullSecrets:\n      - n\x00\x00\x14ame: mirror\n"
        "      containers:\n      - name: c\n        image: reg.corp.example/ops/sync:1\n"
    )
    code, report = _scan_dir(tmp_path, {"a.yaml": UNCOVERED_POD, "b.yaml": deployment})
    assert "fine" in {f["object"]["name"] for f in report["findings"]}
    assert [
        (p["code"], p["location"]["file"][-6:], p["location"]["line"]) for p in report["inputProblems"]
    ] == [("yaml-syntax", "b.yaml", 8)]
    assert "NUL character" in report["inputProblems"][0]["message"] and code == 2


def test_a_closed_standard_output_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """`pullguard scan . >&-`: the report has nowhere to go; say so and exit 2. With -o the scan
    needs no standard output at all."""
    examples = shlex.quote(str(Path(__file__).resolve().parents[2] / "examples"))
    run = f"{shlex.quote(sys.executable)} -m pullguard scan {examples}"
    closed = subprocess.run(["bash", "-c", f"{run} >&-"], capture_output=True, text=True, timeout=120)
    assert closed.returncode == 2
    assert closed.stderr.strip() == "pullguard: standard output is closed: give -o FILE for the report"
    report = tmp_path / "r.json"
    written = subprocess.run(
        ["bash", "-c", f"{run} -o {shlex.quote(str(report))} >&-"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert written.returncode == 1, written.stderr
    assert report.read_text().startswith("{")
