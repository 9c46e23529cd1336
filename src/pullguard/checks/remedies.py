"""Exact fix commands for findings. Placeholders are in <angle brackets>; no secret is ever filled in."""

from __future__ import annotations

import json

from pullguard.inventory.model import ObjectRef
from pullguard.text_safety import shell_word as q

# the kubectl resource of each workload kind, and where its pod spec lives (the fix plan uses them too)
WORKLOAD_RESOURCES = {
    "Pod": "pod",
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "ReplicaSet": "replicaset",
    "ReplicationController": "replicationcontroller",
    "Job": "job",
    "CronJob": "cronjob",
    "PodTemplate": "podtemplate",
}
TEMPLATE_PATHS = {
    "Pod": (),
    "PodTemplate": ("template",),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def create_pull_secret(name: str, namespace: str, server: str) -> str:
    """Create a dockerconfigjson secret without putting the password on the command line."""
    name, namespace = q(name), q(namespace)
    if server != "<registry>":
        server = q(server)
    return (
        f"kubectl create secret docker-registry {name} --namespace {namespace} \\\n"
        f"  --docker-server={server} --docker-username=<username> \\\n"
        f'  --docker-password="$(cat <password-file>)"'
        f"   # or: kubectl create secret generic {name} -n {namespace} "
        f"--type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=<config.json>"
    )


def attach_to_service_account(secret: str, account: str, namespace: str) -> str:
    """Append with a JSON patch: ServiceAccount.imagePullSecrets has no patch merge key, so a
    strategic-merge patch would replace the list and detach the other pull secrets."""
    from pullguard.remediation.plan import patch_service_account

    return patch_service_account(account, namespace, [secret], None)


# Custom resources whose pods get their pull secrets from another field (inventory/podcrds.py)
_CUSTOM_PULL_SECRET_FIELDS = {
    "Workflow": "spec.imagePullSecrets",
    "WorkflowTemplate": "spec.imagePullSecrets",
    "CronWorkflow": "spec.workflowSpec.imagePullSecrets",
    "Task": "podTemplate.imagePullSecrets of the TaskRun or PipelineRun that runs it",
    "Pipeline": "podTemplate.imagePullSecrets of the PipelineRun that runs it",
    "TaskRun": "spec.podTemplate.imagePullSecrets",
    "PipelineRun": "spec.taskRunTemplate.podTemplate.imagePullSecrets",
    "Service": "spec.template.spec.imagePullSecrets",  # Knative
    "Configuration": "spec.template.spec.imagePullSecrets",
    "Revision": "spec.imagePullSecrets",
}


def attach_to_workload(secret: str, owner: ObjectRef) -> str:
    """A strategic-merge patch: pod-level imagePullSecrets merge by name."""
    if owner.kind in _CUSTOM_PULL_SECRET_FIELDS:
        return f"add `- name: {secret}` to {_CUSTOM_PULL_SECRET_FIELDS[owner.kind]} of {owner}"
    path = TEMPLATE_PATHS.get(owner.kind, ("spec", "template"))
    patch: dict[str, object] = {"imagePullSecrets": [{"name": secret}]}
    body: dict[str, object] = {"spec": patch}
    for step in reversed(path):
        body = {step: body}
    resource = WORKLOAD_RESOURCES.get(owner.kind, owner.kind.lower())
    if owner.kind == "Pod":  # a running pod's spec is immutable: change the manifest and recreate it
        return f"add to the Pod manifest and recreate it:\n{yaml_pull_secrets(secret)}"
    return f"kubectl patch {q(resource)} {q(owner.name)} --namespace {q(owner.namespace or 'default')} -p {q(json.dumps(body))}"


def yaml_pull_secrets(secret: str) -> str:
    return f"spec:\n  imagePullSecrets:\n  - name: {secret}"
