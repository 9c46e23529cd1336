"""Resolution: for every pod template and image, what the kubelet will have.

1. ServiceAccount admission (SEMANTICS §3): the pod's own `imagePullSecrets`, or,
   only when it declares none, its ServiceAccount's.
2. The kubelet keyring (SEMANTICS §2): the usable pull secrets' auths keys,
   de-duplicated and reverse-sorted, then the nodes' credentials.
3. Per image: the keys that match, in the order the kubelet tries them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from pullguard.inventory.facts import Facts
from pullguard.inventory.kubelet_coverage import node_side
from pullguard.inventory.kubelet_order import KubeletView, kubelet_view
from pullguard.inventory.model import (
    ImageUse,
    Inventory,
    ObjectRef,
    PodTemplate,
    Secret,
    SecretOrigin,
    ServiceAccount,
)
from pullguard.semantics.evidence import gives_credential
from pullguard.semantics.keyring import key_matches, lookup, parse_registry_key
from pullguard.semantics.registries import Classification, RegistryPolicy, Visibility, pattern_location
from pullguard.semantics.templates import has_template_marker
from pullguard.settings import AuditSettings


class SecretState(StrEnum):
    USABLE = "usable"
    MISSING = "missing"  # not in the input: the kubelet logs it and goes on
    WRONG_TYPE = "wrong-type"  # not a dockerconfigjson/dockercfg secret: ignored by the kubelet
    EMPTY = "empty"  # right type, but its data key is absent or empty: ignored
    MALFORMED = "malformed"  # decoding fails: every pull of the pod fails
    UNVERIFIABLE = "unverifiable"  # exists, but its registries are unknown (ESO, Sealed, SOPS, no data)
    UNRESOLVED = "unresolved"  # the name is an un-rendered template expression


class SecretsFrom(StrEnum):
    POD = "pod"
    SERVICE_ACCOUNT = "serviceaccount"
    NONE = "none"


class Coverage(StrEnum):
    POD = "pod"
    SERVICE_ACCOUNT = "serviceaccount"
    NODE = "node"
    PROVIDER = "provider"  # a kubelet credential provider, with the node's identity
    PROVIDER_SA = "provider-sa-token"  # a credential provider given the pod's ServiceAccount token
    NONE = "none"
    BROKEN = "broken"
    UNVERIFIABLE = "unverifiable"

    @property
    def configured(self) -> bool:
        return self in (
            Coverage.POD,
            Coverage.SERVICE_ACCOUNT,
            Coverage.NODE,
            Coverage.PROVIDER,
            Coverage.PROVIDER_SA,
        )


@dataclass(frozen=True, slots=True)
class SecretReference:
    name: str
    state: SecretState
    secret: Secret | None
    locations: tuple[str, ...] = ()  # keyring locations of a usable secret


@dataclass(frozen=True, slots=True)
class PodCredentials:
    """What the kubelet will hold for one pod template."""

    template: PodTemplate
    secrets_from: SecretsFrom
    references: tuple[SecretReference, ...]
    service_account: ServiceAccount | None

    @property
    def locations(self) -> tuple[str, ...]:
        return tuple(loc for ref in self.references for loc in ref.locations)

    def by_state(self, state: SecretState) -> tuple[SecretReference, ...]:
        return tuple(ref for ref in self.references if ref.state is state)


@dataclass(frozen=True, slots=True)
class KeyMatch:
    location: str
    secret: str | None  # None for a node credential
    anonymous: bool  # the entry carries only an identity token: the pull is anonymous
    via: str | None = None  # for node config.json keys and providers: where the credential comes from


@dataclass(frozen=True, slots=True)
class ImageJudgement:
    """One image of one pod template, judged."""

    pod: PodCredentials
    use: ImageUse
    classification: Classification | None  # None when the reference is not valid
    coverage: Coverage
    matches: tuple[KeyMatch, ...]
    cause: str | None  # why not covered, in plain words
    notes: tuple[str, ...] = ()  # node-side sources that matched but give nothing (kubelet_order.py)

    @property
    def visibility(self) -> Visibility | None:
        return self.classification.visibility if self.classification else None


def pod_credentials(template: PodTemplate, inventory: Inventory) -> PodCredentials:
    namespace = template.namespace
    account = inventory.service_accounts.get((namespace, template.service_account))
    if template.pull_secrets or template.declares_pull_secrets or template.admitted:
        names, secrets_from = template.pull_secrets, SecretsFrom.POD
    elif account is not None and account.pull_secrets:
        names, secrets_from = account.pull_secrets, SecretsFrom.SERVICE_ACCOUNT
    else:
        names, secrets_from = (), SecretsFrom.NONE
    references = tuple(
        _reference(name, inventory.secrets.get((namespace, name))) for name in dict.fromkeys(names)
    )
    return PodCredentials(template, secrets_from if references else SecretsFrom.NONE, references, account)


def _reference(name: str, secret: Secret | None) -> SecretReference:
    if has_template_marker(name):
        return SecretReference(name, SecretState.UNRESOLVED, None)
    if secret is None:
        return SecretReference(name, SecretState.MISSING, None)
    if secret.origin is SecretOrigin.METADATA_ONLY and not secret.type:  # a live secret RBAC hid
        return SecretReference(name, SecretState.UNVERIFIABLE, secret)
    if not secret.is_pull_secret_type:
        return SecretReference(name, SecretState.WRONG_TYPE, secret)
    if not secret.registries_known:
        return SecretReference(name, SecretState.UNVERIFIABLE, secret)
    payload = secret.payload
    assert payload is not None
    if payload.error is not None:
        return SecretReference(name, SecretState.MALFORMED, secret)
    if payload.missing:
        return SecretReference(name, SecretState.EMPTY, secret)
    locations = []
    for entry in payload.entries:
        key = parse_registry_key(entry.key)
        if key is not None:
            locations.append(key.location)
    return SecretReference(name, SecretState.USABLE, secret, tuple(locations))


def judge_image(
    pod: PodCredentials, use: ImageUse, policy: RegistryPolicy, kubelet: KubeletView | None = None
) -> ImageJudgement:
    if use.ref is None:
        return ImageJudgement(pod, use, None, Coverage.NONE, (), use.problem)
    classification = policy.classify(use.ref)
    repository = use.ref.repository
    matches = _pod_matches(pod, repository)
    if pod.by_state(SecretState.MALFORMED):
        broken = ", ".join(f"'{r.name}'" for r in pod.by_state(SecretState.MALFORMED))
        cause = f"pull secret {broken} cannot be decoded, so the kubelet fails every pull of this pod"
        return ImageJudgement(pod, use, classification, Coverage.BROKEN, matches, cause)
    if matches and not all(match.anonymous for match in matches):
        coverage = Coverage.POD if pod.secrets_from is SecretsFrom.POD else Coverage.SERVICE_ACCOUNT
        return ImageJudgement(pod, use, classification, coverage, matches, None)
    node = tuple(
        KeyMatch(pattern, None, False)
        for pattern in policy.node_patterns
        if key_matches(pattern_location(pattern), repository)
    )
    if node:
        return ImageJudgement(pod, use, classification, Coverage.NODE, node, None)
    notes: tuple[str, ...] = ()
    if kubelet is not None:
        served, notes = node_side(pod.template, pod.service_account, repository, kubelet)
        if served is not None:
            coverage = _SERVED[served[0]]
            served_cause = "; ".join(notes) if coverage is Coverage.UNVERIFIABLE else None
            return ImageJudgement(pod, use, classification, coverage, served[1], served_cause, notes)
    judgement = _uncovered(pod, use, classification, matches, repository)
    if not notes and judgement.cause != "":  # nothing to add: the judgement as it is (no copy)
        return judgement
    return dataclasses.replace(
        judgement, notes=notes, cause="; ".join(c for c in (judgement.cause, *notes) if c) or None
    )


_SERVED = {
    "node": Coverage.NODE,
    "provider": Coverage.PROVIDER,
    "provider-sa": Coverage.PROVIDER_SA,
    "unverifiable": Coverage.UNVERIFIABLE,
}


def _uncovered(
    pod: PodCredentials,
    use: ImageUse,
    classification: Classification,
    matches: tuple[KeyMatch, ...],
    repository: str,
) -> ImageJudgement:
    if pod.by_state(SecretState.UNVERIFIABLE) or pod.by_state(SecretState.UNRESOLVED):
        return ImageJudgement(pod, use, classification, Coverage.UNVERIFIABLE, (), _unverifiable_cause(pod))
    if matches:  # no matching entry gives a credential (empty, or only an identity token)
        keys = ", ".join(f"{m.location} in '{m.secret}'" for m in matches)
        cause = (
            f"the matching keys ({keys}) hold no username or password (an empty entry, or only an "
            "identitytoken, which the kubelet does not use): it sends empty credentials, an anonymous pull"
        )
        return ImageJudgement(pod, use, classification, Coverage.NONE, matches, cause)
    return ImageJudgement(pod, use, classification, Coverage.NONE, (), _uncovered_cause(pod, repository))


def _pod_matches(pod: PodCredentials, repository: str) -> tuple[KeyMatch, ...]:
    usable = pod.by_state(SecretState.USABLE)
    if not usable:
        return ()
    ordered = lookup([loc for ref in usable for loc in ref.locations], repository)
    matches: list[KeyMatch] = []
    for location in ordered:
        for ref in usable:  # within one key, secrets in the order the pod lists them
            if location not in ref.locations:
                continue
            assert ref.secret is not None and ref.secret.payload is not None
            anonymous = all(  # empty or identity-token-only entries: the kubelet sends no credential
                not gives_credential(entry.credential)
                for entry in ref.secret.payload.entries
                if (key := parse_registry_key(entry.key)) is not None and key.location == location
            )
            matches.append(KeyMatch(location, ref.name, anonymous))
    return tuple(matches)


def _unverifiable_cause(pod: PodCredentials) -> str:
    parts = [
        (
            f"'{ref.name}' was read without its data (--no-secret-data, or RBAC forbids reading secrets)"
            if ref.secret.origin is SecretOrigin.METADATA_ONLY
            else f"'{ref.name}' is managed by {ref.secret.origin.value}"
        )
        if ref.secret
        else f"'{ref.name}' is a template"
        for ref in pod.references
        if ref.state in (SecretState.UNVERIFIABLE, SecretState.UNRESOLVED)
    ]
    live = any(r.secret is not None and r.secret.origin is SecretOrigin.METADATA_ONLY for r in pod.references)
    return ("registries unknown: " if live else "registries unknown until rendered: ") + "; ".join(parts)


def _uncovered_cause(pod: PodCredentials, repository: str) -> str:
    if not pod.references:
        return _no_secrets_cause(pod)
    parts: list[str] = []
    for ref in pod.references:
        if ref.state is SecretState.MISSING:
            parts.append(f"pull secret '{ref.name}' does not exist in namespace '{pod.template.namespace}'")
        elif ref.state is SecretState.WRONG_TYPE:
            assert ref.secret is not None
            parts.append(f"pull secret '{ref.name}' has type {ref.secret.type}, which the kubelet ignores")
        elif ref.state is SecretState.EMPTY:
            assert ref.secret is not None and ref.secret.payload is not None
            parts.append(f"pull secret '{ref.name}' has no {ref.secret.payload.data_key} data")
        elif ref.state is SecretState.USABLE:
            tried = ", ".join(ref.locations) or "none"
            parts.append(f"no key of pull secret '{ref.name}' matches {repository} (keys tried: {tried})")
    return "; ".join(parts)


def _no_secrets_cause(pod: PodCredentials) -> str:
    account = pod.template.service_account
    if pod.service_account is None:
        return (
            f"no imagePullSecrets in the pod template, and its ServiceAccount '{account}' is not in the input "
            "(its imagePullSecrets are unknown)"
        )
    return f"no imagePullSecrets in the pod template nor in its ServiceAccount '{account}'"


@dataclass(slots=True)
class PodIndex:
    """Pods found by what a finding names: its owner, a ServiceAccount, a secret."""

    by_owner: dict[ObjectRef, list[PodCredentials]]
    by_inherited_account: dict[ObjectRef, list[PodCredentials]]
    by_secret: dict[tuple[str, str], list[PodCredentials]]

    @classmethod
    def of(cls, pods: list[PodCredentials]) -> PodIndex:
        index = cls({}, {}, {})
        for pod in pods:
            index.by_owner.setdefault(pod.template.owner, []).append(pod)
            if pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT and pod.service_account is not None:
                index.by_inherited_account.setdefault(pod.service_account.ref, []).append(pod)
            for name in {ref.name for ref in pod.references}:
                index.by_secret.setdefault((pod.template.namespace, name), []).append(pod)
        return index

    def about(self, target: ObjectRef) -> list[PodCredentials]:
        """The pods a finding about `target` concerns: owned by it, inheriting its secrets (a
        ServiceAccount), or listing it (a Secret); each once."""
        found = list(self.by_owner.get(target, ()))
        if target.kind == "ServiceAccount":
            found += self.by_inherited_account.get(target, ())
        elif target.kind == "Secret":
            found += self.by_secret.get((target.namespace or "default", target.name), ())
        return list({id(pod): pod for pod in found}.values())


@dataclass(slots=True)
class Resolution:
    """Every pod's credentials and every image's judgement, computed once for all checks."""

    inventory: Inventory
    policy: RegistryPolicy
    pods: list[PodCredentials]
    images: list[ImageJudgement]
    _by_pod: dict[int, list[ImageJudgement]]
    # the clock, limits, keys and node credentials the checks use (the pipeline sets them from the options)
    settings: AuditSettings = field(default_factory=AuditSettings.current)
    # readers, ages and fingerprints of the pull secrets, computed once (the pipeline sets them)
    facts: Facts = field(init=False)
    # pods by owner, by the ServiceAccount they inherit secrets from, by the secrets they list
    # (built once on first use: the fix plan and the breaks-pull mark ask per finding)
    _pod_index: PodIndex | None = field(default=None, init=False, repr=False)

    @property
    def pod_index(self) -> PodIndex:
        if self._pod_index is None:
            self._pod_index = PodIndex.of(self.pods)
        return self._pod_index

    # the nodes' kubelet: providers, node config.json, version, policy (None: nothing configured)
    kubelet: KubeletView | None = None

    def images_of(self, pod: PodCredentials) -> list[ImageJudgement]:
        return self._by_pod.get(id(pod), [])

    def private_images(self) -> Iterator[ImageJudgement]:
        return (j for j in self.images if j.visibility is Visibility.PRIVATE)


def resolve(inventory: Inventory, policy: RegistryPolicy, kubelet: KubeletView | None = None) -> Resolution:
    kubelet = kubelet or kubelet_view(inventory.kubelet)
    pods = [pod_credentials(template, inventory) for template in inventory.pod_templates]
    images: list[ImageJudgement] = []
    by_pod: dict[int, list[ImageJudgement]] = {}
    for pod in pods:
        judged = [judge_image(pod, use, policy, kubelet) for use in pod.template.images]
        by_pod[id(pod)] = judged
        images.extend(judged)
    return Resolution(inventory, policy, pods, images, by_pod, kubelet=kubelet)
