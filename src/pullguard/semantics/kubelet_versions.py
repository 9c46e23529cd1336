"""Which kubelet behaviours a Kubernetes version has: feature-gate defaults, version by version.

Pure data and functions, no I/O. Sources (kubernetes/kubernetes ``pkg/features/kube_features.go``,
the v1.35-era copy, and the feature-gate pages of kubernetes/website):

* ``KubeletServiceAccountTokenForCredentialProviders`` (KEP-4412): alpha, off, in v1.33;
  beta and on by default from v1.34.
* ``KubeletEnsureSecretPulledImages`` (KEP-2535): alpha, off, in v1.33; beta and on by
  default from v1.35. When on, an empty ``imagePullCredentialsVerificationPolicy`` is
  defaulted to ``NeverVerifyPreloadedImages`` (``pkg/kubelet/apis/config/v1beta1/defaults.go``).
* ``ImageVolume``: alpha v1.31, beta but off by default v1.33-v1.34, on by default from v1.35.
* ``PreventStaticPodAPIReferences``: beta and on by default in v1.34; the gate is gone in
  v1.37 and the restriction always applies. Before v1.34 the kubelet did not reject a static
  pod naming a Secret, but it could never read one either (a static pod has no API object to
  authorize the read), so its pull secrets were never used.

An explicit feature gate (``--feature-gates``, ``featureGates`` in KubeletConfiguration) wins
over the version's default, except where the gate is locked (GA or removed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "ENSURE_SECRET_PULLED_IMAGES",
    "FEATURES",
    "IMAGE_VOLUME",
    "PREVENT_STATIC_POD_API_REFERENCES",
    "SA_TOKEN_FOR_CREDENTIAL_PROVIDERS",
    "Feature",
    "KubeletVersion",
    "VersionError",
    "feature_enabled",
    "parse_version",
]

SA_TOKEN_FOR_CREDENTIAL_PROVIDERS = "KubeletServiceAccountTokenForCredentialProviders"
ENSURE_SECRET_PULLED_IMAGES = "KubeletEnsureSecretPulledImages"
IMAGE_VOLUME = "ImageVolume"
PREVENT_STATIC_POD_API_REFERENCES = "PreventStaticPodAPIReferences"


class VersionError(ValueError):
    """A Kubernetes version that cannot be read."""


@dataclass(frozen=True, slots=True, order=True)
class KubeletVersion:
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    @property
    def short(self) -> str:
        return f"v{self.major}.{self.minor}"

    def at_least(self, minor: int) -> bool:
        return (self.major, self.minor) >= (1, minor)


# v1.34, 1.34, v1.35.2, v1.33.5-eks-1234abc, v1.32.1+k3s1, v1.36.0-gke.100
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.+_-]*)?")


def parse_version(text: str) -> KubeletVersion:
    """A node's ``kubeletVersion`` or a user's ``--kubernetes-version``: vMAJOR.MINOR[.PATCH][-suffix]."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        raise VersionError(f"{text!r} is not a Kubernetes version (expected e.g. v1.34 or 1.35.2)")
    major, minor, patch = match.group(1), match.group(2), match.group(3)
    return KubeletVersion(int(major), int(minor), int(patch or 0))


@dataclass(frozen=True, slots=True)
class Feature:
    """A kubelet feature gate: the first minor version where it exists and where it is on by default."""

    name: str
    introduced: int  # first 1.x minor with the gate
    default_on: int | None  # first 1.x minor where it is on by default
    locked_on: int | None = None  # first 1.x minor where it can no longer be turned off
    stages: tuple[tuple[int, str], ...] = field(default=())

    def default(self, version: KubeletVersion) -> bool:
        return self.default_on is not None and version.at_least(self.default_on)

    def stage(self, version: KubeletVersion) -> str:
        current = "not available"
        for minor, stage in self.stages:
            if version.at_least(minor):
                current = stage
        return current


FEATURES: dict[str, Feature] = {
    SA_TOKEN_FOR_CREDENTIAL_PROVIDERS: Feature(
        SA_TOKEN_FOR_CREDENTIAL_PROVIDERS, 33, 34, stages=((33, "alpha, off"), (34, "beta, on"))
    ),
    ENSURE_SECRET_PULLED_IMAGES: Feature(
        ENSURE_SECRET_PULLED_IMAGES, 33, 35, stages=((33, "alpha, off"), (35, "beta, on"))
    ),
    IMAGE_VOLUME: Feature(
        IMAGE_VOLUME, 31, 35, stages=((31, "alpha, off"), (33, "beta, off"), (35, "beta, on"))
    ),
    PREVENT_STATIC_POD_API_REFERENCES: Feature(
        PREVENT_STATIC_POD_API_REFERENCES, 34, 34, 37, stages=((34, "beta, on"), (37, "always on"))
    ),
}


def feature_enabled(name: str, version: KubeletVersion, gates: Mapping[str, bool] | None = None) -> bool:
    """Whether a kubelet of ``version`` runs with the feature: an explicit gate wins unless locked."""
    feature = FEATURES[name]
    if not version.at_least(feature.introduced):
        return False
    if feature.locked_on is not None and version.at_least(feature.locked_on):
        return True
    if gates is not None and name in gates:
        return gates[name]
    return feature.default(version)
