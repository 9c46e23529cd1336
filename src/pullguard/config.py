"""`.pullguard.yaml`: found upward from the scanned path, or named with `--config`.

```yaml
privateRegistries: ["*.corp.example"]          # auths-key syntax
publicRegistries: ["quay.io/prometheus"]
assumePrivate: false
nodeCredentials:                                # what the nodes pull with, and how
  - registry: "*.dkr.ecr.*.amazonaws.com"
    via: node IAM role (AmazonEC2ContainerRegistryReadOnly)
maxCredentialAgeDays: 90                        # PG005
fingerprintKey: "..."                           # PG007; PULLGUARD_FINGERPRINT_KEY wins
severity: {PG013: info}
disable: [PG004]
kubelet:                                        # the nodes' kubelet (inventory/kubelet_files.py)
  kubernetesVersion: v1.34
  providerConfig: nodes/credential-providers/
suppressions:
  - check: PG009
    object: "Secret shop/legacy-*"              # glob over `Kind namespace/name`
    reason: kept for the rollback of release 7
    expires: 2026-12-31
externalPullSecrets:                            # pull secrets not in the repository
  - name: regcred                               # glob over the name
    namespace: "*"                              # glob over the namespace (default *)
    registries: ["registry.corp.example"]       # the auths keys it holds
  - name: "ghcr-*"                              # no registries: exists, coverage unverifiable
auditLog:                                       # audit-log and scan --audit-log (PG040)
  expect: ["system:serviceaccount:argocd:*"]    # user names (globs) whose reads are expected
  scanners: ["system:serviceaccount:pullguard:scanner"]
  allowUserAgents: ["kubectl/*", "argocd-*"]    # globs; reads from other agents are flagged
  allowSources: ["10.0.0.0/8"]                  # CIDRs; reads from elsewhere are flagged
  businessHours: "08:00-18:00"                  # reads outside are flagged
  businessDays: mon-fri
  timezone: Europe/Berlin
```

Every error names the file and line (from the YAML node marks) and never a value
of `fingerprintKey`. Errors are collected, then raised together as one ConfigError whose
problems the CLI prints one per line.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from pullguard.checks.base import Severity
from pullguard.errors import ConfigError
from pullguard.inventory.kubelet_config import KubeletInputs
from pullguard.inventory.kubelet_files import KubeletFileError, read_kubelet_section
from pullguard.semantics.keyring import parse_registry_key
from pullguard.settings import (
    DEFAULT_MAX_AGE_DAYS,
    AuditLogSettings,
    ExternalPullSecret,
    NodeCredential,
    ScanOptions,
    Suppression,
)

CONFIG_NAMES = (".pullguard.yaml", ".pullguard.yml")
SEVERITIES = ("info", "low", "medium", "high", "critical")
_CHECK_ID = re.compile(r"PG\d{3}")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A scalar PyYAML cannot build (its error is reported): see _Reader.scalar.
_UNREADABLE: Any = object()
_OBJECT_PATTERN = re.compile(r"\S+ \S+")
_PULL_SECRET_TYPES = ("kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg")


@dataclass(frozen=True, slots=True)
class Config:
    path: str | None = None
    private_registries: tuple[str, ...] = ()
    public_registries: tuple[str, ...] = ()
    assume_private: bool = False
    node_credentials: tuple[NodeCredential, ...] = ()
    max_age_days: int | None = None
    fingerprint_key: str | None = None
    severity: tuple[tuple[str, str], ...] = ()
    disable: tuple[str, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    external_pull_secrets: tuple[ExternalPullSecret, ...] = ()
    audit_log: AuditLogSettings = field(default_factory=AuditLogSettings)
    kubelet: KubeletInputs | None = None  # `kubelet:`: node files and version (inventory/kubelet_files.py)


def find_config(paths: list[str]) -> Path | None:
    """The first `.pullguard.yaml` in the directory of the first scanned path or above it."""
    start = Path(paths[0]) if paths and paths[0] != "-" else Path.cwd()
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for candidate_dir in (directory, *directory.parents):
        for name in CONFIG_NAMES:
            candidate = candidate_dir / name
            if candidate.is_file():
                return candidate
    return None


def load_config(path: Path, known_checks: frozenset[str]) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise ConfigError(f"{path}: cannot read the configuration: {reason}") from None
    return parse_config(text, str(path), known_checks)


def parse_config(text: str, name: str, known_checks: frozenset[str]) -> Config:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:  # a control character: YAML allows none
        raise ConfigError(
            f"{name}: not valid YAML: {error.reason} character #x{error.character:04x} "
            f"at character {error.position + 1}"
        ) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"{name}:{mark.line + 1}" if mark is not None else name
            raise ConfigError(
                f"{where}: not valid YAML: {getattr(error, 'problem', None) or error}"
            ) from None
        except RecursionError:  # the pure-Python composer recurses once per nesting level
            raise ConfigError(f"{name}: not valid YAML: nested too deeply") from None
        return _Reader(name, loader, known_checks).read(root)
    finally:
        loader.dispose()


class _Reader:
    def __init__(self, name: str, loader: yaml.SafeLoader, known_checks: frozenset[str]) -> None:
        self.name = name
        self.loader = loader
        self.known_checks = known_checks
        self.errors: list[str] = []

    def error(self, node: yaml.Node, field: str, message: str) -> None:
        self.errors.append(f"{self.name}:{node.start_mark.line + 1}: {field}: {message}")

    def read(self, root: yaml.Node | None) -> Config:
        if root is None:
            return Config(path=self.name)
        fields = self.mapping(root, "(top level)")
        if fields is None:
            raise ConfigError("invalid configuration:", self.errors)
        readers: dict[str, Callable[[yaml.Node, str], Any]] = {
            "privateRegistries": self.patterns,
            "publicRegistries": self.patterns,
            "assumePrivate": self.boolean,
            "nodeCredentials": self.node_credentials,
            "maxCredentialAgeDays": self.positive_int,
            "fingerprintKey": self.secret_string,
            "severity": self.severities,
            "disable": self.check_ids,
            "suppressions": self.suppressions,
            "externalPullSecrets": self.external_pull_secrets,
            "auditLog": self.audit_log,
            "kubelet": self.kubelet,
        }
        values: dict[str, Any] = {}
        for key, (key_node, value_node) in fields.items():
            reader = readers.get(key)
            if reader is None:
                self.error(key_node, key, f"unknown key; expected one of {', '.join(readers)}")
                continue
            values[key] = reader(value_node, key)
        if self.errors:
            raise ConfigError("invalid configuration:", self.errors)
        return Config(
            path=self.name,
            private_registries=values.get("privateRegistries") or (),
            public_registries=values.get("publicRegistries") or (),
            assume_private=bool(values.get("assumePrivate")),
            node_credentials=values.get("nodeCredentials") or (),
            max_age_days=values.get("maxCredentialAgeDays"),
            fingerprint_key=values.get("fingerprintKey"),
            severity=values.get("severity") or (),
            disable=values.get("disable") or (),
            suppressions=values.get("suppressions") or (),
            external_pull_secrets=values.get("externalPullSecrets") or (),
            audit_log=values.get("auditLog") or AuditLogSettings(),
            kubelet=values.get("kubelet"),
        )

    # -- shapes ---------------------------------------------------------------------

    def mapping(self, node: yaml.Node, field: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, field, "must be a mapping")
            return None
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, field) if isinstance(key_node, yaml.ScalarNode) else None
            if key is _UNREADABLE:
                continue
            if not isinstance(key, str):
                self.error(key_node, field, "keys must be strings")
                continue
            if key in found:
                self.error(key_node, f"{field}.{key}" if field != "(top level)" else key, "given twice")
            found[key] = (key_node, value_node)
        return found

    def sequence(self, node: yaml.Node, field: str) -> list[yaml.Node] | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, field, "must be a list")
            return None
        return list(node.value)

    def scalar(self, node: yaml.Node, field: str, *, secret: bool = False, expected: str = "") -> Any:
        """The value of a scalar node, or _UNREADABLE when PyYAML's constructor refuses it (an
        impossible date such as 2026-13-45 or 2026-02-30, hour 25, `0b_`, an unknown tag, bad
        `!!binary`): that is reported as the field's error. `expected` heads the message
        ("must be ..."); `secret`: the value is never shown."""
        if not isinstance(node, yaml.ScalarNode):
            return node  # a mapping or list where a scalar belongs: the caller reports it
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, LookupError, ArithmeticError):
            # PyYAML's constructors on text they were not written for: ValueError (2026-13-45),
            # IndexError (`!!int ""`), AttributeError (`!!timestamp x`), OverflowError
            # the constructor stopped half-way: forget the node it was building (an alias of it
            # is built, and refused, anew) and the deep mode it was in
            self.loader.recursive_objects.clear()
            self.loader.deep_construct = False
            reason = _unbuildable(node, secret)
            self.error(node, field, f"must be {expected}: {reason}" if expected else reason)
            return _UNREADABLE

    def string(self, node: yaml.Node, field: str, *, empty: bool = False) -> str | None:
        value = self.scalar(node, field)
        if value is _UNREADABLE:
            return None
        if not isinstance(value, str) or (not empty and not value.strip()):
            self.error(node, field, "must be a non-empty string")
            return None
        return value

    # -- fields -----------------------------------------------------------------------

    def boolean(self, node: yaml.Node, field: str) -> bool | None:
        value = self.scalar(node, field, expected="true or false")
        if value is _UNREADABLE:
            return None
        if not isinstance(value, bool):
            self.error(node, field, "must be true or false")
            return None
        return value

    def positive_int(self, node: yaml.Node, field: str) -> int | None:
        value = self.scalar(node, field, expected="a whole number of days above 0")
        if value is _UNREADABLE:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.error(node, field, "must be a whole number of days above 0")
            return None
        return value

    def secret_string(self, node: yaml.Node, field: str) -> str | None:
        value = self.scalar(node, field, secret=True)
        if value is _UNREADABLE:
            return None
        if not isinstance(value, str) or len(value) < 16:
            self.error(node, field, "must be a string of at least 16 characters (value not shown)")
            return None
        return value

    def pattern(self, node: yaml.Node, field: str) -> str | None:
        value = self.string(node, field)
        if value is None:
            return None
        if parse_registry_key(value) is None or value != value.strip():
            self.error(
                node, field, f"{value!r} is not a registry pattern (host[:port][/path], * per host label)"
            )
            return None
        return value

    def patterns(self, node: yaml.Node, field: str) -> tuple[str, ...]:
        items = self.sequence(node, field) or []
        found = [self.pattern(item, f"{field}[{index}]") for index, item in enumerate(items)]
        return tuple(p for p in found if p is not None)

    def check_id(self, node: yaml.Node, field: str, *, wildcard: bool = False) -> str | None:
        """A check id as written (pg012, PG012): upper case, as `explain` and `--disable` take it."""
        value = self.string(node, field)
        if value is None:
            return None
        if wildcard and value == "*":
            return value
        if not _CHECK_ID.fullmatch(value.upper()) or value.upper() not in self.known_checks:
            self.error(node, field, f"unknown check {value!r}; see `pullguard checks`")
            return None
        return value.upper()

    def check_ids(self, node: yaml.Node, field: str) -> tuple[str, ...]:
        items = self.sequence(node, field) or []
        found = [self.check_id(item, f"{field}[{index}]") for index, item in enumerate(items)]
        return tuple(c for c in found if c is not None)

    def severities(self, node: yaml.Node, field: str) -> tuple[tuple[str, str], ...]:
        fields = self.mapping(node, field) or {}
        found: list[tuple[str, str]] = []
        for key, (key_node, value_node) in fields.items():
            check = self.check_id(key_node, f"{field}.{key}")
            value = self.scalar(value_node, f"{field}.{key}")
            if value is _UNREADABLE:
                continue
            if value not in SEVERITIES:
                self.error(value_node, f"{field}.{key}", f"must be one of {', '.join(SEVERITIES)}")
                continue
            if check is not None and check in dict(found):  # PG013 and pg013
                self.error(key_node, f"{field}.{key}", f"{check} given twice")
            elif check is not None:
                found.append((check, value))
        return tuple(found)

    def node_credentials(self, node: yaml.Node, field: str) -> tuple[NodeCredential, ...]:
        found: list[NodeCredential] = []
        for index, item in enumerate(self.sequence(node, field) or []):
            where = f"{field}[{index}]"
            fields = self.mapping(item, where)
            if fields is None:
                continue
            self.only(fields, where, ("registry", "via"))
            if "registry" not in fields:
                self.error(item, where, "needs 'registry' (a registry pattern)")
                continue
            registry = self.pattern(fields["registry"][1], f"{where}.registry")
            via = (
                self.string(fields["via"][1], f"{where}.via")
                if "via" in fields
                else "node credentials (configuration)"
            )
            if registry is not None and via is not None:
                found.append(NodeCredential(registry, via))
        return tuple(found)

    def kubelet(self, node: yaml.Node, field: str) -> KubeletInputs | None:
        keys = (
            {k.value: k for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
            if isinstance(node, yaml.MappingNode)
            else {}
        )
        if not self.buildable(node, field):
            return None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == "kubernetesVersion" and not self.version(value_node, field):
                    return None
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, RecursionError) as error:  # a bad merge key, nesting too deep
            self.loader.recursive_objects.clear()
            self.loader.deep_construct = False
            self.error(
                node, field, f"cannot be read: {getattr(error, 'problem', None) or 'nested too deeply'}"
            )
            return None
        try:
            return read_kubelet_section(value, Path(self.name).parent)
        except KubeletFileError as error:
            message = str(error)
            key = message.removeprefix(f"{field}.").partition(":")[0]
            if message.startswith(f"{field}.") and key in keys:  # `kubelet.KEY: ...`: on KEY's line
                self.error(keys[key], f"{field}.{key}", message.removeprefix(f"{field}.{key}:").strip())
            else:
                self.error(node, field, message.removeprefix(f"{field}: ").removeprefix(f"{field}."))
            return None

    def buildable(self, node: yaml.Node, field: str) -> bool:
        """Whether every scalar under `node` can be built; each that cannot is reported."""
        fine, seen, todo = True, set(), [node]
        while todo:
            current = todo.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if isinstance(current, yaml.ScalarNode):
                fine = self.scalar(current, field) is not _UNREADABLE and fine
            elif isinstance(current, yaml.SequenceNode):
                todo.extend(current.value)
            elif isinstance(current, yaml.MappingNode):
                todo.extend(n for pair in current.value for n in pair)
        return fine

    def version(self, node: yaml.Node, field: str) -> bool:
        """`kubernetesVersion` is a string: an unquoted 1.40 is the YAML number 1.4 (v1.4), 1.30
        is 1.3, and the files would be judged for a kubelet years older than meant."""
        if isinstance(node, yaml.ScalarNode) and node.tag in _NUMBER_TAGS:
            number = self.loader.construct_object(node)
            reads = f" ({node.value} reads as {number})" if str(number) != node.value else ""
            self.error(
                node,
                f"{field}.kubernetesVersion",
                f'{number} is a YAML number{reads}; write it as a string: "{node.value}"',
            )
            return False
        return True

    def suppressions(self, node: yaml.Node, field: str) -> tuple[Suppression, ...]:
        found: list[Suppression] = []
        for index, item in enumerate(self.sequence(node, field) or []):
            where = f"{field}[{index}]"
            fields = self.mapping(item, where)
            if fields is None:
                continue
            self.only(fields, where, ("check", "object", "reason", "expires"))
            missing = [k for k in ("check", "object", "reason") if k not in fields]
            if missing:
                self.error(item, where, f"needs {', '.join(repr(k) for k in missing)}")
                continue
            check = self.check_id(fields["check"][1], f"{where}.check", wildcard=True)
            pattern = self.string(fields["object"][1], f"{where}.object")
            if pattern is not None and pattern != "*" and not _OBJECT_PATTERN.fullmatch(pattern):
                self.error(
                    fields["object"][1],
                    f"{where}.object",
                    f"{pattern!r} is not an object pattern: 'Kind namespace/name' with * globs, e.g. "
                    "'Secret shop/legacy-*' or '* ops/*'",
                )
                pattern = None
            reason = self.string(fields["reason"][1], f"{where}.reason")
            expires = self.expiry(fields["expires"][1], f"{where}.expires") if "expires" in fields else None
            if check is not None and pattern is not None and reason is not None:
                found.append(
                    Suppression(
                        check,
                        pattern,
                        reason.strip(),
                        expires,
                        f"{self.name} line {item.start_mark.line + 1}",
                    )
                )
        return tuple(found)

    def external_pull_secrets(self, node: yaml.Node, field: str) -> tuple[ExternalPullSecret, ...]:
        found: list[ExternalPullSecret] = []
        for index, item in enumerate(self.sequence(node, field) or []):
            where = f"{field}[{index}]"
            fields = self.mapping(item, where)
            if fields is None:
                continue
            self.only(fields, where, ("name", "namespace", "type", "registries"))
            if "name" not in fields:
                self.error(item, where, "needs 'name' (the secret's name, * globs allowed)")
                continue
            name = self.string(fields["name"][1], f"{where}.name")
            namespace = (
                self.string(fields["namespace"][1], f"{where}.namespace") if "namespace" in fields else "*"
            )
            secret_type = (
                self.string(fields["type"][1], f"{where}.type")
                if "type" in fields
                else "kubernetes.io/dockerconfigjson"
            )
            if secret_type is not None and secret_type not in _PULL_SECRET_TYPES:
                self.error(
                    fields["type"][1], f"{where}.type", f"must be one of {', '.join(_PULL_SECRET_TYPES)}"
                )
                secret_type = None
            registries = (
                self.patterns(fields["registries"][1], f"{where}.registries")
                if "registries" in fields
                else ()
            )
            if name is not None and namespace is not None and secret_type is not None:
                found.append(
                    ExternalPullSecret(
                        name,
                        namespace,
                        secret_type,
                        registries,
                        f"{self.name} line {item.start_mark.line + 1}",
                    )
                )
        return tuple(found)

    def audit_log(self, node: yaml.Node, field: str) -> AuditLogSettings | None:
        from pullguard.auditlog.classify import BusinessHours, ReadPolicy

        fields = self.mapping(node, field)
        if fields is None:
            return None
        self.only(
            fields,
            field,
            (
                "expect",
                "scanners",
                "allowUserAgents",
                "allowSources",
                "businessHours",
                "businessDays",
                "timezone",
            ),
        )

        def strings(key: str, check: Callable[[str], object] | None = None) -> tuple[str, ...]:
            if key not in fields:
                return ()
            found: list[str] = []
            for index, item in enumerate(self.sequence(fields[key][1], f"{field}.{key}") or []):
                value = self.string(item, f"{field}.{key}[{index}]")
                if value is not None and self.valid(item, f"{field}.{key}[{index}]", check, value.strip()):
                    found.append(value.strip())
            return tuple(found)

        def single(key: str, check: Callable[[str], object]) -> str | None:
            if key not in fields:
                return None
            value = self.string(fields[key][1], f"{field}.{key}")
            if value is None or not self.valid(fields[key][1], f"{field}.{key}", check, value.strip()):
                return None
            return value.strip()

        if "businessHours" not in fields:
            for key in ("businessDays", "timezone"):
                if key in fields:
                    self.error(
                        fields[key][0], f"{field}.{key}", "applies to businessHours, which is not given"
                    )
        return AuditLogSettings(
            user_agents=strings("allowUserAgents"),
            sources=strings("allowSources", lambda v: ReadPolicy.networks([v])),
            business_hours=single("businessHours", BusinessHours.parse),
            business_days=single("businessDays", lambda v: BusinessHours.parse("00:00-01:00", v)),
            timezone=single("timezone", lambda v: BusinessHours.parse("00:00-01:00", "mon-fri", v)),
            expect=strings("expect"),
            scanners=strings("scanners"),
        )

    def valid(self, node: yaml.Node, field: str, check: Callable[[str], object] | None, value: str) -> bool:
        """`check(value)` raises ValueError with the reason when the value is not valid."""
        try:
            if check is not None:
                check(value)
        except ValueError as error:
            self.error(node, field, str(error))
            return False
        return True

    def expiry(self, node: yaml.Node, field: str) -> date | None:
        value = self.scalar(node, field, expected="a date (YYYY-MM-DD)")
        if value is _UNREADABLE:
            return None
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = date.fromisoformat(value.strip())
        if not isinstance(value, date):
            shown = value.strip() if isinstance(value, str) else ""
            impossible = f": {shown} is not a calendar date" if _DATE.fullmatch(shown) else ""
            self.error(node, field, f"must be a date (YYYY-MM-DD){impossible}")
            return None
        return value

    def only(
        self, fields: dict[str, tuple[yaml.Node, yaml.Node]], where: str, allowed: tuple[str, ...]
    ) -> None:
        for key, (key_node, _) in fields.items():
            if key not in allowed:
                self.error(key_node, f"{where}.{key}", f"unknown key; expected one of {', '.join(allowed)}")


def _unbuildable(node: yaml.ScalarNode, secret: bool) -> str:
    """Why PyYAML cannot build a scalar, quoting it only when it is a date's digits."""
    if node.tag == _TIMESTAMP_TAG:
        shape = yaml.constructor.SafeConstructor.timestamp_regexp.match(node.value)
        if shape is None or secret:
            return "not a YAML timestamp (YYYY-MM-DD, or an ISO 8601 date and time)"
        if shape.group("hour") is None:
            return f"{node.value} is not a calendar date"
        return f"{node.value} is not a valid date and time"
    kind = node.tag.removeprefix("tag:yaml.org,2002:")
    if kind == node.tag:
        shown = kind if len(kind) <= 60 else kind[:57] + "..."
        return f"the YAML tag {shown!r} is not supported"
    return f"cannot be read as a YAML {kind}"


def resolve_config(
    given: str | None, disabled: bool, paths: list[str], known_checks: frozenset[str]
) -> Config:
    """The configuration of a scan: `--config PATH`, else the nearest `.pullguard.yaml`, else none."""
    if disabled:
        return Config()
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise ConfigError(f"{given}: configuration file not found")
        return load_config(path, known_checks)
    found = find_config(paths)
    return load_config(found, known_checks) if found is not None else Config()


def scan_options(
    config: Config,
    *,
    default_namespace: str,
    private_patterns: tuple[str, ...],
    public_patterns: tuple[str, ...],
    node_patterns: tuple[str, ...],
    assume_private: bool,
    disabled_checks: tuple[str, ...],
    max_age_days: int | None,
    kubernetes_version: str | None = None,
) -> ScanOptions:
    """The one configuration of every command: command-line flags added to (or, for single
    values, winning over) the file's."""
    flagged = tuple(
        NodeCredential(p)
        for p in dict.fromkeys(node_patterns)
        if p not in {n.registry for n in config.node_credentials}
    )
    return ScanOptions(
        default_namespace=default_namespace,
        private_patterns=(*config.private_registries, *private_patterns),
        public_patterns=(*config.public_registries, *public_patterns),
        node_credentials=(*config.node_credentials, *flagged),
        external_pull_secrets=config.external_pull_secrets,
        assume_private=assume_private or config.assume_private,
        disabled_checks=frozenset((*config.disable, *disabled_checks)),
        max_age_days=max_age_days or config.max_age_days or DEFAULT_MAX_AGE_DAYS,
        fingerprint_key=config.fingerprint_key,
        severity_overrides=tuple((check, Severity(value)) for check, value in config.severity),
        suppressions=config.suppressions,
        audit_log=config.audit_log,
        kubelet=config.kubelet,
        kubernetes_version=kubernetes_version,
    )
