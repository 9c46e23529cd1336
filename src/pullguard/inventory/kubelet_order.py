"""The kubelet's credential sources after the pod's own secrets: node config.json, then providers.

Reproduces (kubernetes/kubernetes, v1.35-era; see docs/semantics-verified.md):

* ``pkg/kubelet/images/image_manager.go`` ``makeLookupPullCredentialsFunc``: the keyring is the
  pod's pull secrets, then ``UnionDockerKeyring{node keyring, credential providers}``; every
  matching credential is tried in that order, the first that works wins, and when some matched
  the kubelet never falls back to an anonymous pull (``kuberuntime_image.go``).
* ``pkg/credentialprovider/plugin/plugins.go``: providers are asked in configuration order
  (kept since v1.33, PR kubernetes#129669; before, in order of name).
* ``pkg/credentialprovider/plugin/config.go`` ``readCredentialProviderConfig`` (merge, duplicate
  names fatal) and ``validateCredentialProviderConfig`` (what makes the kubelet refuse to start).
* ``pkg/credentialprovider/plugin/plugin.go`` ``provide``: in ServiceAccount-token mode a pod
  without a ServiceAccount gets nothing when ``requireServiceAccount`` is true; a missing
  required annotation gives an empty credential, logged at V(5) only.
* Known plugins: ``ecr-credential-provider`` (kubernetes/cloud-provider-aws
  ``cmd/ecr-credential-provider/main.go``, v1.34+) reads ``eks.amazonaws.com/ecr-role-arn``
  in token mode, never IRSA's ``eks.amazonaws.com/role-arn``; ``acr-credential-provider``
  (kubernetes-sigs/cloud-provider-azure ``pkg/credentialprovider``) needs
  ``azure.workload.identity/client-id`` and ``azure.workload.identity/tenant-id``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pullguard.counts import noun
from pullguard.inventory.kubelet_config import (
    CACHE_TYPES,
    DEFAULT_POLICY,
    PLUGIN_API_VERSIONS,
    CredentialProvider,
    KubeletInputs,
    NodeDockerConfig,
    ProviderConfig,
)
from pullguard.semantics.keyring import lookup, parse_registry_key
from pullguard.semantics.kubelet_versions import (
    ENSURE_SECRET_PULLED_IMAGES,
    SA_TOKEN_FOR_CREDENTIAL_PROVIDERS,
    KubeletVersion,
    VersionError,
    feature_enabled,
    parse_version,
)
from pullguard.semantics.matchimages import first_match, invalid_entry

ECR_ROLE_ARN = "eks.amazonaws.com/ecr-role-arn"
IRSA_ROLE_ARN = "eks.amazonaws.com/role-arn"
AZURE_CLIENT_ID = "azure.workload.identity/client-id"
AZURE_TENANT_ID = "azure.workload.identity/tenant-id"


@dataclass(frozen=True, slots=True)
class KnownPlugin:
    label: str
    reads: tuple[str, ...]  # the ServiceAccount annotations it needs in token mode
    without: str  # what happens without them


KNOWN_PLUGINS: tuple[tuple[re.Pattern[str], KnownPlugin], ...] = (
    (
        re.compile(r"ecr-credential-provider"),
        KnownPlugin(
            "ecr-credential-provider (AWS)",
            (ECR_ROLE_ARN,),
            "from v1.35.0 it falls back to the node's IAM role; v1.34.x fails for every such pod",
        ),
    ),
    (
        re.compile(r"acr-credential-provider|azure-acr"),
        KnownPlugin(
            "acr-credential-provider (Azure)",
            (AZURE_CLIENT_ID, AZURE_TENANT_ID),
            "the plugin returns an error and the kubelet gets no credential from it",
        ),
    ),
)


def known_plugin(name: str) -> KnownPlugin | None:
    return next((plugin for pattern, plugin in KNOWN_PLUGINS if pattern.search(name)), None)


@dataclass(frozen=True, slots=True)
class ConfigError:
    """Why the kubelet refuses its credential provider configuration (it does not start)."""

    config: str
    line: int
    path: str  # providers[0].tokenAttributes ...
    message: str


@dataclass(frozen=True, slots=True)
class KubeletView:
    """What a kubelet of one version holds, the inputs merged the kubelet's way."""

    providers: tuple[CredentialProvider, ...]
    config_errors: tuple[ConfigError, ...]
    docker_configs: tuple[NodeDockerConfig, ...]
    version: KubeletVersion | None
    gates: Mapping[str, bool] = field(default_factory=dict)
    policy: str | None = None  # the effective imagePullCredentialsVerificationPolicy (None: unknown)
    allowlist: tuple[str, ...] = ()
    static_pod_paths: tuple[str, ...] = ()
    configured_policy: str | None = None  # as written in a KubeletConfiguration

    @property
    def usable_providers(self) -> tuple[CredentialProvider, ...]:
        """A kubelet that refuses its configuration pulls with no provider at all."""
        return () if self.config_errors else self.providers

    def enabled(self, feature: str) -> bool | None:
        """Whether the kubelet runs with a feature; None when the version is unknown."""
        if self.version is None:
            explicit = self.gates.get(feature)
            return explicit
        return feature_enabled(feature, self.version, self.gates)


def version_of(text: str | None) -> KubeletVersion | None:
    if not text:
        return None
    try:
        return parse_version(text)
    except VersionError:
        return None


def kubelet_view(inputs: KubeletInputs, version: KubeletVersion | None = None) -> KubeletView:
    """Merge every input the way one kubelet would read it; ``version`` wins over the inputs'."""
    version = version or version_of(inputs.version) or _oldest_node(inputs)
    gates: dict[str, bool] = {}
    policy: str | None = None
    allowlist: list[str] = []
    static_paths: list[str] = []
    for settings in inputs.kubelet_settings:
        gates.update(dict(settings.feature_gates))
        policy = settings.policy or policy
        allowlist.extend(settings.allowlist)
        if settings.static_pod_path:
            static_paths.append(settings.static_pod_path)
    gates.update(dict(inputs.feature_gates))
    view = KubeletView((), (), tuple(inputs.docker_configs), version, gates)
    configured_policy = policy
    ensure = view.enabled(ENSURE_SECRET_PULLED_IMAGES)
    if policy is None and ensure:
        policy = DEFAULT_POLICY
    elif ensure is False:
        policy = "NeverVerify"  # the feature off: every pod may use any image on the node
    configs = sorted(inputs.provider_configs, key=lambda c: (c.location.path, c.location.document))
    providers = tuple(p for config in configs for p in config.providers)
    errors = [
        ConfigError(config.name, line, "", message) for config in configs for line, message in config.errors
    ]
    errors.extend(validate_providers(providers, view.enabled(SA_TOKEN_FOR_CREDENTIAL_PROVIDERS), configs))
    return KubeletView(
        providers,
        tuple(errors),
        tuple(inputs.docker_configs),
        version,
        gates,
        policy,
        tuple(allowlist),
        tuple(static_paths),
        configured_policy,
    )


def _oldest_node(inputs: KubeletInputs) -> KubeletVersion | None:
    versions = [v for node in inputs.nodes if (v := version_of(node.kubelet_version)) is not None]
    return min(versions) if versions else None


_QUALIFIED = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?"
)


def _qualified_name_problem(key: str) -> str | None:
    lowered = key.lower()
    prefix, slash, name = lowered.rpartition("/")
    if not _QUALIFIED.fullmatch(lowered) or len(name) > 63 or (slash and (len(prefix) > 253 or not prefix)):
        return f"{key!r} is not a qualified name (an annotation key such as example.com/role)"
    return None


def validate_providers(
    providers: Sequence[CredentialProvider],
    sa_token_gate: bool | None,
    configs: Sequence[ProviderConfig] = (),
) -> list[ConfigError]:
    """``validateCredentialProviderConfig`` plus the merge's duplicate-name rule; the gate None = unknown."""
    errors: list[ConfigError] = []
    paths = {id(p): p.location.path for p in providers}

    def error(provider: CredentialProvider, field: str, message: str) -> None:
        errors.append(
            ConfigError(
                paths[id(provider)], provider.location.line, f"providers[{provider.index}]{field}", message
            )
        )

    if configs and not providers:
        first = configs[0]
        errors.append(
            ConfigError(first.name, first.location.line, "providers", "at least 1 provider is required")
        )
    seen: set[tuple[str, str]] = set()
    for provider in providers:
        name = provider.name
        if not name:
            error(provider, ".name", "is required")
        if "/" in name:
            error(provider, ".name", f"{name!r}: provider name cannot contain '/'")
        if " " in name:
            error(provider, ".name", f"{name!r}: provider name cannot contain spaces")
        if name in (".", ".."):
            error(provider, ".name", f"provider name cannot be {name!r}")
        # one kubelet reads one file or one directory: names repeat across node pools' directories
        scope = (os.path.dirname(provider.location.path), name)
        if scope in seen:
            error(
                provider, ".name", f"duplicate provider name {name!r} (the kubelet refuses the configuration)"
            )
        seen.add(scope)
        if not provider.api_version:
            error(provider, ".apiVersion", "is required")
        elif provider.api_version not in PLUGIN_API_VERSIONS:
            error(
                provider,
                ".apiVersion",
                f"{provider.api_version!r} is not one of {', '.join(PLUGIN_API_VERSIONS)}",
            )
        if not provider.match_images:
            error(provider, ".matchImages", "at least 1 item in matchImages is required")
        for entry in provider.match_images:
            problem = invalid_entry(entry)
            if problem:
                error(provider, ".matchImages", problem)
        if provider.default_cache_duration is None:
            error(provider, ".defaultCacheDuration", "is required")
        elif _duration_seconds(provider.default_cache_duration) is None:
            error(provider, ".defaultCacheDuration", f"{provider.default_cache_duration!r} is not a duration")
        elif (_duration_seconds(provider.default_cache_duration) or 0) < 0:
            error(provider, ".defaultCacheDuration", "must be greater than or equal to 0")
        token = provider.token_attributes
        if token is None:
            continue
        if sa_token_gate is False:
            error(
                provider,
                ".tokenAttributes",
                "tokenAttributes is not supported when the "
                "KubeletServiceAccountTokenForCredentialProviders feature gate is disabled",
            )
        if not token.audience:
            error(provider, ".tokenAttributes.serviceAccountTokenAudience", "is required")
        if token.require_service_account is None:
            error(provider, ".tokenAttributes.requireServiceAccount", "is required")
        if provider.api_version != PLUGIN_API_VERSIONS[-1]:
            error(
                provider,
                ".tokenAttributes",
                f"tokenAttributes is only supported for {PLUGIN_API_VERSIONS[-1]}",
            )
        if token.require_service_account is False and token.required_keys:
            error(
                provider,
                ".tokenAttributes.requiredServiceAccountAnnotationKeys",
                "requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set",
            )
        for label, keys in (("required", token.required_keys), ("optional", token.optional_keys)):
            seen_keys: set[str] = set()
            for key in keys:
                problem = _qualified_name_problem(key)
                if problem:
                    error(provider, f".tokenAttributes.{label}ServiceAccountAnnotationKeys", problem)
                if key in seen_keys:
                    error(
                        provider,
                        f".tokenAttributes.{label}ServiceAccountAnnotationKeys",
                        f"duplicate {key!r}",
                    )
                seen_keys.add(key)
        both = sorted(set(token.required_keys) & set(token.optional_keys))
        if both:
            error(
                provider, ".tokenAttributes", f"annotation keys cannot be both required and optional: {both}"
            )
        if not token.cache_type:
            error(provider, ".tokenAttributes.cacheType", f"is required ({', '.join(CACHE_TYPES)})")
        elif token.cache_type not in CACHE_TYPES:
            error(
                provider,
                ".tokenAttributes.cacheType",
                f"{token.cache_type!r} is not one of {', '.join(CACHE_TYPES)}",
            )
    return errors


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration_seconds(text: str) -> float | None:
    """Go ``time.ParseDuration`` (the format of metav1.Duration)."""
    sign = -1.0 if text.startswith("-") else 1.0
    rest = text.lstrip("+-") if text[:1] in "+-" else text
    if rest == "0":
        return 0.0
    if not rest:
        return None
    total, position = 0.0, 0
    for match in _DURATION_PART.finditer(rest):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return sign * total if position == len(rest) and position > 0 else None


# -- per image ---------------------------------------------------------------------------------


class ProviderMode(StrEnum):
    NODE_IDENTITY = "node identity"  # no tokenAttributes, or invoked without a token
    SERVICE_ACCOUNT = "ServiceAccount token"


@dataclass(frozen=True, slots=True)
class ProviderOutcome:
    """One provider asked about one image: does it hand the kubelet a credential?"""

    provider: CredentialProvider
    entry: str  # the matchImages entry that matched
    mode: ProviderMode
    serves: bool
    unknown: bool = False  # cannot be decided from the input (the ServiceAccount is not in it)
    reason: str | None = None  # why it gives nothing, in plain words


@dataclass(frozen=True, slots=True)
class PodIdentityFacts:
    """What the kubelet knows of a pod when it asks the providers."""

    service_account: str | None  # None for static pods: they have none
    annotations: Mapping[str, str] | None  # the ServiceAccount's; None when it is not in the input


def node_config_matches(view: KubeletView, repository: str) -> list[tuple[str, str, bool]]:
    """(key location, config path, anonymous) of the node config.json keys the kubelet tries, in order."""
    found: list[tuple[str, str, bool]] = []
    for config in view.docker_configs:
        if config.error is not None:
            continue
        by_location: dict[str, list[bool]] = {}
        for entry in config.entries:
            key = parse_registry_key(entry.key)
            if key is not None:
                anonymous = entry.credential.identity_token_only or not (
                    entry.credential.username or entry.credential.password
                )
                by_location.setdefault(key.location, []).append(anonymous)
        for location in lookup(by_location, repository):
            found.append((location, config.path, all(by_location[location])))
    return found


def provider_outcomes(view: KubeletView, repository: str, pod: PodIdentityFacts) -> list[ProviderOutcome]:
    """Every provider whose matchImages covers the repository, in the kubelet's order, judged."""
    outcomes: list[ProviderOutcome] = []
    sa_gate = view.enabled(SA_TOKEN_FOR_CREDENTIAL_PROVIDERS)
    for provider in view.providers:
        entry = first_match(provider.match_images, repository)
        if entry is None:
            continue
        outcomes.append(_judge_provider(view, provider, entry, pod, sa_gate))
    return outcomes


def _judge_provider(
    view: KubeletView, provider: CredentialProvider, entry: str, pod: PodIdentityFacts, sa_gate: bool | None
) -> ProviderOutcome:
    if view.config_errors:
        first = view.config_errors[0]
        return ProviderOutcome(
            provider,
            entry,
            ProviderMode.NODE_IDENTITY,
            False,
            reason=f"the kubelet refuses its credential provider configuration ({first.path or first.config}: "
            f"{first.message}) and does not start",
        )
    token = provider.token_attributes
    if token is None:
        return ProviderOutcome(provider, entry, ProviderMode.NODE_IDENTITY, True)
    if pod.service_account is None:
        if token.require_service_account:
            return ProviderOutcome(
                provider,
                entry,
                ProviderMode.SERVICE_ACCOUNT,
                False,
                reason=f"provider '{provider.name}' requires a ServiceAccount (requireServiceAccount: true) and a "
                "static pod has none: the kubelet does not invoke it",
            )
        return ProviderOutcome(provider, entry, ProviderMode.NODE_IDENTITY, True)
    if pod.annotations is None:
        needed = (*token.required_keys, *_known_reads(provider))
        if not needed:
            return ProviderOutcome(provider, entry, ProviderMode.SERVICE_ACCOUNT, True)
        return ProviderOutcome(
            provider,
            entry,
            ProviderMode.SERVICE_ACCOUNT,
            False,
            unknown=True,
            reason=f"provider '{provider.name}' needs the annotation(s) {', '.join(dict.fromkeys(needed))} on "
            f"ServiceAccount '{pod.service_account}', which is not in the input",
        )
    missing = [key for key in token.required_keys if key not in pod.annotations]
    if missing:
        return ProviderOutcome(
            provider,
            entry,
            ProviderMode.SERVICE_ACCOUNT,
            False,
            reason=f"ServiceAccount '{pod.service_account}' lacks the {noun(len(missing), 'annotation')} {', '.join(missing)} that "
            f"provider '{provider.name}' requires (requiredServiceAccountAnnotationKeys): the kubelet silently "
            "gets no credential from it (logged at verbosity 5 only)",
        )
    plugin = known_plugin(provider.name)
    if plugin is not None:
        unseen = [key for key in plugin.reads if key not in token.passed_keys]
        absent = [key for key in plugin.reads if key in token.passed_keys and key not in pod.annotations]
        if unseen:
            return ProviderOutcome(
                provider,
                entry,
                ProviderMode.SERVICE_ACCOUNT,
                False,
                reason=f"{plugin.label} reads {', '.join(unseen)}, but the kubelet passes the plugin only the "
                "annotations listed in requiredServiceAccountAnnotationKeys or optionalServiceAccountAnnotationKeys, "
                f"so it never sees it: {plugin.without}",
            )
        if absent:
            hint = (
                f" (it has {IRSA_ROLE_ARN}, IRSA's annotation, which the plugin does not read)"
                if ECR_ROLE_ARN in absent and IRSA_ROLE_ARN in pod.annotations
                else ""
            )
            return ProviderOutcome(
                provider,
                entry,
                ProviderMode.SERVICE_ACCOUNT,
                False,
                reason=f"ServiceAccount '{pod.service_account}' has no {', '.join(absent)}{hint}: {plugin.without}",
            )
    if sa_gate is False:
        return ProviderOutcome(
            provider,
            entry,
            ProviderMode.SERVICE_ACCOUNT,
            False,
            reason="the kubelet's KubeletServiceAccountTokenForCredentialProviders feature is off",
        )
    return ProviderOutcome(provider, entry, ProviderMode.SERVICE_ACCOUNT, True)


def _known_reads(provider: CredentialProvider) -> tuple[str, ...]:
    plugin = known_plugin(provider.name)
    if plugin is None or provider.token_attributes is None:
        return ()
    return tuple(k for k in plugin.reads if k in provider.token_attributes.passed_keys)


MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DEFAULT_STATIC_POD_PATHS = ("/etc/kubernetes/manifests",)


def is_static_pod(
    kind: str, annotations: Sequence[tuple[str, str]], path: str, static_paths: Sequence[str]
) -> bool:
    """A mirror pod (the API server's copy of a static pod) or a Pod manifest in a static-pod directory."""
    if kind != "Pod":
        return False
    if any(key == MIRROR_ANNOTATION for key, _ in annotations):
        return True
    normalized = "/" + path.replace("\\", "/").lstrip("/")
    for directory in (*static_paths, *DEFAULT_STATIC_POD_PATHS):
        directory = "/" + directory.strip("/") + "/"
        if directory in normalized:
            return True
    return False
