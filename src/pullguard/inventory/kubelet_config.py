"""What the nodes' kubelets pull with: credential providers, verification policy, node config.json.

Read from manifests (``CredentialProviderConfig``, ``KubeletConfiguration`` documents among the
scanned files), from the files `.pullguard.yaml` names (``kubelet:``), and, for live clusters,
from each Node (``status.nodeInfo.kubeletVersion``) and each running pod's containers.

Decoding follows the kubelet (kubernetes/kubelet ``config/{v1alpha1,v1beta1,v1}/types.go`` at
``63b32497``; kubernetes/kubernetes ``pkg/credentialprovider/plugin/config.go``):

* ``CredentialProviderConfig`` of ``kubelet.config.k8s.io/v1alpha1``, ``v1beta1`` or ``v1`` is
  decoded strictly: an unknown field (``tokenAttributes`` outside ``v1`` among them) or a wrong
  type is an error, and the kubelet refuses to start. Field names are case-sensitive.
* A directory given as the provider configuration is read like ``readCredentialProviderConfig``:
  its ``*.json``, ``*.yaml`` and ``*.yml`` files (not sub-directories) in lexicographic order,
  merged; a provider name seen twice is fatal.
* Of ``KubeletConfiguration`` (``kubelet.config.k8s.io/v1beta1``) only the credential-relevant
  fields are read: ``imagePullCredentialsVerificationPolicy``,
  ``preloadedImagesVerificationAllowlist``, ``featureGates`` and ``staticPodPath``; its other
  fields are not judged (and not reported as unknown).

No value here is secret: the node ``config.json`` entries keep only their keys and whether
they carry a username or password (never the values, see ``Credential``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pullguard.semantics.dockerconfig import AuthEntry
from pullguard.sources.model import Location

CONFIG_GROUP = "kubelet.config.k8s.io"
CONFIG_VERSIONS = ("v1alpha1", "v1beta1", "v1")
PLUGIN_API_VERSIONS = (
    "credentialprovider.kubelet.k8s.io/v1alpha1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
    "credentialprovider.kubelet.k8s.io/v1",
)
POLICIES = ("NeverVerify", "NeverVerifyPreloadedImages", "NeverVerifyAllowlistedImages", "AlwaysVerify")
DEFAULT_POLICY = "NeverVerifyPreloadedImages"
CACHE_TYPES = ("ServiceAccount", "Token")


@dataclass(frozen=True, slots=True)
class TokenAttributes:
    """``tokenAttributes``: the provider gets the pod's ServiceAccount token (KEP-4412)."""

    audience: str
    cache_type: str
    require_service_account: bool | None
    required_keys: tuple[str, ...] = ()
    optional_keys: tuple[str, ...] = ()
    line: int = 0

    @property
    def passed_keys(self) -> tuple[str, ...]:
        """The ServiceAccount annotations the kubelet hands the plugin (required, then optional)."""
        return (*self.required_keys, *self.optional_keys)


@dataclass(frozen=True, slots=True)
class CredentialProvider:
    name: str
    match_images: tuple[str, ...]
    default_cache_duration: str | None
    api_version: str
    token_attributes: TokenAttributes | None
    location: Location  # the provider's own line
    index: int  # position in its file's providers list


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One CredentialProviderConfig document; ``errors`` are the kubelet's decoding errors."""

    name: str  # how findings name it: metadata.name, else the file name
    location: Location
    api_version: str
    providers: tuple[CredentialProvider, ...]
    errors: tuple[tuple[int, str], ...] = ()  # (line, message): the kubelet refuses the file


@dataclass(frozen=True, slots=True)
class KubeletSettings:
    """The credential-relevant part of one KubeletConfiguration."""

    name: str
    location: Location
    policy: str | None  # imagePullCredentialsVerificationPolicy as written
    allowlist: tuple[str, ...] = ()
    feature_gates: tuple[tuple[str, bool], ...] = ()
    static_pod_path: str | None = None
    errors: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class NodeDockerConfig:
    """The kubelet's own docker config.json: the node keyring (pkg/credentialprovider/config.go)."""

    path: str
    entries: tuple[AuthEntry, ...] = ()
    error: str | None = None  # the kubelet logs it and uses no node credential


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    kubelet_version: str | None
    location: Location


@dataclass(frozen=True, slots=True)
class RunningContainer:
    """A container of a live pod, with what the node-cache trap needs."""

    owner_kind: str
    owner_name: str
    namespace: str
    pod: str
    node: str | None
    container: str
    image: str
    pull_policy: str  # as the API server defaulted it: Always, IfNotPresent, Never
    image_id: str | None  # set once the runtime has the image
    running: bool
    location: Location


@dataclass(slots=True)
class KubeletInputs:
    """Every node-side input, as read; `merged_providers` applies the kubelet's merge."""

    provider_configs: list[ProviderConfig] = field(default_factory=list)
    kubelet_settings: list[KubeletSettings] = field(default_factory=list)
    docker_configs: list[NodeDockerConfig] = field(default_factory=list)
    nodes: list[NodeInfo] = field(default_factory=list)
    containers: list[RunningContainer] = field(default_factory=list)
    version: str | None = None  # --kubernetes-version / kubernetesVersion, as given
    feature_gates: tuple[tuple[str, bool], ...] = ()  # from the configuration (win over files)

    # the configuration's inputs already merged in (analysis may run twice on one inventory)
    merged: list[KubeletInputs] = field(default_factory=list, repr=False)

    def merge_once(self, other: KubeletInputs) -> None:
        if any(m is other for m in self.merged):
            return
        self.merged.append(other)
        self.extend(other)

    def extend(self, other: KubeletInputs) -> None:
        self.provider_configs.extend(other.provider_configs)
        self.kubelet_settings.extend(other.kubelet_settings)
        self.docker_configs.extend(other.docker_configs)
        self.nodes.extend(other.nodes)
        self.containers.extend(other.containers)
        self.version = other.version or self.version
        self.feature_gates = (*self.feature_gates, *other.feature_gates)

    @property
    def configured(self) -> bool:
        return bool(self.provider_configs or self.kubelet_settings or self.docker_configs)


# -- decoding --------------------------------------------------------------------------------


def line_of(value: object, default: int) -> int:
    """The line a mapping read from YAML starts on (the source's LineMap knows it), else `default`."""
    line = getattr(value, "line", None)
    return line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else default


class _Decoder:
    """Strict decoding of one document, collecting located errors like the kubelet's decoder."""

    def __init__(self, base_line: int) -> None:
        self.base_line = base_line
        self.errors: list[tuple[int, str]] = []

    def line(self, value: object) -> int:
        return line_of(value, self.base_line)

    def error(self, where: object, path: str, message: str) -> None:
        self.errors.append((self.line(where), f"{path}: {message}"))

    def mapping(self, value: Any, path: str, holder: object) -> Mapping[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.error(holder, path, "must be a mapping")
            return None
        return value

    def only(self, value: Mapping[str, Any], path: str, allowed: Sequence[str]) -> None:
        for key in value:
            if key not in allowed:
                self.error(
                    value,
                    f"{path}.{key}" if path else str(key),
                    f"unknown field (strict decoding; known: {', '.join(allowed)})",
                )

    def string(self, value: Any, path: str, holder: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(holder, path, "must be a string")
            return None
        return value

    def strings(self, value: Any, path: str, holder: object) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(holder, path, "must be a list of strings")
            return ()
        found: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.error(holder, f"{path}[{index}]", "must be a string")
                continue
            found.append(item)
        return tuple(found)

    def boolean(self, value: Any, path: str, holder: object) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            self.error(holder, path, "must be true or false")
            return None
        return value


_PROVIDER_FIELDS = ("name", "matchImages", "defaultCacheDuration", "apiVersion", "args", "env")
_TOKEN_FIELDS = (
    "serviceAccountTokenAudience",
    "cacheType",
    "requireServiceAccount",
    "requiredServiceAccountAnnotationKeys",
    "optionalServiceAccountAnnotationKeys",
)


def decode_provider_config(
    body: Mapping[str, Any], name: str, location: Location, api_version: str
) -> ProviderConfig:
    """A CredentialProviderConfig document, decoded as strictly as the kubelet decodes it."""
    decoder = _Decoder(location.line)
    version = api_version.rpartition("/")[2]
    if version not in CONFIG_VERSIONS:
        decoder.error(
            body,
            "apiVersion",
            f"{api_version!r} is not a CredentialProviderConfig version "
            f"(kubelet.config.k8s.io/{', '.join(CONFIG_VERSIONS)})",
        )
    decoder.only(body, "", ("apiVersion", "kind", "metadata", "providers"))
    providers: list[CredentialProvider] = []
    items = body.get("providers")
    if items is not None and not isinstance(items, list):
        decoder.error(body, "providers", "must be a list")
        items = []
    for index, item in enumerate(items or []):
        path = f"providers[{index}]"
        provider = decoder.mapping(item, path, body)
        if provider is None:
            if item is None:
                decoder.error(body, path, "must be a mapping")
            continue
        allowed = (*_PROVIDER_FIELDS, "tokenAttributes") if version == "v1" else _PROVIDER_FIELDS
        decoder.only(provider, path, allowed)
        token = None
        if "tokenAttributes" in provider and version == "v1":
            token = _decode_token_attributes(
                decoder, provider.get("tokenAttributes"), f"{path}.tokenAttributes", provider
            )
        duration = provider.get("defaultCacheDuration")
        if duration is not None and not isinstance(duration, str):
            decoder.error(provider, f"{path}.defaultCacheDuration", "must be a duration string such as 12h")
            duration = None
        decoder.strings(provider.get("args"), f"{path}.args", provider)
        env = provider.get("env")
        if env is not None:
            if not isinstance(env, list):
                decoder.error(provider, f"{path}.env", "must be a list")
            else:
                for env_index, variable in enumerate(env):
                    where = f"{path}.env[{env_index}]"
                    variable_map = decoder.mapping(variable, where, provider)
                    if variable_map is not None:
                        decoder.only(variable_map, where, ("name", "value"))
        providers.append(
            CredentialProvider(
                name=decoder.string(provider.get("name"), f"{path}.name", provider) or "",
                match_images=decoder.strings(provider.get("matchImages"), f"{path}.matchImages", provider),
                default_cache_duration=duration,
                api_version=decoder.string(provider.get("apiVersion"), f"{path}.apiVersion", provider) or "",
                token_attributes=token,
                location=Location(location.path, location.document, decoder.line(provider), location.item),
                index=index,
            )
        )
    return ProviderConfig(name, location, api_version, tuple(providers), tuple(decoder.errors))


def _decode_token_attributes(
    decoder: _Decoder, value: Any, path: str, holder: object
) -> TokenAttributes | None:
    attributes = decoder.mapping(value, path, holder)
    if attributes is None:
        return None
    decoder.only(attributes, path, _TOKEN_FIELDS)
    return TokenAttributes(
        audience=decoder.string(
            attributes.get("serviceAccountTokenAudience"), f"{path}.serviceAccountTokenAudience", attributes
        )
        or "",
        cache_type=decoder.string(attributes.get("cacheType"), f"{path}.cacheType", attributes) or "",
        require_service_account=decoder.boolean(
            attributes.get("requireServiceAccount"), f"{path}.requireServiceAccount", attributes
        ),
        required_keys=decoder.strings(
            attributes.get("requiredServiceAccountAnnotationKeys"),
            f"{path}.requiredServiceAccountAnnotationKeys",
            attributes,
        ),
        optional_keys=decoder.strings(
            attributes.get("optionalServiceAccountAnnotationKeys"),
            f"{path}.optionalServiceAccountAnnotationKeys",
            attributes,
        ),
        line=decoder.line(attributes),
    )


def decode_kubelet_settings(body: Mapping[str, Any], name: str, location: Location) -> KubeletSettings:
    """The credential-relevant fields of a KubeletConfiguration, with the kubelet's validation."""
    decoder = _Decoder(location.line)
    policy = decoder.string(
        body.get("imagePullCredentialsVerificationPolicy"), "imagePullCredentialsVerificationPolicy", body
    )
    if policy is not None and policy != "" and policy not in POLICIES:
        decoder.error(
            body, "imagePullCredentialsVerificationPolicy", f"{policy!r} is not one of {', '.join(POLICIES)}"
        )
    allowlist = decoder.strings(
        body.get("preloadedImagesVerificationAllowlist"), "preloadedImagesVerificationAllowlist", body
    )
    for index, entry in enumerate(allowlist):
        problem = allowlist_entry_problem(entry)
        if problem is not None:
            decoder.error(body, f"preloadedImagesVerificationAllowlist[{index}]", problem)
    gates: list[tuple[str, bool]] = []
    raw_gates = decoder.mapping(body.get("featureGates"), "featureGates", body)
    for gate, enabled in (raw_gates or {}).items():
        if isinstance(enabled, bool):
            gates.append((str(gate), enabled))
        else:
            decoder.error(raw_gates, f"featureGates.{gate}", "must be true or false")
    return KubeletSettings(
        name,
        location,
        policy or None,
        allowlist,
        tuple(gates),
        decoder.string(body.get("staticPodPath"), "staticPodPath", body),
        tuple(decoder.errors),
    )


def allowlist_entry_problem(entry: str) -> str | None:
    """``preloadedImagesVerificationAllowlist`` validation: a normalized repository, or a prefix ending in /*."""
    body = entry[:-2] if entry.endswith("/*") else entry
    if "*" in body:
        return f"{entry!r}: '*' is allowed only as a trailing '/*'"
    if "@" in body:
        return f"{entry!r}: a digest is not allowed"
    last = body.rsplit("/", 1)[-1]
    if ":" in last and "/" in body:
        return f"{entry!r}: a tag is not allowed"
    if "/" not in body:
        return (
            f"{entry!r}: must be a fully qualified repository (registry/path), e.g. docker.io/library/nginx"
        )
    return None


def add_kubelet_document(
    inputs: KubeletInputs, api_version: str, kind: str, name: str, body: Mapping[str, Any], location: Location
) -> bool:
    """A scanned CredentialProviderConfig or KubeletConfiguration document; False for other kinds."""
    if api_version.rpartition("/")[0] != CONFIG_GROUP:
        return False
    label = name or location.path.rsplit("/", 1)[-1]
    if kind == "CredentialProviderConfig":
        inputs.provider_configs.append(decode_provider_config(body, label, location, api_version))
    elif kind == "KubeletConfiguration":
        inputs.kubelet_settings.append(decode_kubelet_settings(body, label, location))
    else:
        return False
    return True
