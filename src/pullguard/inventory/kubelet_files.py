"""The node files `.pullguard.yaml` names under ``kubelet:``, read the way the kubelet reads them.

```yaml
kubelet:
  kubernetesVersion: v1.34            # or --kubernetes-version; live clusters use each node's
  providerConfig: nodes/credential-providers/   # a file, or a directory (merged by file name)
  kubeletConfig: nodes/kubelet-config.yaml      # imagePullCredentialsVerificationPolicy, allowlist
  dockerConfig: nodes/config.json               # the kubelet's own docker config.json
  featureGates: {KubeletEnsureSecretPulledImages: false}
```

Paths are relative to the configuration file. A provider-config directory is read like the
kubelet's ``readCredentialProviderConfig``: only its ``*.json``, ``*.yaml`` and ``*.yml`` files,
in lexicographic order of their paths, merged. Problems with the files themselves (missing,
unreadable, an empty directory) are configuration errors; what the kubelet would refuse inside
them is reported by PG019.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pullguard.errors import DockerConfigError
from pullguard.inventory.kinds import needs_body
from pullguard.inventory.kubelet_config import (
    CONFIG_GROUP,
    KubeletInputs,
    NodeDockerConfig,
    add_kubelet_document,
)
from pullguard.semantics.dockerconfig import parse_dockercfg, parse_dockerconfigjson
from pullguard.semantics.kubelet_versions import VersionError, parse_version
from pullguard.sources.files import FileSource

PROVIDER_SUFFIXES = (".json", ".yaml", ".yml")
MAX_NODE_FILE_BYTES = 1 << 20  # a kubelet config or config.json is kilobytes; refuse anything huge
FIELDS = ("kubernetesVersion", "providerConfig", "kubeletConfig", "dockerConfig", "featureGates")


class KubeletFileError(Exception):
    """A `kubelet:` setting that cannot be used; the message names the field and the file."""


def read_kubelet_section(value: Any, base: Path) -> KubeletInputs:
    """The ``kubelet:`` mapping of the configuration; raises KubeletFileError naming the field."""
    if not isinstance(value, Mapping):
        raise KubeletFileError("kubelet: must be a mapping with " + ", ".join(FIELDS))
    unknown = [str(k) for k in value if k not in FIELDS]
    if unknown:
        raise KubeletFileError(f"kubelet.{unknown[0]}: unknown key; expected one of {', '.join(FIELDS)}")
    inputs = KubeletInputs()
    version = value.get("kubernetesVersion")
    if version is not None:
        if not isinstance(version, str):  # never str(): the YAML number 1.40 is 1.4
            raise KubeletFileError('kubelet.kubernetesVersion: must be a string such as "v1.34"')
        try:
            parse_version(version)
        except VersionError as error:
            raise KubeletFileError(f"kubelet.kubernetesVersion: {error}") from None
        inputs.version = version
    gates = value.get("featureGates")
    if gates is not None:
        if not isinstance(gates, Mapping) or not all(isinstance(v, bool) for v in gates.values()):
            raise KubeletFileError("kubelet.featureGates: must map feature names to true or false")
        inputs.feature_gates = tuple((str(k), bool(v)) for k, v in gates.items())
    if "providerConfig" in value:
        read_provider_config(_path(value["providerConfig"], base, "providerConfig"), inputs)
    if "kubeletConfig" in value:
        read_kubelet_config(_path(value["kubeletConfig"], base, "kubeletConfig"), inputs)
    if "dockerConfig" in value:
        inputs.docker_configs.append(read_docker_config(_path(value["dockerConfig"], base, "dockerConfig")))
    return inputs


def _path(value: Any, base: Path, field: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise KubeletFileError(f"kubelet.{field}: must be a path")
    path = Path(value)
    return path if path.is_absolute() else base / path


def provider_config_files(path: Path) -> list[Path]:
    """The files the kubelet reads for ``--image-credential-provider-config`` PATH."""
    if path.is_dir():
        files = sorted(
            (
                path / name
                for name in os.listdir(path)
                if name.endswith(PROVIDER_SUFFIXES) and (path / name).is_file()
            ),
            key=str,
        )
        if not files:
            raise KubeletFileError(f"kubelet.providerConfig: no *.json, *.yaml or *.yml file in {path}")
        return files
    if not path.is_file():
        raise KubeletFileError(f"kubelet.providerConfig: {path} not found")
    return [path]


def _documents(path: Path, field: str, inputs: KubeletInputs, kind: str) -> None:
    if path.stat().st_size > MAX_NODE_FILE_BYTES:
        raise KubeletFileError(f"kubelet.{field}: {path} is larger than {MAX_NODE_FILE_BYTES} bytes")
    source = FileSource(needs_body)
    found = 0
    for manifest in source.read([str(path)]):
        if manifest.body is None:
            continue
        if manifest.kind != kind or manifest.api_version.rpartition("/")[0] != CONFIG_GROUP:
            raise KubeletFileError(
                f"kubelet.{field}: {manifest.location}: {manifest.api_version} {manifest.kind} is not a "
                f"{CONFIG_GROUP} {kind} (the kubelet refuses the file)"
            )
        add_kubelet_document(
            inputs, manifest.api_version, kind, manifest.name, manifest.body, manifest.location
        )
        found += 1
    errors = [p for p in source.problems if p.level.value == "error"]
    if errors:
        raise KubeletFileError(f"kubelet.{field}: {errors[0]}")
    if not found:
        raise KubeletFileError(f"kubelet.{field}: {path} holds no {kind}")


def read_provider_config(path: Path, inputs: KubeletInputs) -> None:
    for file in provider_config_files(path):
        _documents(file, "providerConfig", inputs, "CredentialProviderConfig")


def read_kubelet_config(path: Path, inputs: KubeletInputs) -> None:
    if not path.is_file():
        raise KubeletFileError(f"kubelet.kubeletConfig: {path} not found")
    _documents(path, "kubeletConfig", inputs, "KubeletConfiguration")


def read_docker_config(path: Path) -> NodeDockerConfig:
    """The kubelet's config.json (or a legacy .dockercfg, by its name); a decoding error is kept."""
    try:
        if path.stat().st_size > MAX_NODE_FILE_BYTES:
            raise KubeletFileError(f"kubelet.dockerConfig: {path} is larger than {MAX_NODE_FILE_BYTES} bytes")
        data = path.read_bytes()
    except OSError as error:
        raise KubeletFileError(f"kubelet.dockerConfig: cannot read {path}: {error.strerror}") from None
    try:
        entries = parse_dockercfg(data) if path.name.endswith(".dockercfg") else parse_dockerconfigjson(data)
    except DockerConfigError as error:
        return NodeDockerConfig(str(path), (), str(error))
    return NodeDockerConfig(str(path), tuple(entries))
