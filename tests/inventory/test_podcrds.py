"""Pod-producing custom resources (tests/fixtures/podcrds): Argo Workflows, Tekton and Knative are
analysed in the pod shape their controllers document; every other resource carrying images or
imagePullSecrets under spec is listed as not analysed, with the field paths."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.inventory.build import InventoryBuilder
from pullguard.inventory.model import ImageField, ObjectRef, PodTemplate
from pullguard.inventory.podcrds import image_fields
from pullguard.inventory.resolve import Coverage
from pullguard.scan import ScanOptions, ScanResult, scan_paths
from pullguard.sources.model import Location, Manifest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "podcrds"


def _scan(path: Path) -> ScanResult:
    result = scan_paths([str(path)], ScanOptions())
    assert result.problems == []
    return result


def _templates(result: ScanResult) -> dict[tuple[str, str], PodTemplate]:
    return {(t.owner.kind, t.service_account): t for t in result.inventory.pod_templates}


def _images(template: PodTemplate) -> list[tuple[str, str]]:
    return [(use.name, use.image) for use in template.images]


def test_argo_workflows() -> None:
    result = _scan(FIXTURES / "analysed" / "argo.yaml")
    templates = _templates(result)
    assert set(templates) == {
        ("Workflow", "builder"),
        ("Workflow", "publisher"),
        ("CronWorkflow", "default"),
        ("WorkflowTemplate", "default"),
    }
    builder = templates[("Workflow", "builder")]
    assert builder.owner == ObjectRef("Workflow", "ci", "nightly-build")
    assert builder.pull_secrets == ("ci-registry",)
    assert _images(builder) == [
        ("compile/main", "registry.ci.example/tools/compiler:12"),
        ("compile/cache", "registry.ci.example/tools/cache:3"),
        ("lint/main", "python:3.12"),
    ]
    publisher = templates[("Workflow", "publisher")]
    assert publisher.pull_secrets == ("ci-registry",)  # the workflow's secrets go to every pod
    assert _images(publisher) == [("publish/push", "registry.ci.example/tools/pusher:1")]
    cleanup = templates[("CronWorkflow", "default")]
    assert not cleanup.declares_pull_secrets
    judged = {j.use.image: j for j in result.resolution.images}
    assert judged["registry.ci.example/tools/sweeper:2"].coverage is Coverage.SERVICE_ACCOUNT
    assert judged["registry.ci.example/tools/compiler:12"].coverage is Coverage.POD
    pg002 = [f for f in result.findings if f.check_id == "PG002"]
    assert [(f.object, "'missing-secret'" in f.message) for f in pg002] == [
        (ObjectRef("WorkflowTemplate", "ci", "report"), True)
    ]
    assert [f.image for f in result.findings if f.check_id == "PG001"] == [
        "registry.ci.example/tools/report:4"
    ]


def test_tekton() -> None:
    result = _scan(FIXTURES / "analysed" / "tekton.yaml")
    templates = {t.owner.kind: t for t in result.inventory.pod_templates}
    task = templates["Task"]
    assert (task.service_account, task.pull_secrets, task.declares_pull_secrets) == ("default", (), False)
    assert _images(task) == [
        ("step-fetch", "alpine/git:2.45.2"),
        ("step-test", "registry.ci.example/tools/base:1"),  # from the stepTemplate
        ("sidecar-db", "postgres:16"),
    ]
    assert _images(templates["Pipeline"]) == [
        ("package/step-pack", "registry.ci.example/tools/packer:5"),
        ("notify/step-send", "curlimages/curl:8.8.0"),
    ]  # the taskRef task is judged where the Task is defined
    run = templates["TaskRun"]
    assert (run.service_account, run.pull_secrets) == ("runner", ("ci-registry",))
    pipeline_run = templates["PipelineRun"]
    assert (pipeline_run.service_account, pipeline_run.pull_secrets) == ("releaser", ("release-registry",))
    assert all(u.field is ImageField.CONTAINER for t in templates.values() for u in t.images)


def test_knative_service_is_a_pod_template_and_the_core_service_is_not() -> None:
    result = _scan(FIXTURES / "analysed" / "knative.yaml")
    (template,) = result.inventory.pod_templates
    assert template.owner == ObjectRef("Service", "web", "hello")
    assert (template.service_account, template.pull_secrets) == ("hello-runner", ("web-registry",))
    assert _images(template) == [("", "registry.web.example/web/hello:3")]
    assert result.inventory.unanalysed == []


def test_other_resources_are_listed_with_their_fields() -> None:
    result = _scan(FIXTURES / "not_analysed" / "others.yaml")
    assert result.inventory.pod_templates == []
    listed = {u.ref.kind: u.fields for u in result.inventory.unanalysed}
    assert listed == {
        "RayCluster": (
            "spec.headGroupSpec.template.spec.imagePullSecrets",
            "spec.headGroupSpec.template.spec.containers[0].image",
        ),
        "Alertmanager": ("spec.image", "spec.imagePullSecrets"),
        "ClusterWorkflowTemplate": ("spec.templates[0].container.image",),  # no namespace of its own
    }
    assert result.summary.unanalysed_workloads == 3


def test_wrong_field_type_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: w\nspec:\n"
        "  templates:\n  - name: a\n    container: [not, a, mapping]\n"
    )
    result = scan_paths([str(path)], ScanOptions())
    (problem,) = result.problems
    assert (problem.code, problem.message) == (
        "wrong-type",
        "Workflow w: 'spec.templates[0].container' must be a mapping",
    )


# -- any body: an input problem at worst, never an exception ----------------------------------


_KEYS = st.sampled_from(
    ["spec", "templates", "container", "script", "containerSet", "containers", "sidecars", "initContainers",
     "steps", "stepTemplate", "taskSpec", "pipelineSpec", "tasks", "finally", "podTemplate", "taskRunTemplate",
     "workflowSpec", "imagePullSecrets", "serviceAccountName", "image", "name", "ref", "template"]
)  # fmt: skip
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(["", "nginx", "$(params.x)", "{{ x }}", "a b"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=25,
)
_KINDS = st.sampled_from(
    [("argoproj.io/v1alpha1", k) for k in ("Workflow", "WorkflowTemplate", "CronWorkflow")]
    + [("tekton.dev/v1", k) for k in ("Task", "Pipeline", "TaskRun", "PipelineRun")]
    + [("example.com/v1", "Anything")]
)


@settings(max_examples=300, deadline=None)
@given(kind=_KINDS, spec=_VALUES)
def test_any_body_gives_templates_or_a_problem(kind: tuple[str, str], spec: object) -> None:
    body = {"apiVersion": kind[0], "kind": kind[1], "metadata": {"name": "x"}, "spec": spec}
    builder = InventoryBuilder()
    inventory = builder.add_all([Manifest(kind[0], kind[1], "x", "ns", body, Location("f.yaml", 1, 1))])
    assert all(p.code in ("wrong-type", "ignored-field") for p in inventory.problems)
    assert len(list(image_fields(body))) <= 20
