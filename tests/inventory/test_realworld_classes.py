"""Real-world verdict classes (bare names, ignored reference fields, missing pod templates,
wording of grouped problems and counts), each on a fixture of tests/fixtures/input."""

from __future__ import annotations

import io
import json
from pathlib import Path

from pullguard.report import html, json_report, text
from pullguard.scan import ScanOptions, ScanResult, scan_paths
from pullguard.sources.model import Level

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "input"


def _scan(*names: str) -> ScanResult:
    return scan_paths([str(FIXTURES / n) for n in names], ScanOptions())


def _text(result: ScanResult, **options: bool) -> str:
    out = io.StringIO()
    text.render(result, out, color=False, **options)
    return out.getvalue()


def test_bare_names_are_placeholders_not_invalid() -> None:
    result = _scan("bare_names.yaml")
    summary = result.summary
    assert (summary.invalid_references, summary.placeholder_references, summary.public_images) == (1, 2, 1)
    uses = {j.use.image: j.use for j in result.resolution.images}
    assert uses["myapp:latest"].placeholder and uses["fred"].placeholder
    assert "the kubelet would pull docker.io/library/myapp" in (uses["myapp:latest"].problem or "")
    assert "invalid" not in (uses["fred"].problem or "")
    assert not uses["redis:7"].placeholder and uses["redis:7"].ref is not None
    assert not uses["Bad_Name"].placeholder and uses["Bad_Name"].ref is None
    report = json.loads(json_report.render(result))
    assert report["summary"]["invalidReferences"] == 1
    assert report["summary"]["placeholderReferences"] == 2
    by_image = {i["image"]: i for i in report["images"]}
    assert by_image["fred"]["invalid"] is None and "build-time placeholder" in by_image["fred"]["placeholder"]
    assert by_image["Bad_Name"]["invalid"] and by_image["Bad_Name"]["placeholder"] is None
    assert "1 invalid, 2 build-time placeholders, 0 unresolved" in _text(result)


def test_ignored_namespace_in_pull_secret_reference_is_a_warning() -> None:
    result = _scan("reference_with_namespace.yaml")
    warnings = [p for p in result.problems if p.code == "ignored-field"]
    assert [(p.level, p.location.document) for p in warnings] == [(Level.WARNING, 1), (Level.WARNING, 2)]
    assert "'imagePullSecrets[0].namespace' is ignored" in warnings[0].message
    assert "'spec.template.spec.imagePullSecrets[0].namespace' is ignored" in warnings[1].message
    assert "pod's own namespace ('web')" in warnings[1].message
    # the reference still counts, by name, in the pod's namespace
    (pod,) = result.resolution.pods
    assert pod.template.pull_secrets == ("shared-registry",)


def test_name_only_references_give_no_warning() -> None:
    assert _scan("reference_name_only.yaml").problems == []


def test_missing_pod_template_has_code_missing() -> None:
    (problem,) = _scan("missing_template.yaml").problems
    assert problem.code == "missing"
    assert problem.message == "Deployment api: 'spec.template' is missing (a pod template needs it)"


def test_identical_problems_are_grouped_with_count_and_files(tmp_path: Path) -> None:
    for index in range(3):
        (tmp_path / f"t{index}.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.other }}\n"
        )
    result = scan_paths([str(tmp_path)], ScanOptions())
    templates = [p for p in result.problems if p.code == "template"]
    assert len(templates) == 6 and len({p.message for p in templates}) == 1
    report = _text(result)
    assert report.count("un-rendered template") == 1
    flat = " ".join(report.split())
    assert f"6 x error: {templates[0].message} (3 files: {tmp_path}/t0.yaml, {tmp_path}/t1.yaml, " in flat
    page = html.render(result)
    assert page.count("un-rendered template") == 1 and "error &times; 6" in page
    assert len(json.loads(json_report.render(result))["inputProblems"]) == 6  # JSON keeps every one


def test_counts_are_worded_in_singular_and_plural() -> None:
    report = _text(_scan("missing_template.yaml"))
    assert "1 file, 1 document, 1 object, 0 pod templates, 0 images" in report
    assert "Input problems: 1 error, 0 warnings" in report
    report = _text(_scan("reference_name_only.yaml"))
    assert "1 pod template, 1 image (" in report
    assert "1 image is on registries not known" in report
