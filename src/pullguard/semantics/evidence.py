"""What a pull secret in the input says about a registry being private.

The rule (README, "How a private image is judged"; docs/visibility.md):

* Only an `auths` entry that gives the kubelet a credential is evidence: a
  username or password (directly or through `auth`). An empty entry
  (`"ghcr.io": {}`, what `docker login` leaves when a credential store holds the
  password), an entry with only an `identitytoken`, the single `"auths"` entry of
  a `.dockercfg` that wraps a docker `config.json`: the kubelet pulls
  anonymously with them, and they say nothing about the registry.
* Shared multi-tenant registries (Docker Hub, ghcr.io, quay.io, gcr.io and
  Artifact Registry, public.ecr.aws, registry.gitlab.com, nvcr.io, cgr.dev) hold
  public and private repositories side by side: visibility is per repository.
  A key for the whole host (`ghcr.io`, `https://index.docker.io/v1/`) is no
  evidence about any one repository (Docker Hub credentials are often there only
  to lift the anonymous pull rate limit); a key with a path (`ghcr.io/acme`) is
  evidence for the repositories under that path only.
* On any other host (a company's own registry) a usable key is evidence for
  every repository it matches, as the kubelet would use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pullguard.semantics.dockerconfig import Credential

# Hosts shared by many tenants, with public and private repositories side by side.
SHARED_HOSTS = frozenset(
    {
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
        "ghcr.io",
        "docker.pkg.github.com",
        "quay.io",
        "gcr.io",
        "us.gcr.io",
        "eu.gcr.io",
        "asia.gcr.io",
        "mirror.gcr.io",
        "public.ecr.aws",
        "registry.gitlab.com",
        "nvcr.io",
        "cgr.dev",
    }
)


def host_of(location: str) -> str:
    """`ghcr.io/acme` -> `ghcr.io` (a keyring location or a repository)."""
    return location.split("/", 1)[0]


def is_shared_host(host: str) -> bool:
    """Docker Hub, ghcr.io, quay.io, gcr.io, Artifact Registry (`*.pkg.dev`), …: visibility per repository."""
    host = host.lower()
    return host in SHARED_HOSTS or host == "pkg.dev" or host.endswith(".pkg.dev")


def gives_credential(credential: Credential) -> bool:
    """Whether the kubelet sends something with this entry: a username or a password.

    An identity-token-only or empty entry makes the kubelet send empty credentials.
    """
    return not credential.identity_token_only and bool(credential.username or credential.password)


def why_no_credential(credential: Credential) -> str:
    return (
        "only an identitytoken, which the kubelet does not read"
        if credential.identity_token_only
        else "empty"
    )


def ignored_members(raw: bytes) -> tuple[str, ...]:
    """Top-level members of a decoded docker config other than `auths`/`HttpHeaders` (names only).

    Called only on a payload the kubelet's decoding accepted; anything unreadable gives ().
    """
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return ()
    if not isinstance(document, dict):
        return ()
    return tuple(str(k) for k in document if str(k).lower() not in ("auths", "httpheaders"))[:20]


@dataclass(frozen=True, slots=True)
class SecretEvidence:
    """Keyring locations of the input's pull secrets, sorted by what they prove.

    Each map goes from a location to the secrets (`namespace/name`) holding it.
    """

    # a usable credential that is evidence (dedicated host, or a path on a shared host)
    private: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # a usable credential for a whole shared host: no evidence about a repository
    shared_host_wide: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # entries without a credential (empty, identity token only): no evidence at all
    without_credential: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: list[tuple[str, str, Credential]]) -> SecretEvidence:
        """From (secret 'namespace/name', keyring location, credential) triples."""
        # secret names per location in first-seen order, once each (a dict: thousands of
        # namespaces' pull secrets for one registry made a list's membership test quadratic)
        private: dict[str, dict[str, None]] = {}
        shared: dict[str, dict[str, None]] = {}
        empty: dict[str, dict[str, None]] = {}
        for secret, location, credential in entries:
            if not gives_credential(credential):
                target = empty
            elif "/" not in location and is_shared_host(location):
                target = shared
            else:
                target = private
            target.setdefault(location, {})[secret] = None
        return cls(_frozen(private), _frozen(shared), _frozen(empty))


def _frozen(found: dict[str, dict[str, None]]) -> dict[str, tuple[str, ...]]:
    return {location: tuple(names) for location, names in found.items()}
