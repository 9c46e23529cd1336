"""Feature-gate defaults by version (kube_features.go, v1.35-era) and version parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pullguard.semantics.kubelet_versions import (
    ENSURE_SECRET_PULLED_IMAGES,
    IMAGE_VOLUME,
    PREVENT_STATIC_POD_API_REFERENCES,
    SA_TOKEN_FOR_CREDENTIAL_PROVIDERS,
    KubeletVersion,
    VersionError,
    feature_enabled,
    parse_version,
)


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("v1.34", KubeletVersion(1, 34, 0)),
        ("1.35.2", KubeletVersion(1, 35, 2)),
        ("v1.33.5-eks-1234abc", KubeletVersion(1, 33, 5)),
        ("v1.32.1+k3s1", KubeletVersion(1, 32, 1)),
        ("v1.36.0-gke.100", KubeletVersion(1, 36, 0)),
    ],
)
def test_parse_version(text: str, version: KubeletVersion) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize("text", ["", "latest", "v1", "1.x", "v1.34.0.1"])
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(VersionError):
        parse_version(text)


# (feature, minor, enabled by default)
DEFAULTS = [
    (SA_TOKEN_FOR_CREDENTIAL_PROVIDERS, 32, False),
    (SA_TOKEN_FOR_CREDENTIAL_PROVIDERS, 33, False),
    (SA_TOKEN_FOR_CREDENTIAL_PROVIDERS, 34, True),
    (ENSURE_SECRET_PULLED_IMAGES, 33, False),
    (ENSURE_SECRET_PULLED_IMAGES, 34, False),
    (ENSURE_SECRET_PULLED_IMAGES, 35, True),
    (IMAGE_VOLUME, 31, False),
    (IMAGE_VOLUME, 33, False),
    (IMAGE_VOLUME, 34, False),
    (IMAGE_VOLUME, 35, True),
    (PREVENT_STATIC_POD_API_REFERENCES, 33, False),
    (PREVENT_STATIC_POD_API_REFERENCES, 34, True),
]


@pytest.mark.parametrize(("feature", "minor", "enabled"), DEFAULTS)
def test_defaults_follow_the_version(feature: str, minor: int, enabled: bool) -> None:
    assert feature_enabled(feature, KubeletVersion(1, minor)) is enabled


def test_explicit_gates_win_unless_absent_or_locked() -> None:
    assert (
        feature_enabled(
            ENSURE_SECRET_PULLED_IMAGES, KubeletVersion(1, 35), {ENSURE_SECRET_PULLED_IMAGES: False}
        )
        is False
    )
    assert (
        feature_enabled(
            ENSURE_SECRET_PULLED_IMAGES, KubeletVersion(1, 33), {ENSURE_SECRET_PULLED_IMAGES: True}
        )
        is True
    )
    assert (
        feature_enabled(
            ENSURE_SECRET_PULLED_IMAGES, KubeletVersion(1, 32), {ENSURE_SECRET_PULLED_IMAGES: True}
        )
        is False
    )
    locked = {PREVENT_STATIC_POD_API_REFERENCES: False}
    assert feature_enabled(PREVENT_STATIC_POD_API_REFERENCES, KubeletVersion(1, 36), locked) is False
    assert feature_enabled(PREVENT_STATIC_POD_API_REFERENCES, KubeletVersion(1, 37), locked) is True


@given(st.integers(0, 3), st.integers(0, 99), st.integers(0, 99))
def test_parse_round_trips(major: int, minor: int, patch: int) -> None:
    assert parse_version(f"v{major}.{minor}.{patch}") == KubeletVersion(major, minor, patch)
