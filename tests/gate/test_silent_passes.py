"""Nothing judged is not a pass: no objects, or images that are un-rendered templates, exit 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gate_support import run

QUOTED_TEMPLATE = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: web
    image: "{{ .Values.image.repository }}:{{ .Values.tag }}"
"""


def test_directory_without_kubernetes_objects_exits_2(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("replicaCount: 1\nimage: {repository: nginx}\n")
    done = run("scan", str(tmp_path))
    assert done.returncode == 2, done.stdout
    assert "no Kubernetes object found" in done.stdout
    assert run("scan", str(tmp_path), "--allow-input-errors").returncode == 0  # the opt-out


def test_empty_file_and_empty_stdin_point_at_the_input_not_at_document_0(tmp_path: Path) -> None:
    """An empty input has no document: its problem names the file alone, as other whole-file problems
    (a FIFO in a directory) do, never "document 0, line 0"; JSON keeps document 0 (the whole file)."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    fifo = tmp_path / "dir" / "pipe.yaml"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    for args, where in (
        ((str(empty),), str(empty)),
        (("-",), "-"),
        ((str(fifo.parent),), str(fifo)),
    ):
        done = run("scan", *args, stdin="")
        assert done.returncode == 2, done.stdout + done.stderr
        assert "document 0" not in done.stdout and "line 0" not in done.stdout, done.stdout
        problems = [line for line in done.stdout.splitlines() if ": error: " in line]
        assert problems and all(line.startswith(f"{where}: error: ") for line in problems), problems
    (problem,) = json.loads(run("scan", str(empty), "-f", "json").stdout)["inputProblems"]
    assert problem["code"] == "no-objects"
    assert problem["location"] == {"file": str(empty), "document": 0, "line": 0}


def test_empty_directory_exits_2_in_json_too(tmp_path: Path) -> None:
    done = run("scan", str(tmp_path), "-f", "json")
    assert done.returncode == 2
    assert '"no-objects"' in done.stdout


def test_quoted_template_image_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(QUOTED_TEMPLATE)
    done = run("scan", str(path))
    assert done.returncode == 2, done.stdout
    assert f"{path}: document 1, line 7: error: Pod shop/web: container 'web'" in done.stdout
    assert run("scan", str(path), "--allow-input-errors").returncode == 0


def test_unquoted_template_is_still_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(
        QUOTED_TEMPLATE.replace('"{{ .Values.image.repository }}:{{ .Values.tag }}"', "{{ .Values.image }}")
    )
    assert run("scan", str(path)).returncode == 2
