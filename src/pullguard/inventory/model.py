"""The normalized inventory every command works from: typed, frozen records.

Nothing here knows where objects came from (files or a cluster) and nothing here
judges them: resolution (`resolve.py`) and checks do that.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from pullguard.inventory.kubelet_config import KubeletInputs
from pullguard.semantics.dockerconfig import DOCKERCFG, DOCKERCONFIGJSON, PULL_SECRET_TYPES, AuthEntry
from pullguard.semantics.imageref import ImageRef
from pullguard.sources.model import CommittedCredential, InputProblem, Location, ReadStats

if TYPE_CHECKING:  # these modules import ObjectRef from here
    from pullguard.inventory.cluster_config import AuditPolicy, EncryptionConfig
    from pullguard.inventory.rbac import Role, RoleBinding

__all__ = ["DOCKERCFG", "DOCKERCONFIGJSON", "PULL_SECRET_TYPES", "CommittedCredential"]


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """How findings name an object: `Kind namespace/name`."""

    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


class ImageField(StrEnum):
    """Where in a pod spec an image is named; all are pulled with the pod's credentials."""

    CONTAINER = "containers"
    INIT_CONTAINER = "initContainers"
    EPHEMERAL_CONTAINER = "ephemeralContainers"
    IMAGE_VOLUME = "volumes"


@dataclass(frozen=True, slots=True)
class ImageUse:
    """One image a pod pulls: a container's image or an image volume's reference.

    `ref` is None when the string is not a usable reference; `problem` says why,
    `unresolved` tells an un-rendered template apart from a plain mistake, and
    `placeholder` a valid bare name left to a build tool apart from both.
    """

    field: ImageField
    name: str  # container or volume name
    image: str
    ref: ImageRef | None
    problem: str | None
    unresolved: bool
    location: Location
    # a valid bare name that is no Docker Official Image (`image: myapp`): the kubelet would pull
    # docker.io/library/myapp, but it is most likely a build tool's placeholder; counted apart, not judged
    placeholder: bool = False


@dataclass(frozen=True, slots=True)
class SecretMount:
    """A Secret read by a pod other than as a pull secret (volume, projection, env)."""

    secret: str
    how: str  # "volume", "projected volume", "env", "envFrom"
    container: str | None


@dataclass(frozen=True, slots=True)
class PodTemplate:
    """A pod spec as the API server would admit it, with its owner.

    `pull_secrets` are the names the template declares (empty when it declares
    none: the ServiceAccount admission plugin then copies the ServiceAccount's).
    """

    owner: ObjectRef
    location: Location
    service_account: str
    pull_secrets: tuple[str, ...]
    images: tuple[ImageUse, ...]
    automount_token: bool | None = None
    secret_mounts: tuple[SecretMount, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    # the template lists imagePullSecrets, even if only empty names: admission then
    # copies nothing from the ServiceAccount (it checks the list's length)
    declares_pull_secrets: bool = False
    # True for objects read from a live cluster: their spec already carries the
    # ServiceAccount's secrets, so admission must not be applied again.
    admitted: bool = False

    @property
    def namespace(self) -> str:
        return self.owner.namespace or "default"


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    ref: ObjectRef
    location: Location
    pull_secrets: tuple[str, ...]
    automount_token: bool | None = None
    annotations: tuple[tuple[str, str], ...] = ()


class SecretOrigin(StrEnum):
    """How a Secret is held in the input."""

    PLAIN = "plain"  # a Secret manifest with readable data
    METADATA_ONLY = "metadata-only"  # data not read (cluster --no-secret-data)
    EXTERNAL_SECRET = "ExternalSecret"
    SEALED_SECRET = "SealedSecret"
    SOPS = "SOPS"
    DECLARED = "declared in the configuration"  # externalPullSecrets: managed outside the input


@dataclass(frozen=True, slots=True)
class PullSecretPayload:
    """The registry credentials of a pull secret, as the kubelet would decode them.

    `error` is set when the kubelet's decoding fails, which fails every pull of
    every pod using the secret; it never quotes the payload.
    """

    data_key: str  # ".dockerconfigjson" or ".dockercfg"
    entries: tuple[AuthEntry, ...] = ()
    error: str | None = None
    missing: bool = False  # the type's key is absent or empty
    # top-level members the kubelet ignores (credsStore, credHelpers), named only when no entry
    # gives a credential (PG030 says why); never their values
    ignored_members: tuple[str, ...] = ()
    # registry keys whose credentials sit where the kubelet never reads them (a docker config.json,
    # `auths` wrapper included, stored as .dockercfg): plaintext in the repository, useless to the kubelet
    unread_credentials: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Secret:
    ref: ObjectRef
    location: Location
    type: str
    data_keys: tuple[str, ...]
    payload: PullSecretPayload | None  # None unless the type is a pull-secret type
    origin: SecretOrigin = SecretOrigin.PLAIN
    # data keys named like a pull secret's although the type is not one (PG003)
    docker_keys_in_wrong_type: tuple[str, ...] = ()
    # not in repr: kubectl's last-applied-configuration annotation holds the whole Secret
    annotations: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    creation_timestamp: str | None = None
    # how often a controller rewrites it (ExternalSecret spec.refreshInterval), as written
    refresh_interval: str | None = None
    # the latest metadata.managedFields time of a manager that wrote data/stringData (PG005)
    data_written_at: str | None = None

    @property
    def is_pull_secret_type(self) -> bool:
        return self.type in PULL_SECRET_TYPES

    @property
    def registries_known(self) -> bool:
        """Whether the registries it holds are known: read from its data, or declared."""
        if self.origin is SecretOrigin.DECLARED:
            return self.payload is not None and bool(self.payload.entries)
        return self.origin is SecretOrigin.PLAIN


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    location: Location
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, key: str) -> str | None:
        return next((v for k, v in self.labels if k == key), None)


@dataclass(frozen=True, slots=True)
class UnanalysedWorkload:
    """A custom resource that carries container images or imagePullSecrets in a shape we do not know."""

    ref: ObjectRef
    location: Location
    api_version: str
    images: tuple[str, ...]
    # field paths under spec that hold an image or imagePullSecrets (at most 20)
    fields: tuple[str, ...] = ()


@dataclass(slots=True)
class Inventory:
    """Everything read, indexed by namespace and name."""

    pod_templates: list[PodTemplate] = field(default_factory=list)
    service_accounts: dict[tuple[str, str], ServiceAccount] = field(default_factory=dict)
    secrets: dict[tuple[str, str], Secret] = field(default_factory=dict)
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    unanalysed: list[UnanalysedWorkload] = field(default_factory=list)
    # literal registry passwords in scripts and CI files next to the manifests (sources/scripts.py)
    committed_credentials: list[CommittedCredential] = field(default_factory=list)
    # RBAC (rbac.py): Roles by (namespace, name), ClusterRoles by name, bindings as read
    roles: dict[tuple[str, str], Role] = field(default_factory=dict)
    cluster_roles: dict[str, Role] = field(default_factory=dict)
    role_bindings: list[RoleBinding] = field(default_factory=list)
    cluster_role_bindings: list[RoleBinding] = field(default_factory=list)
    # API server configuration files (cluster_config.py)
    encryption_configs: list[EncryptionConfig] = field(default_factory=list)
    audit_policies: list[AuditPolicy] = field(default_factory=list)
    # what the nodes' kubelets pull with (kubelet_config.py): providers, policy, node config.json, nodes
    kubelet: KubeletInputs = field(default_factory=KubeletInputs)
    stats: ReadStats = field(default_factory=ReadStats)
    problems: list[InputProblem] = field(default_factory=list)
    # where the objects came from ("files", "cluster prod") -> {kind: count}
    origins: dict[str, Counter[str]] = field(default_factory=dict)
    # cluster objects not used because the files define the same kind/namespace/name
    replaced: tuple[str, ...] = ()
    # (kind, namespace, name) of objects a context source (the cluster files are judged
    # against) supplied: findings about them are kept only when the files' pods use them
    context_objects: frozenset[tuple[str, str, str]] = frozenset()
