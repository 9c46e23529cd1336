"""Custom resources whose controllers create pods in a documented shape (Argo Workflows, Tekton).

Only navigation lives here: where the containers, the pull secrets and the ServiceAccount of the
pods sit in each resource. `build.py` reads the fields (with their types checked) into pod
templates. What each controller does, from its documentation:

* **Argo Workflows** (`argoproj.io`): `Workflow` and `WorkflowTemplate` carry a `WorkflowSpec` in
  `spec`, `CronWorkflow` in `spec.workflowSpec`. Each template with a `container`, a `script`, a
  `containerSet` (plus its `initContainers` and `sidecars`) runs as a pod in the workflow's
  namespace; `spec.imagePullSecrets` is "carried forward to all pods of the workflow", and a pod
  runs as the template's `serviceAccountName`, else the spec's, else `default`. The executor
  image (argoexec) Argo adds to each pod is not in the manifest and not judged.
  `ClusterWorkflowTemplate` has no namespace of its own: listed as not analysed.
* **Tekton Pipelines** (`tekton.dev`): a `Task` (`spec.steps`, `spec.sidecars`) and the inline
  `taskSpec` of a `Pipeline`'s `tasks`/`finally` run, one pod per task run, as the run's
  ServiceAccount (Tekton's `default-service-account`, `default` unless configured) with the
  run's `podTemplate.imagePullSecrets`; a `TaskRun` / `PipelineRun` with an inline spec gives
  both (`spec.serviceAccountName`, `spec.podTemplate`; v1 PipelineRuns in `spec.taskRunTemplate`).
  Pod containers are named `step-NAME` and `sidecar-NAME`, as Tekton names them; an image
  written with a parameter (`$(params.image)`) is unresolved until the run, and a step that
  references a `StepAction` (`ref`) takes its image from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pullguard.inventory.model import ImageField


class ShapeError(Exception):
    """A field of the wrong type on the way to the containers."""

    def __init__(self, path: str, expected: str) -> None:
        super().__init__(path, expected)
        self.path, self.expected = path, expected


@dataclass(frozen=True, slots=True)
class Slot:
    """One container of the pods: its field, the name the pod gives it, and where it is written."""

    field: ImageField
    name: str
    path: str
    container: Mapping[str, Any]
    # the controller substitutes `$(params.x)` in the image before the pod exists (Tekton)
    substitutes: bool = False


@dataclass(slots=True)
class PodShape:
    """The pods one resource produces with the same credentials (same ServiceAccount)."""

    path: str  # where the pod-level fields are, for messages and the line number
    node: Mapping[str, Any]
    service_account: str | None  # as written, None when the controller's default applies
    service_account_path: str
    pull_secrets: Any  # the imagePullSecrets list as written (None when absent)
    pull_secrets_path: str
    automount_token: Any = None
    slots: list[Slot] = field(default_factory=list)


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    raise ShapeError(path, "a mapping")


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise ShapeError(path, "a list")


def _name(value: Any, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise ShapeError(path, "a string")


# -- Argo Workflows -----------------------------------------------------------------------------


def _argo_template_slots(template: Mapping[str, Any], where: str) -> list[Slot]:
    label = _name(template.get("name"), f"{where}.name") or where.rsplit(".", 1)[-1]
    slots: list[Slot] = []
    for key in ("container", "script"):
        if template.get(key) is not None:
            container = _mapping(template[key], f"{where}.{key}")
            name = _name(container.get("name"), f"{where}.{key}.name") or "main"
            slots.append(Slot(ImageField.CONTAINER, f"{label}/{name}", f"{where}.{key}", container))
    container_set = _mapping(template.get("containerSet"), f"{where}.containerSet")
    for index, item in enumerate(_list(container_set.get("containers"), f"{where}.containerSet.containers")):
        path = f"{where}.containerSet.containers[{index}]"
        container = _mapping(item, path)
        name = _name(container.get("name"), f"{path}.name") or str(index)
        slots.append(Slot(ImageField.CONTAINER, f"{label}/{name}", path, container))
    if not slots:
        return []  # steps, dag, resource, suspend, http: no pod of the workflow's images
    for key, image_field in (
        ("initContainers", ImageField.INIT_CONTAINER),
        ("sidecars", ImageField.CONTAINER),
    ):
        for index, item in enumerate(_list(template.get(key), f"{where}.{key}")):
            path = f"{where}.{key}[{index}]"
            container = _mapping(item, path)
            name = _name(container.get("name"), f"{path}.name") or str(index)
            slots.append(Slot(image_field, f"{label}/{name}", path, container))
    return slots


def _argo(body: Mapping[str, Any], spec_path: str) -> list[PodShape]:
    spec: Any = body
    for step in spec_path.split("."):
        spec = _mapping(spec, spec_path).get(step)
    spec = _mapping(spec, spec_path)
    shapes: dict[str | None, PodShape] = {}
    default_account = _name(spec.get("serviceAccountName"), f"{spec_path}.serviceAccountName") or None
    for index, item in enumerate(_list(spec.get("templates"), f"{spec_path}.templates")):
        where = f"{spec_path}.templates[{index}]"
        template = _mapping(item, where)
        slots = _argo_template_slots(template, where)
        if not slots:
            continue
        account = _name(template.get("serviceAccountName"), f"{where}.serviceAccountName") or default_account
        shape = shapes.get(account)
        if shape is None:
            shape = shapes[account] = PodShape(
                spec_path,
                spec,
                account,
                f"{where}.serviceAccountName"
                if account != default_account
                else f"{spec_path}.serviceAccountName",
                spec.get("imagePullSecrets"),
                f"{spec_path}.imagePullSecrets",
                spec.get("automountServiceAccountToken"),
            )
        shape.slots.extend(slots)
    return list(shapes.values())


# -- Tekton Pipelines ---------------------------------------------------------------------------


def _tekton_task_slots(task: Mapping[str, Any], where: str, label: str | None = None) -> list[Slot]:
    slots: list[Slot] = []
    step_template = _mapping(task.get("stepTemplate"), f"{where}.stepTemplate")
    default_image = step_template.get("image")
    for key, prefix in (("steps", "step"), ("sidecars", "sidecar")):
        for index, item in enumerate(_list(task.get(key), f"{where}.{key}")):
            path = f"{where}.{key}[{index}]"
            container = _mapping(item, path)
            if container.get("ref") is not None:
                continue  # a StepAction reference: its image is in the StepAction (listed as not analysed)
            if key == "steps" and container.get("image") is None and default_image is not None:
                container = {**container, "image": default_image}  # stepTemplate fills what a step leaves out
            name = f"{prefix}-{_name(container.get('name'), f'{path}.name') or f'unnamed-{index}'}"
            slot_name = f"{label}/{name}" if label else name
            slots.append(Slot(ImageField.CONTAINER, slot_name, path, container, substitutes=True))
    return slots


def _tekton_pipeline_slots(pipeline: Mapping[str, Any], where: str) -> list[Slot]:
    slots: list[Slot] = []
    for key in ("tasks", "finally"):
        for index, item in enumerate(_list(pipeline.get(key), f"{where}.{key}")):
            path = f"{where}.{key}[{index}]"
            task = _mapping(item, path)
            if task.get("taskSpec") is None:
                continue  # taskRef: the Task is analysed where it is defined
            label = _name(task.get("name"), f"{path}.name") or str(index)
            slots.extend(
                _tekton_task_slots(_mapping(task["taskSpec"], f"{path}.taskSpec"), f"{path}.taskSpec", label)
            )
    return slots


def _tekton_run(
    body: Mapping[str, Any], slots: Callable[[Mapping[str, Any]], list[Slot]], run_template: str | None
) -> list[PodShape]:
    spec = _mapping(body.get("spec"), "spec")
    found = slots(spec)
    if not found:
        return []
    holder, holder_path = spec, "spec"
    if run_template is not None and spec.get(run_template) is not None:  # v1 PipelineRun
        holder, holder_path = _mapping(spec[run_template], f"spec.{run_template}"), f"spec.{run_template}"
    pod_template = _mapping(holder.get("podTemplate"), f"{holder_path}.podTemplate")
    account = _name(holder.get("serviceAccountName"), f"{holder_path}.serviceAccountName") or None
    shape = PodShape(
        "spec",
        spec,
        account,
        f"{holder_path}.serviceAccountName",
        pod_template.get("imagePullSecrets"),
        f"{holder_path}.podTemplate.imagePullSecrets",
        pod_template.get("automountServiceAccountToken"),
        found,
    )
    return [shape]


def _tekton_definition(
    slots: Callable[[Mapping[str, Any]], list[Slot]],
) -> Callable[[Mapping[str, Any]], list[PodShape]]:
    def shapes(body: Mapping[str, Any]) -> list[PodShape]:
        spec = _mapping(body.get("spec"), "spec")
        found = slots(spec)
        return [PodShape("spec", spec, None, "spec", None, "spec", None, found)] if found else []

    return shapes


def _task_run_slots(spec: Mapping[str, Any]) -> list[Slot]:
    if spec.get("taskSpec") is None:
        return []
    return _tekton_task_slots(_mapping(spec["taskSpec"], "spec.taskSpec"), "spec.taskSpec")


def _pipeline_run_slots(spec: Mapping[str, Any]) -> list[Slot]:
    if spec.get("pipelineSpec") is None:
        return []
    return _tekton_pipeline_slots(_mapping(spec["pipelineSpec"], "spec.pipelineSpec"), "spec.pipelineSpec")


_SHAPES: dict[tuple[str, str], Callable[[Mapping[str, Any]], list[PodShape]]] = {
    ("argoproj.io", "Workflow"): lambda body: _argo(body, "spec"),
    ("argoproj.io", "WorkflowTemplate"): lambda body: _argo(body, "spec"),
    ("argoproj.io", "CronWorkflow"): lambda body: _argo(body, "spec.workflowSpec"),
    ("tekton.dev", "Task"): _tekton_definition(lambda spec: _tekton_task_slots(spec, "spec")),
    ("tekton.dev", "Pipeline"): _tekton_definition(lambda spec: _tekton_pipeline_slots(spec, "spec")),
    ("tekton.dev", "TaskRun"): lambda body: _tekton_run(body, _task_run_slots, None),
    ("tekton.dev", "PipelineRun"): lambda body: _tekton_run(body, _pipeline_run_slots, "taskRunTemplate"),
}


def pod_shapes(group: str, kind: str, body: Mapping[str, Any]) -> list[PodShape] | None:
    """The pods a known custom resource produces; None for a kind this module does not know."""
    reader = _SHAPES.get((group, kind))
    return None if reader is None else reader(body)


def known(group: str, kind: str) -> bool:
    return (group, kind) in _SHAPES


def image_fields(body: Mapping[str, Any], limit: int = 20) -> Iterator[str]:
    """Field paths under `spec` that carry a container image or imagePullSecrets, at most `limit`."""
    found = 0
    stack: list[tuple[str, Any]] = [("spec", body.get("spec"))]
    seen: set[int] = set()
    while stack and found < limit:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Mapping):
            children: list[tuple[str, Any]] = []
            for key, value in node.items():
                child = f"{path}.{key}"
                carries = key == "image" and isinstance(value, str) and bool(value)
                if carries or (key == "imagePullSecrets" and bool(value)):
                    found += 1
                    yield child
                    if found >= limit:
                        return
                elif isinstance(value, Mapping | list):
                    children.append((child, value))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(
                reversed([(f"{path}[{i}]", v) for i, v in enumerate(node) if isinstance(v, Mapping | list)])
            )
