"""RBAC objects as read: Roles, ClusterRoles, their bindings and subjects.

Plain records; who can read which secret is worked out in `access.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pullguard.inventory.model import ObjectRef
from pullguard.sources.model import Location
from pullguard.text_safety import shell_word as q

USER, GROUP, SERVICE_ACCOUNT = "User", "Group", "ServiceAccount"


@dataclass(frozen=True, slots=True)
class PolicyRule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A metav1.LabelSelector: every matchLabels pair and every expression must hold."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if not self.match_labels and not self.match_expressions:
            return False  # an empty clusterRoleSelector selects nothing
        if any(labels.get(k) != v for k, v in self.match_labels):
            return False
        for req in self.match_expressions:
            present = req.key in labels
            if req.operator == "In" and not (present and labels[req.key] in req.values):
                return False
            if req.operator == "NotIn" and present and labels[req.key] in req.values:
                return False
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Role:
    """A Role (namespaced) or ClusterRole (`ref.namespace` is None)."""

    ref: ObjectRef
    location: Location
    rules: tuple[PolicyRule, ...]
    labels: tuple[tuple[str, str], ...] = ()
    # aggregationRule.clusterRoleSelectors; None when the ClusterRole is not aggregated
    aggregation: tuple[LabelSelector, ...] | None = None
    builtin: bool = False  # a bootstrap ClusterRole pullguard knows, not read from the input


@dataclass(frozen=True, slots=True, order=True)
class Subject:
    kind: str  # User, Group or ServiceAccount
    name: str
    namespace: str | None = None  # ServiceAccounts only

    def __str__(self) -> str:
        if self.kind == SERVICE_ACCOUNT:
            return f"ServiceAccount {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"

    @property
    def note(self) -> str | None:
        """What a well-known group stands for."""
        if self.kind != GROUP:
            return None
        if self.name == "system:masters":
            return "cluster administrators; bypasses RBAC"
        if self.name == "system:authenticated":
            return "every authenticated user and ServiceAccount"
        if self.name == "system:unauthenticated":
            return "anonymous requests"
        if self.name == "system:serviceaccounts":
            return "every ServiceAccount in the cluster"
        if self.name.startswith("system:serviceaccounts:"):
            return f"every ServiceAccount in namespace {self.name.removeprefix('system:serviceaccounts:')}"
        return None

    @property
    def as_user(self) -> str:
        """The `--as`/`--as-group` flags that impersonate this subject for `kubectl auth can-i`."""
        if self.kind == SERVICE_ACCOUNT:
            return f"--as {q(f'system:serviceaccount:{self.namespace}:{self.name}')}"
        if self.kind == GROUP:
            return f"--as nobody --as-group {q(self.name)}"
        return f"--as {q(self.name)}"


@dataclass(frozen=True, slots=True)
class RoleBinding:
    """A RoleBinding (`ref.namespace` set) or ClusterRoleBinding."""

    ref: ObjectRef
    location: Location
    role_kind: str  # Role or ClusterRole
    role_name: str
    subjects: tuple[Subject, ...]
