"""Nothing judged is not a pass: no objects, or images that are un-rendered templates, exit 2."""

from __future__ import annotations

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
