"""From manifests to the inventory: the only place that reads object bodies.

Field types are checked here; an object with a wrong field type becomes an input
problem naming the field, and the other objects are still analysed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, cast

from pullguard.counts import plural
from pullguard.errors import DockerConfigError, DocumentValueError, InvalidImageReference
from pullguard.inventory import podcrds
from pullguard.inventory.cluster_config import (
    KEY_LENGTHS,
    AuditGroupResources,
    AuditPolicy,
    AuditRule,
    EncryptionConfig,
    EncryptionKey,
    EncryptionProvider,
    EncryptionResources,
)
from pullguard.inventory.duplicates import Duplicates
from pullguard.inventory.kinds import POD_SPEC_PATHS, api_group, is_workload
from pullguard.inventory.kubelet_config import add_kubelet_document
from pullguard.inventory.model import (
    PULL_SECRET_TYPES,
    ImageField,
    ImageUse,
    Inventory,
    Namespace,
    ObjectRef,
    PodTemplate,
    PullSecretPayload,
    Secret,
    SecretMount,
    SecretOrigin,
    ServiceAccount,
    UnanalysedWorkload,
)
from pullguard.inventory.rbac import (
    SERVICE_ACCOUNT,
    LabelRequirement,
    LabelSelector,
    PolicyRule,
    Role,
    RoleBinding,
    Subject,
)
from pullguard.isolation import internal_problem
from pullguard.semantics.dockerconfig import decode_secret_value, parse_dockercfg, parse_dockerconfigjson
from pullguard.semantics.evidence import gives_credential, ignored_members
from pullguard.semantics.imageref import parse_image
from pullguard.semantics.official_images import bare_placeholder
from pullguard.semantics.templates import has_template_marker
from pullguard.sources.fastyaml import FastMap
from pullguard.sources.model import (
    COMMITTED_CREDENTIAL,
    SCRIPT_API_VERSION,
    CommittedCredential,
    InputProblem,
    Level,
    Location,
    Manifest,
)
from pullguard.sources.yamldocs import LineMap, image_line_of, line_of
from pullguard.text_safety import redact_image

_CONTAINER_FIELDS = (
    ("containers", ImageField.CONTAINER),
    ("initContainers", ImageField.INIT_CONTAINER),
    ("ephemeralContainers", ImageField.EPHEMERAL_CONTAINER),
)


def _placeholder(image: str, repository: str) -> str:
    return (
        f"a bare name that is no Docker Official Image: a valid reference (the kubelet would pull {repository}), "
        "most likely a build-time placeholder (skaffold, tilt, ko) replaced before deploying, so not judged; "
        "scan the rendered manifests, or write the full reference"
    )


class FieldError(Exception):
    """A field of the wrong type (or missing); becomes an InputProblem naming the field."""

    def __init__(self, path: str, expected: str, code: str = "wrong-type") -> None:
        super().__init__(f"'{path}' must be {expected}")
        self.code = code


class MissingField(FieldError):
    """A field the object cannot do without is absent (input problem code `missing`)."""

    def __init__(self, path: str, why: str) -> None:
        Exception.__init__(self, f"'{path}' is missing ({why})")
        self.code = "missing"


class InventoryBuilder:
    """Collects manifests into an Inventory; `default_namespace` stands in for a missing one."""

    def __init__(self, default_namespace: str = "default") -> None:
        self.default_namespace = default_namespace
        self.inventory = Inventory()
        self._deferred: list[Callable[[], None]] = []
        self._duplicates = Duplicates()

    def add_all(self, manifests: Iterable[Manifest]) -> Inventory:
        for manifest in manifests:
            self.add(manifest)
        return self.finish()

    def finish(self) -> Inventory:
        """Work that needs every object first (a ClusterExternalSecret selects namespaces by label)."""
        for deferred in self._deferred:
            deferred()
        self._deferred.clear()
        self.inventory.problems.extend(self._duplicates.problems())
        self._duplicates = Duplicates()
        return self.inventory

    def add(self, manifest: Manifest) -> None:
        body = manifest.body
        if body is None:
            return
        namespace = manifest.namespace or self.default_namespace
        try:
            if is_workload(manifest.api_version, manifest.kind):
                self._add_workload(manifest, body, namespace)
            elif manifest.kind == "ServiceAccount" and api_group(manifest.api_version) == "":
                self._add_service_account(manifest, body, namespace)
            elif manifest.kind == "Secret" and api_group(manifest.api_version) == "":
                self._add_secret(manifest, body, namespace)
            elif manifest.kind == "Namespace" and api_group(manifest.api_version) == "":
                self._duplicates.keep(
                    self.inventory.namespaces,
                    manifest.name,
                    Namespace(manifest.name, manifest.location, _labels(body)),
                    ObjectRef("Namespace", None, manifest.name),
                    identical_ok=True,
                )
            elif (
                manifest.kind == "ExternalSecret" and api_group(manifest.api_version) == "external-secrets.io"
            ):
                self._add_external_secret(manifest, body, namespace)
            elif (
                manifest.kind == "ClusterExternalSecret"
                and api_group(manifest.api_version) == "external-secrets.io"
            ):
                self._deferred.append(
                    partial(self._guarded, manifest, self._add_cluster_external_secret, body)
                )
            elif manifest.kind == COMMITTED_CREDENTIAL and manifest.api_version == SCRIPT_API_VERSION:
                record = body.get("record")
                if isinstance(record, CommittedCredential):
                    self.inventory.committed_credentials.append(record)
            elif manifest.kind == "SealedSecret" and api_group(manifest.api_version) == "bitnami.com":
                self._add_sealed_secret(manifest, body, namespace)
            elif podcrds.known(api_group(manifest.api_version), manifest.kind):
                self._add_pod_custom_resource(manifest, body, namespace)
            elif not _add_rbac_or_config(self.inventory, manifest, body, namespace):
                self._look_for_pod_specs(manifest, body, namespace)
        except FieldError as error:
            self._field_problem(manifest, error)
        except DocumentValueError as error:
            self._value_problem(manifest, error)
        except RecursionError:
            self._object_problem(manifest, "too-deep", "nested too deeply to analyse")
        except Exception as error:  # a bug this object reaches: it is lost, the others are not
            self.inventory.problems.append(
                internal_problem(manifest.location, f"{manifest.kind} {manifest.name} is not analysed", error)
            )

    def _guarded(
        self, manifest: Manifest, add: Callable[[Manifest, Mapping[str, Any]], None], body: Mapping[str, Any]
    ) -> None:
        try:
            add(manifest, body)
        except FieldError as error:
            self._field_problem(manifest, error)
        except DocumentValueError as error:
            self._value_problem(manifest, error)

    def _value_problem(self, manifest: Manifest, error: DocumentValueError) -> None:
        where = manifest.location
        self.inventory.problems.append(
            InputProblem(
                Location(where.path, where.document, error.line or where.line, where.item),
                Level.ERROR,
                "yaml-value",
                f"{manifest.kind} {manifest.name}: {error}; the object is not analysed",
            )
        )

    def _object_problem(self, manifest: Manifest, code: str, message: str) -> None:
        self.inventory.problems.append(
            InputProblem(manifest.location, Level.ERROR, code, f"{manifest.kind} {manifest.name}: {message}")
        )

    def _field_problem(self, manifest: Manifest, error: FieldError) -> None:
        self.inventory.problems.append(
            InputProblem(
                manifest.location, Level.ERROR, error.code, f"{manifest.kind} {manifest.name}: {error}"
            )
        )

    # -- workloads -----------------------------------------------------------

    def _add_workload(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        path = POD_SPEC_PATHS[manifest.kind]
        spec: Any = body
        for depth, step in enumerate(path):
            spec = _mapping(spec, ".".join(path[:depth]) or "object").get(step)
            if spec is None:
                raise MissingField(".".join(path[: depth + 1]), "a pod template needs it")
        owner = ObjectRef(manifest.kind, namespace, manifest.name)
        self.inventory.pod_templates.append(self.pod_template(owner, manifest, spec, body, ".".join(path)))

    def pod_template(
        self, owner: ObjectRef, manifest: Manifest, spec: Any, body: Mapping[str, Any], spec_path: str
    ) -> PodTemplate:
        spec = _mapping(spec, spec_path)
        images: list[ImageUse] = []
        mounts: list[SecretMount] = []
        for field_name, image_field in _CONTAINER_FIELDS:
            for index, container in enumerate(_list(spec.get(field_name), f"{spec_path}.{field_name}")):
                where = f"{spec_path}.{field_name}[{index}]"
                container = _mapping(container, where)
                name = _string(container.get("name"), f"{where}.name")
                images.append(
                    self._image_use(image_field, name, container.get("image"), container, manifest, where)
                )
                mounts.extend(_env_secret_mounts(container, name, where))
        for index, volume in enumerate(_list(spec.get("volumes"), f"{spec_path}.volumes")):
            where = f"{spec_path}.volumes[{index}]"
            volume = _mapping(volume, where)
            name = _string(volume.get("name"), f"{where}.name")
            image_volume = volume.get("image")
            if image_volume is not None:
                image_volume = _mapping(image_volume, f"{where}.image")
                reference = image_volume.get("reference")
                images.append(
                    self._image_use(
                        ImageField.IMAGE_VOLUME, name, reference, image_volume, manifest, f"{where}.image"
                    )
                )
            mounts.extend(_volume_secret_mounts(volume, where))
        pull_secrets: list[str] = []
        declared = _list(spec.get("imagePullSecrets"), f"{spec_path}.imagePullSecrets")
        for index, item in enumerate(declared):
            item = _mapping(item, f"{spec_path}.imagePullSecrets[{index}]")
            self._ignored_reference_fields(
                manifest, item, f"{spec_path}.imagePullSecrets[{index}]", owner.namespace
            )
            secret_name = _string(item.get("name"), f"{spec_path}.imagePullSecrets[{index}].name")
            if secret_name:
                pull_secrets.append(secret_name)
        service_account = (
            _string(spec.get("serviceAccountName"), f"{spec_path}.serviceAccountName")
            or _string(spec.get("serviceAccount"), f"{spec_path}.serviceAccount")
            or "default"
        )
        annotations = _annotations(body)
        template = _template_of(body, spec_path)
        if template is not None:
            annotations += _annotations(template, spec_path.rpartition(".")[0])
        return PodTemplate(
            owner=owner,
            location=Location(
                manifest.location.path,
                manifest.location.document,
                line_of(spec, manifest.location.line),
                manifest.location.item,
            ),
            service_account=service_account,
            pull_secrets=tuple(pull_secrets),
            images=tuple(images),
            automount_token=_optional_bool(
                spec.get("automountServiceAccountToken"), f"{spec_path}.automountServiceAccountToken"
            ),
            secret_mounts=tuple(mounts),
            declares_pull_secrets=bool(declared),
            annotations=annotations,
        )

    def _image_use(
        self,
        image_field: ImageField,
        name: str,
        image: Any,
        holder: Mapping[str, Any],
        manifest: Manifest,
        where: str,
    ) -> ImageUse:
        location = Location(
            manifest.location.path,
            manifest.location.document,
            image_line_of(holder, manifest.location.line),
            manifest.location.item,
        )
        if image is None or image == "":
            return ImageUse(image_field, name, "", None, "no image given", False, location)
        if not isinstance(image, str):
            raise FieldError(
                f"{where}.{'reference' if image_field is ImageField.IMAGE_VOLUME else 'image'}", "a string"
            )
        image = redact_image(image)  # userinfo in a reference is never shown (nor valid)
        if has_template_marker(image):
            return ImageUse(image_field, name, image, None, "un-rendered template expression", True, location)
        try:
            ref = parse_image(image)
        except InvalidImageReference as error:
            return ImageUse(image_field, name, image, None, error.reason, False, location)
        if ref.domain == "docker.io" and bare_placeholder(image, ref.path):
            return ImageUse(
                image_field, name, image, None, _placeholder(image, ref.repository), False, location, True
            )
        return ImageUse(image_field, name, image, ref, None, False, location)

    def _look_for_pod_specs(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        """List other resources that carry images or imagePullSecrets: how their pods get them is unknown."""
        images = _embedded_container_images(body)
        fields = tuple(podcrds.image_fields(body))
        if images or fields:
            self.inventory.unanalysed.append(
                UnanalysedWorkload(
                    ObjectRef(manifest.kind, namespace, manifest.name),
                    manifest.location,
                    manifest.api_version,
                    images,
                    fields,
                )
            )

    def _add_pod_custom_resource(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        """Argo Workflows and Tekton: the pods their controllers create, in the shapes they document."""
        try:
            shapes = podcrds.pod_shapes(api_group(manifest.api_version), manifest.kind, body) or []
        except podcrds.ShapeError as error:
            raise FieldError(error.path, error.expected) from None
        owner = ObjectRef(manifest.kind, namespace, manifest.name)
        for shape in shapes:
            self.inventory.pod_templates.append(self._pod_from_shape(owner, manifest, shape))

    def _pod_from_shape(self, owner: ObjectRef, manifest: Manifest, shape: podcrds.PodShape) -> PodTemplate:
        images: list[ImageUse] = []
        mounts: list[SecretMount] = []
        for slot in shape.slots:
            image = slot.container.get("image")
            if slot.substitutes and isinstance(image, str) and "$(" in image:
                location = Location(
                    manifest.location.path,
                    manifest.location.document,
                    image_line_of(slot.container, manifest.location.line),
                    manifest.location.item,
                )
                problem = "a parameter the controller substitutes when the task runs ($(params...))"
                images.append(ImageUse(slot.field, slot.name, image, None, problem, True, location))
            else:
                images.append(
                    self._image_use(slot.field, slot.name, image, slot.container, manifest, slot.path)
                )
            mounts.extend(_env_secret_mounts(slot.container, slot.name, slot.path))
        pull_secrets: list[str] = []
        declared = _list(shape.pull_secrets, shape.pull_secrets_path)
        for index, item in enumerate(declared):
            where = f"{shape.pull_secrets_path}[{index}]"
            item = _mapping(item, where)
            self._ignored_reference_fields(manifest, item, where, owner.namespace)
            secret_name = _string(item.get("name"), f"{where}.name")
            if secret_name:
                pull_secrets.append(secret_name)
        account = _string(shape.service_account, shape.service_account_path) or "default"
        return PodTemplate(
            owner=owner,
            location=Location(
                manifest.location.path,
                manifest.location.document,
                line_of(shape.node, manifest.location.line),
                manifest.location.item,
            ),
            service_account=account,
            pull_secrets=tuple(pull_secrets),
            images=tuple(images),
            automount_token=_optional_bool(
                shape.automount_token, f"{shape.path}.automountServiceAccountToken"
            ),
            secret_mounts=tuple(mounts),
            declares_pull_secrets=bool(declared),
            annotations=_annotations(manifest.body or {}),
        )

    def _ignored_reference_fields(
        self, manifest: Manifest, item: Mapping[str, Any], where: str, namespace: str | None
    ) -> None:
        """An imagePullSecrets entry is a LocalObjectReference: `name` only; say so for anything else."""
        for key in item:
            if key == "name":
                continue
            why = (
                f"the kubelet always reads pull secrets from the pod's own namespace ('{namespace or 'default'}')"
                if key == "namespace"
                else "the kubelet reads only the secret's name"
            )
            self.inventory.problems.append(
                InputProblem(
                    Location(
                        manifest.location.path,
                        manifest.location.document,
                        line_of(item, manifest.location.line),
                        manifest.location.item,
                    ),
                    Level.WARNING,
                    "ignored-field",
                    f"{manifest.kind} {manifest.name}: '{where}.{key}' is ignored: an imagePullSecrets entry "
                    f"holds only a name, and {why}. `kubectl apply` refuses the unknown field (--validate=strict, "
                    "its default); clients that do not validate have the API server drop it.",
                )
            )

    # -- identities and secrets --------------------------------------------------

    def _add_service_account(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        names: list[str] = []
        for index, item in enumerate(_list(body.get("imagePullSecrets"), "imagePullSecrets")):
            item = _mapping(item, f"imagePullSecrets[{index}]")
            self._ignored_reference_fields(manifest, item, f"imagePullSecrets[{index}]", namespace)
            name = _string(item.get("name"), f"imagePullSecrets[{index}].name")
            if name:
                names.append(name)
        account = ServiceAccount(
            ObjectRef("ServiceAccount", namespace, manifest.name),
            manifest.location,
            tuple(names),
            _optional_bool(body.get("automountServiceAccountToken"), "automountServiceAccountToken"),
            _annotations(body),
        )
        self._duplicates.keep(
            self.inventory.service_accounts, (namespace, manifest.name), account, account.ref
        )

    def _add_secret(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        secret_type = _string(body.get("type"), "type") or "Opaque"
        data = _mapping(body.get("data") or {}, "data")
        string_data = _mapping(body.get("stringData") or {}, "stringData")
        keys = tuple(sorted({str(k) for k in data} | {str(k) for k in string_data}))
        origin = SecretOrigin.SOPS if _is_sops_encrypted(body) else SecretOrigin.PLAIN
        payload = None
        data_key = PULL_SECRET_TYPES.get(secret_type)
        if data_key is not None:
            payload = _pull_secret_payload(data_key, data, string_data, origin)
        wrong = tuple(k for k in keys if k in (".dockerconfigjson", ".dockercfg")) if data_key is None else ()
        self._store_secret(
            Secret(
                ObjectRef("Secret", namespace, manifest.name),
                manifest.location,
                secret_type,
                keys,
                payload,
                origin,
                wrong,
                _annotations(body),
                _creation_timestamp(body),
                data_written_at=_data_written_at(body),
            )
        )

    def _add_external_secret(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        spec = _mapping(body.get("spec") or {}, "spec")
        self._store_external_secret(manifest, spec, "spec", namespace, manifest.name)

    def _add_cluster_external_secret(self, manifest: Manifest, body: Mapping[str, Any]) -> None:
        """One ExternalSecret per selected namespace: `spec.namespaces`, or namespaces in the
        input matched by `spec.namespaceSelector(s)` matchLabels (others are not in the input)."""
        spec = _mapping(body.get("spec") or {}, "spec")
        es_spec = _mapping(spec.get("externalSecretSpec") or {}, "spec.externalSecretSpec")
        name = _string(spec.get("externalSecretName"), "spec.externalSecretName") or manifest.name
        namespaces = [
            _string(n, "spec.namespaces[]") for n in _list(spec.get("namespaces"), "spec.namespaces")
        ]
        selectors = _list(spec.get("namespaceSelectors"), "spec.namespaceSelectors")
        if spec.get("namespaceSelector") is not None:
            selectors.append(spec["namespaceSelector"])
        for index, selector in enumerate(selectors):
            where = f"spec.namespaceSelectors[{index}].matchLabels"
            wanted = _string_map(
                _mapping(
                    _mapping(selector, f"spec.namespaceSelectors[{index}]").get("matchLabels") or {}, where
                ),
                where,
            )
            for candidate in self.inventory.namespaces.values():
                labels = dict(candidate.labels)
                if all(labels.get(k) == v for k, v in wanted):
                    namespaces.append(candidate.name)
        for namespace in dict.fromkeys(n for n in namespaces if n):
            self._store_external_secret(manifest, es_spec, "spec.externalSecretSpec", namespace, name)

    def _store_external_secret(
        self, manifest: Manifest, spec: Mapping[str, Any], path: str, namespace: str, default_name: str
    ) -> None:
        """The Secret the External Secrets Operator writes: `target.name` (default: the
        ExternalSecret's name), typed by `target.template.type`, refreshed every `refreshInterval`."""
        target = _mapping(spec.get("target") or {}, f"{path}.target")
        template = _mapping(target.get("template") or {}, f"{path}.target.template")
        name = _string(target.get("name"), f"{path}.target.name") or default_name
        secret_type = _string(template.get("type"), f"{path}.target.template.type") or "Opaque"
        refresh = spec.get("refreshInterval")
        self._store_managed_secret(
            manifest,
            namespace,
            name,
            secret_type,
            SecretOrigin.EXTERNAL_SECRET,
            manifest.body or {},
            refresh_interval=None if refresh is None else _scalar_text(refresh, f"{path}.refreshInterval"),
        )

    def _add_sealed_secret(self, manifest: Manifest, body: Mapping[str, Any], namespace: str) -> None:
        spec = _mapping(body.get("spec") or {}, "spec")
        template = _mapping(spec.get("template") or {}, "spec.template")
        secret_type = _string(template.get("type"), "spec.template.type") or "Opaque"
        self._store_managed_secret(
            manifest, namespace, manifest.name, secret_type, SecretOrigin.SEALED_SECRET, body
        )

    def _store_managed_secret(
        self,
        manifest: Manifest,
        namespace: str,
        name: str,
        secret_type: str,
        origin: SecretOrigin,
        body: Mapping[str, Any],
        refresh_interval: str | None = None,
    ) -> None:
        data_key = PULL_SECRET_TYPES.get(secret_type)
        payload = PullSecretPayload(data_key) if data_key is not None else None
        self._store_secret(
            Secret(
                ObjectRef("Secret", namespace, name),
                manifest.location,
                secret_type,
                (),
                payload,
                origin,
                annotations=_annotations(body),
                creation_timestamp=_creation_timestamp(body),
                refresh_interval=refresh_interval,
            )
        )

    def _store_secret(self, secret: Secret) -> None:
        key = (secret.ref.namespace or self.default_namespace, secret.ref.name)
        existing = self.inventory.secrets.get(key)
        # A plain Secret and the ExternalSecret that writes it: the plain one tells more.
        plain = secret.origin is SecretOrigin.PLAIN
        if existing is None or plain == (existing.origin is SecretOrigin.PLAIN):  # two of one kind
            self._duplicates.keep(self.inventory.secrets, key, secret, secret.ref)
        elif plain:
            self.inventory.secrets[key] = secret


# -- field readers -----------------------------------------------------------------

# What the readers build mappings as (sources/fastyaml.py, sources/yamldocs.py, JSON): Mappings.
_MAPPINGS = frozenset({FastMap, LineMap, dict})


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if type(value) in _MAPPINGS or isinstance(value, Mapping):  # the readers' own types without the ABC check
        return cast("Mapping[str, Any]", value)
    raise FieldError(path, "a mapping")


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise FieldError(path, "a list")


def _string(value: Any, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise FieldError(path, "a string")


def _optional_bool(value: Any, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise FieldError(path, "true or false")


def _scalar_text(value: Any, path: str, expected: str = "a string") -> str:
    """A value Kubernetes reads as a string, as text: a number or a boolean as `str` gives it (as
    before; the API server refuses it unquoted). A list or mapping is an input problem naming the
    field, never turned into text: a chain of YAML aliases ("billion laughs") would expand to
    gigabytes."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        raise FieldError(path, expected)
    return str(value)


def _key_text(key: Any, path: str) -> str:
    """A map key as it appears in a field path (`metadata.labels[app]`), cut to 60 characters."""
    if isinstance(key, Mapping | list | tuple | set | frozenset):
        raise FieldError(path, "a mapping with string keys")
    text = key if isinstance(key, str) else str(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _string_map(value: Mapping[Any, Any], path: str) -> tuple[tuple[str, str], ...]:
    """A map[string]string (labels, annotations, matchLabels) as pairs; see `_scalar_text`."""
    pairs = []
    for key, item in value.items():
        shown = _key_text(key, path)
        pairs.append((key if isinstance(key, str) else str(key), _scalar_text(item, f"{path}[{shown}]")))
    return tuple(pairs)


def _annotations(body: Mapping[str, Any], where: str = "") -> tuple[tuple[str, str], ...]:
    return _metadata_pairs(body, "annotations", where)


def _labels(body: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return _metadata_pairs(body, "labels")


def _metadata_pairs(body: Mapping[str, Any], field: str, where: str = "") -> tuple[tuple[str, str], ...]:
    """`metadata.labels` or `metadata.annotations` (of the object, or of the template at `where`)."""
    metadata = body.get("metadata")
    if not isinstance(metadata, Mapping):
        return ()
    pairs = metadata.get(field)
    if not isinstance(pairs, Mapping):
        return ()
    return _string_map(pairs, f"{where}{'.' if where else ''}metadata.{field}")


def _data_written_at(body: Mapping[str, Any]) -> str | None:
    """The latest `metadata.managedFields[].time` of a manager that owns data or stringData.

    An entry without `fieldsV1` counts too (the server may omit it); entries that
    only touched labels or annotations do not, as they did not change the credential.
    """
    metadata = body.get("metadata")
    entries = metadata.get("managedFields") if isinstance(metadata, Mapping) else None
    if not isinstance(entries, list):
        return None
    latest: str | None = None
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("time") is None:
            continue
        fields = entry.get("fieldsV1")
        if isinstance(fields, Mapping) and "f:data" not in fields and "f:stringData" not in fields:
            continue
        value = entry["time"]
        text = (
            value.isoformat()
            if hasattr(value, "isoformat")
            else _scalar_text(value, "metadata.managedFields[].time", "a timestamp")
        )
        if latest is None or text > latest:
            latest = text
    return latest


def _creation_timestamp(body: Mapping[str, Any]) -> str | None:
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("creationTimestamp") is not None:
        value = metadata["creationTimestamp"]
        if hasattr(value, "isoformat"):
            return str(value.isoformat())
        return _scalar_text(value, "metadata.creationTimestamp", "a timestamp")
    return None


def _template_of(body: Mapping[str, Any], spec_path: str) -> Mapping[str, Any] | None:
    """The pod template mapping (the parent of the pod spec), when it is not the object itself."""
    steps = spec_path.split(".")[:-1]
    if not steps:
        return None
    node: Any = body
    for step in steps:
        node = node.get(step) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def _env_secret_mounts(container: Mapping[str, Any], name: str, where: str) -> list[SecretMount]:
    mounts: list[SecretMount] = []
    for index, env in enumerate(_list(container.get("env"), f"{where}.env")):
        value_from = _mapping(env, f"{where}.env[{index}]").get("valueFrom")
        if isinstance(value_from, Mapping) and isinstance(value_from.get("secretKeyRef"), Mapping):
            secret = _string(
                value_from["secretKeyRef"].get("name"), f"{where}.env[{index}].valueFrom.secretKeyRef.name"
            )
            mounts.append(SecretMount(secret, "env", name))
    for index, source in enumerate(_list(container.get("envFrom"), f"{where}.envFrom")):
        ref = _mapping(source, f"{where}.envFrom[{index}]").get("secretRef")
        if isinstance(ref, Mapping):
            mounts.append(
                SecretMount(
                    _string(ref.get("name"), f"{where}.envFrom[{index}].secretRef.name"), "envFrom", name
                )
            )
    return mounts


def _volume_secret_mounts(volume: Mapping[str, Any], where: str) -> list[SecretMount]:
    mounts: list[SecretMount] = []
    secret = volume.get("secret")
    if isinstance(secret, Mapping):
        mounts.append(
            SecretMount(_string(secret.get("secretName"), f"{where}.secret.secretName"), "volume", None)
        )
    projected = volume.get("projected")
    if isinstance(projected, Mapping):
        for index, source in enumerate(_list(projected.get("sources"), f"{where}.projected.sources")):
            ref = _mapping(source, f"{where}.projected.sources[{index}]").get("secret")
            if isinstance(ref, Mapping):
                mounts.append(
                    SecretMount(
                        _string(ref.get("name"), f"{where}.projected.sources[{index}].secret.name"),
                        "projected volume",
                        None,
                    )
                )
    return mounts


def _pull_secret_payload(
    data_key: str, data: Mapping[str, Any], string_data: Mapping[str, Any], origin: SecretOrigin
) -> PullSecretPayload:
    if origin is SecretOrigin.SOPS:
        return PullSecretPayload(data_key)  # encrypted: registries unknown until decrypted
    raw: bytes
    if data_key in string_data:  # the API server writes stringData over data
        value = string_data[data_key]
        if not isinstance(value, str):
            return PullSecretPayload(data_key, error=f"stringData['{data_key}'] is not a string")
        raw = value.encode("utf-8")
    else:
        value = data.get(data_key)
        if value is None or value == "":
            return PullSecretPayload(data_key, missing=True)
        if not isinstance(value, str):
            return PullSecretPayload(data_key, error=f"data['{data_key}'] is not a string")
        if has_template_marker(value):
            return PullSecretPayload(
                data_key, error=f"data['{data_key}'] is an un-rendered template expression"
            )
        try:
            raw = decode_secret_value(value)
        except DockerConfigError as error:
            return PullSecretPayload(data_key, error=f"data['{data_key}']: {error.reason}")
    if not raw.strip():
        return PullSecretPayload(data_key, missing=True)
    parse = parse_dockerconfigjson if data_key == ".dockerconfigjson" else parse_dockercfg
    try:
        entries = tuple(parse(raw))
    except DockerConfigError as error:
        return PullSecretPayload(data_key, error=error.reason)
    if any(gives_credential(entry.credential) for entry in entries):
        return PullSecretPayload(data_key, entries)
    unread: tuple[str, ...] = ()
    if data_key == ".dockercfg" and any(entry.key == "auths" for entry in entries):
        try:  # what a reader of the repository finds inside the wrapper
            unread = tuple(e.key for e in parse_dockerconfigjson(raw) if gives_credential(e.credential))
        except DockerConfigError:
            unread = ()
    return PullSecretPayload(
        data_key, entries, ignored_members=ignored_members(raw), unread_credentials=unread
    )


def _is_sops_encrypted(body: Mapping[str, Any]) -> bool:
    sops = body.get("sops")
    return isinstance(sops, Mapping) and bool(sops)


def _embedded_container_images(body: Mapping[str, Any]) -> tuple[str, ...]:
    """Images of any `containers` list of mappings with images, anywhere in the body."""
    images: list[str] = []
    seen: set[int] = set()
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Mapping):
            containers = node.get("containers")
            if isinstance(containers, list):
                images.extend(
                    redact_image(str(c["image"]))
                    for c in containers
                    if isinstance(c, Mapping) and isinstance(c.get("image"), str)
                )
            stack.extend(v for v in node.values() if isinstance(v, Mapping | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, Mapping | list))
    return tuple(images)


# -- RBAC and API server configuration (rbac.py, cluster_config.py) -----------------


def _strings(value: Any, path: str) -> tuple[str, ...]:
    return tuple(_string(item, f"{path}[{index}]") for index, item in enumerate(_list(value, path)))


def _read_rules(body: Mapping[str, Any]) -> tuple[PolicyRule, ...]:
    rules = []
    for index, item in enumerate(_list(body.get("rules"), "rules")):
        rule = _mapping(item, f"rules[{index}]")
        where = f"rules[{index}]"
        rules.append(
            PolicyRule(
                _strings(rule.get("apiGroups"), f"{where}.apiGroups"),
                _strings(rule.get("resources"), f"{where}.resources"),
                _strings(rule.get("verbs"), f"{where}.verbs"),
                _strings(rule.get("resourceNames"), f"{where}.resourceNames"),
                _strings(rule.get("nonResourceURLs"), f"{where}.nonResourceURLs"),
            )
        )
    return tuple(rules)


def _read_selector(value: Any, path: str) -> LabelSelector:
    selector = _mapping(value, path)
    labels = _mapping(selector.get("matchLabels") or {}, f"{path}.matchLabels")
    expressions = []
    for index, item in enumerate(_list(selector.get("matchExpressions"), f"{path}.matchExpressions")):
        expression = _mapping(item, f"{path}.matchExpressions[{index}]")
        expressions.append(
            LabelRequirement(
                _string(expression.get("key"), f"{path}.matchExpressions[{index}].key"),
                _string(expression.get("operator"), f"{path}.matchExpressions[{index}].operator"),
                _strings(expression.get("values"), f"{path}.matchExpressions[{index}].values"),
            )
        )
    return LabelSelector(_string_map(labels, f"{path}.matchLabels"), tuple(expressions))


def _read_role(manifest: Manifest, body: Mapping[str, Any], namespace: str | None) -> Role:
    aggregation = None
    if body.get("aggregationRule") is not None:
        rule = _mapping(body["aggregationRule"], "aggregationRule")
        selectors = _list(rule.get("clusterRoleSelectors"), "aggregationRule.clusterRoleSelectors")
        aggregation = tuple(
            _read_selector(s, f"aggregationRule.clusterRoleSelectors[{i}]") for i, s in enumerate(selectors)
        )
    return Role(
        ObjectRef(manifest.kind, namespace, manifest.name),
        manifest.location,
        _read_rules(body),
        _labels(body),
        aggregation,
    )


def _read_binding(
    manifest: Manifest, body: Mapping[str, Any], namespace: str | None, default: str
) -> RoleBinding:
    role_ref = _mapping(body.get("roleRef") or {}, "roleRef")
    subjects = []
    for index, item in enumerate(_list(body.get("subjects"), "subjects")):
        subject = _mapping(item, f"subjects[{index}]")
        kind = _string(subject.get("kind"), f"subjects[{index}].kind")
        name = _string(subject.get("name"), f"subjects[{index}].name")
        if not name:
            continue
        if kind == SERVICE_ACCOUNT:
            # The API server requires the namespace; a manifest applied with -n often leaves it out.
            subject_ns = (
                _string(subject.get("namespace"), f"subjects[{index}].namespace") or namespace or default
            )
            subjects.append(Subject(kind, name, subject_ns))
        else:
            subjects.append(Subject(kind, name))
    return RoleBinding(
        ObjectRef(manifest.kind, namespace, manifest.name),
        manifest.location,
        _string(role_ref.get("kind"), "roleRef.kind") or "Role",
        _string(role_ref.get("name"), "roleRef.name"),
        tuple(subjects),
    )


def _config_name(manifest: Manifest) -> str:
    return manifest.name or manifest.location.path.replace("\\", "/").rsplit("/", 1)[-1]


def _read_key(provider: str, value: Any) -> tuple[int | None, str | None, bool]:
    """(decoded length, problem, unresolved) of one key; the value itself is never kept or quoted."""
    if not isinstance(value, str) or not value.strip():
        return None, "has no secret", False
    text = value.strip()
    if has_template_marker(text):
        return None, None, True
    if "$(" in text or "`" in text:
        return (
            None,
            ("is a shell command substitution written literally ($(…)), not a key: the shell never ran it"),
            False,
        )
    try:
        raw = base64.b64decode(text.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        return None, "is not valid base64", False
    allowed = KEY_LENGTHS.get(provider, ())
    if allowed and len(raw) not in allowed:
        sizes = " or ".join(str(n) for n in allowed)
        return len(raw), f"decodes to {plural(len(raw), 'byte')}; {provider} needs {sizes}", False
    return len(raw), None, False


def _read_provider(item: Any, path: str) -> EncryptionProvider:
    provider = _mapping(item, path)
    kind = next((str(k) for k in provider), "")
    config = provider.get(kind)
    config = _mapping(config or {}, f"{path}.{kind}")
    if kind == "kms":
        return EncryptionProvider(
            "kms",
            name=_string(config.get("name"), f"{path}.kms.name") or None,
            kms_api_version=_string(config.get("apiVersion"), f"{path}.kms.apiVersion") or "v1",
            line=line_of(provider, 0),
        )
    keys = []
    for index, entry in enumerate(_list(config.get("keys"), f"{path}.{kind}.keys")):
        key = _mapping(entry, f"{path}.{kind}.keys[{index}]")
        name = _string(key.get("name"), f"{path}.{kind}.keys[{index}].name") or f"#{index + 1}"
        length, problem, unresolved = _read_key(kind, key.get("secret"))
        keys.append(EncryptionKey(name, length, problem, unresolved))
    return EncryptionProvider(kind, tuple(keys), line=line_of(provider, 0))


def _read_encryption_config(manifest: Manifest, body: Mapping[str, Any]) -> EncryptionConfig:
    entries = []
    for index, item in enumerate(_list(body.get("resources"), "resources")):
        entry = _mapping(item, f"resources[{index}]")
        providers = tuple(
            _read_provider(p, f"resources[{index}].providers[{i}]")
            for i, p in enumerate(_list(entry.get("providers"), f"resources[{index}].providers"))
        )
        entries.append(
            EncryptionResources(
                index, _strings(entry.get("resources"), f"resources[{index}].resources"), providers
            )
        )
    return EncryptionConfig(
        _config_name(manifest), manifest.location, manifest.kind, manifest.api_version, tuple(entries)
    )


def _read_audit_policy(manifest: Manifest, body: Mapping[str, Any]) -> AuditPolicy:
    rules = []
    for index, item in enumerate(_list(body.get("rules"), "rules")):
        rule = _mapping(item, f"rules[{index}]")
        where = f"rules[{index}]"
        resources = []
        for r_index, r_item in enumerate(_list(rule.get("resources"), f"{where}.resources")):
            group = _mapping(r_item, f"{where}.resources[{r_index}]")
            resources.append(
                AuditGroupResources(
                    _string(group.get("group"), f"{where}.resources[{r_index}].group"),
                    _strings(group.get("resources"), f"{where}.resources[{r_index}].resources"),
                    _strings(group.get("resourceNames"), f"{where}.resources[{r_index}].resourceNames"),
                )
            )
        rules.append(
            AuditRule(
                index + 1,
                _string(rule.get("level"), f"{where}.level") or "None",
                _strings(rule.get("users"), f"{where}.users"),
                _strings(rule.get("userGroups"), f"{where}.userGroups"),
                _strings(rule.get("verbs"), f"{where}.verbs"),
                tuple(resources),
                _strings(rule.get("namespaces"), f"{where}.namespaces"),
                _strings(rule.get("nonResourceURLs"), f"{where}.nonResourceURLs"),
                _strings(rule.get("omitStages"), f"{where}.omitStages"),
                line_of(rule, 0),
            )
        )
    return AuditPolicy(
        _config_name(manifest),
        manifest.location,
        tuple(rules),
        _strings(body.get("omitStages"), "omitStages"),
    )


_RBAC = "rbac.authorization.k8s.io"


def _add_rbac_or_config(
    inventory: Inventory, manifest: Manifest, body: Mapping[str, Any], namespace: str
) -> bool:
    """RBAC objects and API server configuration files; False for any other kind."""
    group, kind = api_group(manifest.api_version), manifest.kind
    if group == _RBAC and kind == "Role":
        inventory.roles[(namespace, manifest.name)] = _read_role(manifest, body, namespace)
    elif group == _RBAC and kind == "ClusterRole":
        inventory.cluster_roles[manifest.name] = _read_role(manifest, body, None)
    elif group == _RBAC and kind == "RoleBinding":
        inventory.role_bindings.append(_read_binding(manifest, body, namespace, namespace))
    elif group == _RBAC and kind == "ClusterRoleBinding":
        inventory.cluster_role_bindings.append(_read_binding(manifest, body, None, namespace))
    elif (group, kind) in (("apiserver.config.k8s.io", "EncryptionConfiguration"), ("", "EncryptionConfig")):
        inventory.encryption_configs.append(_read_encryption_config(manifest, body))
    elif group == "audit.k8s.io" and kind == "Policy":
        inventory.audit_policies.append(_read_audit_policy(manifest, body))
    elif add_kubelet_document(
        inventory.kubelet, manifest.api_version, kind, manifest.name, body, manifest.location
    ):
        pass
    else:
        return False
    return True
