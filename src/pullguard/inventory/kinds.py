"""Which kinds carry what, by API group: the inventory's map of Kubernetes."""

from __future__ import annotations

# Where the pod spec sits in each built-in workload kind, and the API groups
# that kind really lives in (a custom resource named "Deployment" is not one).
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    # Knative Serving: a Service or Configuration holds a revision template whose spec is a pod spec
    # (containers, imagePullSecrets, serviceAccountName, volumes); a Revision's spec is one.
    "Service": ("spec", "template", "spec"),
    "Configuration": ("spec", "template", "spec"),
    "Revision": ("spec",),
}
WORKLOAD_GROUPS: dict[str, frozenset[str]] = {
    "Pod": frozenset({""}),
    "PodTemplate": frozenset({""}),
    "ReplicationController": frozenset({""}),
    "Deployment": frozenset({"apps", "extensions"}),
    "StatefulSet": frozenset({"apps"}),
    "DaemonSet": frozenset({"apps", "extensions"}),
    "ReplicaSet": frozenset({"apps", "extensions"}),
    "Job": frozenset({"batch"}),
    "CronJob": frozenset({"batch"}),
    "Service": frozenset({"serving.knative.dev"}),  # the core Service (group "") holds no pods
    "Configuration": frozenset({"serving.knative.dev"}),
    "Revision": frozenset({"serving.knative.dev"}),
}

# Built-in kinds that hold no pod spec, pull secret, identity or security
# configuration: the source identifies them and does not build their bodies.
_NOTHING_TO_ANALYSE: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "ConfigMap",
            "Service",
            "Endpoints",
            "Event",
            "LimitRange",
            "ResourceQuota",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "ComponentStatus",
            "Binding",
        }
    ),
    "apiextensions.k8s.io": frozenset({"CustomResourceDefinition"}),
    "apiregistration.k8s.io": frozenset({"APIService"}),
    "admissionregistration.k8s.io": frozenset(
        {
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "MutatingAdmissionPolicy",
            "MutatingAdmissionPolicyBinding",
        }
    ),
    "apps": frozenset({"ControllerRevision"}),
    "autoscaling": frozenset({"HorizontalPodAutoscaler"}),
    "policy": frozenset({"PodDisruptionBudget", "PodSecurityPolicy"}),
    "networking.k8s.io": frozenset({"Ingress", "IngressClass", "NetworkPolicy", "IPAddress", "ServiceCIDR"}),
    "extensions": frozenset({"Ingress", "NetworkPolicy", "PodSecurityPolicy"}),
    "discovery.k8s.io": frozenset({"EndpointSlice"}),
    "storage.k8s.io": frozenset(
        {
            "StorageClass",
            "CSIDriver",
            "CSINode",
            "VolumeAttachment",
            "CSIStorageCapacity",
            "VolumeAttributesClass",
        }
    ),
    "scheduling.k8s.io": frozenset({"PriorityClass"}),
    "node.k8s.io": frozenset({"RuntimeClass"}),
    "coordination.k8s.io": frozenset({"Lease"}),
    "events.k8s.io": frozenset({"Event"}),
    "certificates.k8s.io": frozenset({"CertificateSigningRequest", "ClusterTrustBundle"}),
    "flowcontrol.apiserver.k8s.io": frozenset({"FlowSchema", "PriorityLevelConfiguration"}),
    "monitoring.coreos.com": frozenset({"PrometheusRule", "ServiceMonitor", "PodMonitor", "Probe"}),
}


def api_group(api_version: str) -> str:
    """`apps/v1` -> `apps`; `v1` -> `` (the core group)."""
    group, _, version = api_version.rpartition("/")
    return group if version else api_version


def is_workload(api_version: str, kind: str) -> bool:
    groups = WORKLOAD_GROUPS.get(kind)
    return groups is not None and api_group(api_version) in groups


def needs_body(api_version: str, kind: str) -> bool:
    """Whether the inventory needs the object's body (everything unknown is read)."""
    skipped = _NOTHING_TO_ANALYSE.get(api_group(api_version))
    return skipped is None or kind not in skipped
