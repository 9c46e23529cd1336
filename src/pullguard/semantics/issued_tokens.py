"""Registry-issued credentials: which pull-secret entries hold a token the registry issues for hours.

A docker config entry for Amazon ECR holds an authorization token valid 12 hours (`aws ecr
get-login-password`, AWS ECR docs "Private registry authentication"); Google Artifact Registry
and Container Registry accept `oauth2accesstoken` with an access token valid about an hour, and
`_json_key` / `_json_key_base64` with a long-lived service-account key (Google Cloud docs
"Configure authentication to Artifact Registry for Docker"); Azure Container Registry accepts
the all-zero GUID user with an ACR access token valid about 3 hours (`az acr login
--expose-token`, Azure docs "Authenticate with an Azure container registry"). Used by PG005/PG006
and by `serve`'s credential expiry metric; no value of the credential is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pullguard.semantics.dockerconfig import AuthEntry
from pullguard.semantics.keyring import parse_registry_key
from pullguard.semantics.registries import registry_family

ACR_TOKEN_USER = "00000000-0000-0000-0000-000000000000"
_GCP_HOST = re.compile(r"^([a-z0-9-]+\.)?gcr\.io$|^[a-z0-9-]+-docker\.pkg\.dev$")
_ACR_HOST = re.compile(r"^[a-z0-9-]+\.azurecr\.(io|cn|us)$")


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    what: str  # "an Amazon ECR authorization token"
    lifetime_hours: float | None  # None: a long-lived key
    cloud: str  # "aws", "gcp", "azure"


def _host(location: str) -> str:
    return location.split("/", 1)[0].rsplit(":", 1)[0] if not location.startswith("[") else location


def registry_issued(entry: AuthEntry) -> IssuedCredential | None:
    """What kind of registry-issued credential an auths entry holds, when the registry issues tokens."""
    key = parse_registry_key(entry.key)
    if key is None:
        return None
    host = _host(key.location)
    user = entry.credential.username
    if user in ("_json_key", "_json_key_base64"):
        return IssuedCredential(f"a long-lived Google service-account key ({user})", None, "gcp")
    if registry_family(host) == "Amazon ECR" or host == "public.ecr.aws":
        return IssuedCredential("an Amazon ECR authorization token (valid 12 hours)", 12, "aws")
    if user == "oauth2accesstoken" and _GCP_HOST.match(host):
        return IssuedCredential("a Google OAuth2 access token (valid about 1 hour)", 1, "gcp")
    if user == ACR_TOKEN_USER and _ACR_HOST.match(host):
        return IssuedCredential("an Azure Container Registry access token (valid about 3 hours)", 3, "azure")
    return None
