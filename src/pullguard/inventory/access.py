"""Who can read each pull secret, by the RBAC objects in the input (SEMANTICS §9).

A subject reads a secret when a rule of a role bound to it allows `get`, `list`
or `watch` (or `*`) on `secrets` (or `*`) in API group `""` (or `*`):
- a Role, bound by a RoleBinding in its own namespace;
- a ClusterRole, bound by a RoleBinding (only in that binding's namespace) or
  by a ClusterRoleBinding (in every namespace);
- an aggregated ClusterRole holds the rules of every ClusterRole its
  `aggregationRule.clusterRoleSelectors` select (transitively, as the
  aggregation controller keeps them);
- `resourceNames` limits a rule to the named secrets: `get` of those names, and
  `list`/`watch` only with a `metadata.name` field selector naming one of them
  (the RBAC authorizer compares the request's name, which a plain list has not).
The bootstrap ClusterRoles `cluster-admin`, `admin` and `edit` (and `view`, which
reads no secrets) are known when a binding names them and the input does not
define them. Built in O(roles + bindings + pull secrets × grants in their namespace).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pullguard.counts import plural
from pullguard.inventory.model import Inventory, ObjectRef
from pullguard.inventory.rbac import LabelSelector, PolicyRule, Role, RoleBinding, Subject
from pullguard.sources.model import Location

READ_VERBS = ("get", "list", "watch")
_AGG = "rbac.authorization.k8s.io/aggregate-to-"
_NOWHERE = Location("(built-in)", 0, 0)
_SECRETS_RW = PolicyRule(
    ("",),
    ("secrets",),
    ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
)
# The bootstrap roles as the API server creates them: edit and admin read and write
# secrets, view does not; view's rules aggregate into edit's, and edit's into admin's.
BUILTIN_CLUSTER_ROLES: dict[str, Role] = {
    "cluster-admin": Role(
        ObjectRef("ClusterRole", None, "cluster-admin"),
        _NOWHERE,
        (PolicyRule(("*",), ("*",), ("*",)), PolicyRule((), (), ("*",), (), ("*",))),
        builtin=True,
    ),
    "admin": Role(
        ObjectRef("ClusterRole", None, "admin"),
        _NOWHERE,
        (_SECRETS_RW,),
        aggregation=(LabelSelector(((_AGG + "admin", "true"),)),),
        builtin=True,
    ),
    "edit": Role(
        ObjectRef("ClusterRole", None, "edit"),
        _NOWHERE,
        (_SECRETS_RW,),
        labels=((_AGG + "admin", "true"),),
        aggregation=(LabelSelector(((_AGG + "edit", "true"),)),),
        builtin=True,
    ),
    "view": Role(
        ObjectRef("ClusterRole", None, "view"),
        _NOWHERE,
        (PolicyRule(("",), ("configmaps", "pods", "services"), READ_VERBS),),
        labels=((_AGG + "edit", "true"),),
        aggregation=(LabelSelector(((_AGG + "view", "true"),)),),
        builtin=True,
    ),
}


@dataclass(frozen=True, slots=True)
class SecretGrant:
    """What a role's rules allow on core secrets: read verbs for every secret, and per name."""

    verbs: frozenset[str]
    named: tuple[tuple[str, frozenset[str]], ...] = ()

    def verbs_for(self, name: str) -> tuple[frozenset[str], bool]:
        """(verbs on this secret, whether only through resourceNames)."""
        by_name = frozenset().union(*(v for n, v in self.named if n == name))
        return self.verbs | by_name, not self.verbs and bool(by_name)


@dataclass(frozen=True, slots=True)
class Grant:
    """One binding giving one role to one subject."""

    binding: ObjectRef
    role: ObjectRef
    builtin_role: bool
    cluster_wide: bool

    def __str__(self) -> str:
        scope = ", all namespaces" if self.cluster_wide else ""
        builtin = " (built-in)" if self.builtin_role else ""
        return f"{self.binding} → {self.role}{builtin}{scope}"


@dataclass(frozen=True, slots=True)
class SecretReader:
    """A subject that can read one secret, how, and through which bindings."""

    subject: Subject
    verbs: tuple[str, ...]  # in get, list, watch order
    grants: tuple[Grant, ...]
    by_name_only: bool  # every grant is limited by resourceNames to this secret

    @property
    def cluster_wide(self) -> bool:
        return any(g.cluster_wide for g in self.grants)

    def describe(self) -> str:
        note = f" [{self.subject.note}]" if self.subject.note else ""
        limit = ", by name only (resourceNames)" if self.by_name_only else ""
        via = "; ".join(str(g) for g in self.grants[:2])
        more = f"; and {plural(len(self.grants) - 2, 'more binding')}" if len(self.grants) > 2 else ""
        return f"{self.subject}{note} ({', '.join(self.verbs)}{limit}; via {via}{more})"


@dataclass(frozen=True, slots=True)
class SecretAccess:
    """Who can read each pull secret.

    `cluster_wide` readers (ClusterRoleBindings without resourceNames) read every
    secret: they are kept once, not repeated per secret, so a cluster with many
    such subjects and many secrets stays linear in memory and report size.
    `readers` holds what is particular to each secret.
    """

    readers: dict[tuple[str, str], tuple[SecretReader, ...]]
    # bindings whose role is neither in the input nor a known bootstrap role
    unresolved: tuple[RoleBinding, ...] = ()
    roles_with_secret_access: tuple[ObjectRef, ...] = field(default=())
    cluster_wide: tuple[SecretReader, ...] = ()
    # the subjects of `cluster_wide`, for `of`: derived, not compared
    _cluster_subjects: frozenset[Subject] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cluster_subjects", frozenset(r.subject for r in self.cluster_wide))

    def local(self, namespace: str, name: str) -> tuple[SecretReader, ...]:
        """The readers particular to this secret (namespace bindings, named grants)."""
        return self.readers.get((namespace, name), ())

    def of(self, namespace: str, name: str) -> tuple[SecretReader, ...]:
        """Every reader of this secret: its own, then the cluster-wide ones not already named."""
        local = self.local(namespace, name)
        if not local:  # the common case: the cluster-wide readers as they are
            return self.cluster_wide
        named = {reader.subject for reader in local}
        if named.isdisjoint(self._cluster_subjects):  # none named twice: every cluster-wide reader
            return local + self.cluster_wide
        return local + tuple(r for r in self.cluster_wide if r.subject not in named)

    def has_readers(self, namespace: str, name: str) -> bool:
        return bool(self.cluster_wide) or (namespace, name) in self.readers


def secret_grant(rules: tuple[PolicyRule, ...]) -> SecretGrant | None:
    verbs: set[str] = set()
    named: dict[str, set[str]] = defaultdict(set)
    for rule in rules:
        if not rule.resources or not ({"", "*"} & set(rule.api_groups)):
            continue
        if not ({"secrets", "*"} & set(rule.resources)):
            continue
        allowed = set(READ_VERBS) if "*" in rule.verbs else set(rule.verbs) & set(READ_VERBS)
        if not allowed:
            continue
        if rule.resource_names:
            for name in rule.resource_names:
                named[name] |= allowed
        else:
            verbs |= allowed
    if not verbs and not named:
        return None
    return SecretGrant(frozenset(verbs), tuple((n, frozenset(v)) for n, v in sorted(named.items())))


def cluster_role_rules(inventory: Inventory) -> dict[str, tuple[Role, tuple[PolicyRule, ...]]]:
    """Every ClusterRole (the input's, then the bootstrap ones it does not redefine) with its
    effective rules: its own plus, when aggregated, those of every ClusterRole it selects."""
    roles = {**BUILTIN_CLUSTER_ROLES, **inventory.cluster_roles}
    labels = {name: dict(role.labels) for name, role in roles.items()}
    done: dict[str, tuple[PolicyRule, ...]] = {}

    def rules_of(name: str, visiting: frozenset[str]) -> tuple[PolicyRule, ...]:
        if name in done:
            return done[name]
        role = roles[name]
        rules = list(role.rules)
        if role.aggregation:
            for other in sorted(roles):
                if other == name or other in visiting:
                    continue
                if any(selector.matches(labels[other]) for selector in role.aggregation):
                    rules.extend(rules_of(other, visiting | {name}))
        done[name] = tuple(rules)
        return done[name]

    return {name: (role, rules_of(name, frozenset())) for name, role in roles.items()}


def _readers_of(entries: Iterable[tuple[Subject, SecretGrant, Grant]], name: str) -> tuple[SecretReader, ...]:
    merged: dict[Subject, tuple[set[str], dict[Grant, None], bool]] = {}
    for subject, grant, how in entries:
        verbs, by_name = grant.verbs_for(name)
        if not verbs:
            continue
        entry = merged.setdefault(subject, (set(), {}, True))
        entry[0].update(verbs)
        entry[1][how] = None  # an ordered set: bindings in the order they were read
        merged[subject] = (entry[0], entry[1], entry[2] and by_name)
    return tuple(
        SecretReader(subject, tuple(v for v in READ_VERBS if v in verbs), tuple(grants), only_named)
        for subject, (verbs, grants, only_named) in sorted(merged.items())
    )


def compute_secret_access(inventory: Inventory) -> SecretAccess:
    """Readers of every pull secret (kubernetes.io/dockerconfigjson or dockercfg) in the input.

    Called once per analysis (`inventory/facts.py`); the check and the reports read the
    stored answer. No module-level cache: fleet scans analyse clusters in parallel threads.
    """
    cluster = {
        name: (role, secret_grant(rules)) for name, (role, rules) in cluster_role_rules(inventory).items()
    }
    namespaced = {key: (role, secret_grant(role.rules)) for key, role in inventory.roles.items()}
    unresolved: list[RoleBinding] = []
    # (subject, grant on secrets, how) per namespace, and cluster-wide
    by_namespace: dict[str, list[tuple[Subject, SecretGrant, Grant]]] = defaultdict(list)
    everywhere: list[tuple[Subject, SecretGrant, Grant]] = []
    bindings = [(b, False) for b in inventory.role_bindings] + [
        (b, True) for b in inventory.cluster_role_bindings
    ]
    for binding, cluster_wide in bindings:
        namespace = binding.ref.namespace or ""
        if binding.role_kind == "ClusterRole":
            found = cluster.get(binding.role_name)
        elif binding.role_kind == "Role" and not cluster_wide:
            found = namespaced.get((namespace, binding.role_name))
        else:
            found = None
        if found is None:
            unresolved.append(binding)
            continue
        role, grant = found
        if grant is None:
            continue
        how = Grant(binding.ref, role.ref, role.builtin, cluster_wide)
        target = everywhere if cluster_wide else by_namespace[namespace]
        target.extend((subject, grant, how) for subject in binding.subjects)
    readers: dict[tuple[str, str], tuple[SecretReader, ...]] = {}
    # Cluster-wide grants without resourceNames reach every secret alike: computed once.
    reads_everything = _readers_of((e for e in everywhere if not e[1].named), "")
    everywhere_named = [e for e in everywhere if e[1].named]
    # Without resourceNames the answer is the same for every secret of a namespace.
    per_namespace: dict[str, tuple[SecretReader, ...]] = {}
    for (namespace, name), secret in inventory.secrets.items():
        if not secret.is_pull_secret_type:
            continue
        local = by_namespace.get(namespace, [])
        entries = (*everywhere_named, *local)
        if not everywhere_named and not any(grant.named for _, grant, _ in local):
            if namespace not in per_namespace:
                per_namespace[namespace] = _readers_of(entries, name)
            of_secret = per_namespace[namespace]
        else:
            of_secret = _readers_of(entries, name)
        if of_secret:
            readers[(namespace, name)] = of_secret
    with_access = sorted(
        {role.ref for role, grant in cluster.values() if grant is not None and not role.builtin}
        | {role.ref for role, grant in namespaced.values() if grant is not None}
    )
    return SecretAccess(readers, tuple(unresolved), tuple(with_access), reads_everything)
