"""Registry-issued credentials (semantics/issued_tokens.py): the one rule PG005, PG006 and serve share."""

from __future__ import annotations

import pytest

from pullguard.semantics.dockerconfig import AuthEntry, Credential
from pullguard.semantics.issued_tokens import ACR_TOKEN_USER, registry_issued


def entry(key: str, user: str) -> AuthEntry:
    return AuthEntry(key, Credential(user, "not-a-real-token", ""))


@pytest.mark.parametrize(
    ("key", "user", "hours", "cloud"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "AWS", 12, "aws"),
        ("https://public.ecr.aws", "AWS", 12, "aws"),
        ("europe-docker.pkg.dev", "oauth2accesstoken", 1, "gcp"),
        ("eu.gcr.io", "oauth2accesstoken", 1, "gcp"),
        ("europe-docker.pkg.dev", "_json_key", None, "gcp"),
        ("corp.azurecr.io", ACR_TOKEN_USER, 3, "azure"),
    ],
)
def test_issued_credentials(key: str, user: str, hours: float | None, cloud: str) -> None:
    issued = registry_issued(entry(key, user))
    assert issued is not None and issued.lifetime_hours == hours and issued.cloud == cloud


@pytest.mark.parametrize(
    ("key", "user"),
    [
        ("registry.example.com", "oauth2accesstoken"),  # not a Google host
        ("corp.azurecr.io", "robot"),  # an ACR token user, not a token
        ("europe-docker.pkg.dev", "robot"),
        ("", "AWS"),
    ],
)
def test_other_credentials_are_not_issued(key: str, user: str) -> None:
    assert registry_issued(entry(key, user)) is None
