"""Is a registry private, public, or unknown? Evidence in a fixed order, each with its reason."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from pullguard.semantics.evidence import SecretEvidence, host_of
from pullguard.semantics.imageref import ImageRef
from pullguard.semantics.keyring import key_matches, lookup, parse_registry_key


class Visibility(StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Classification:
    visibility: Visibility
    reason: str


# Repositories anyone can pull anonymously. Docker Hub user repositories and
# mixed hosts (quay.io, ghcr.io) can be private, so they stay "unknown".
WELL_KNOWN_PUBLIC = (
    "docker.io/library/",
    "registry.k8s.io/",
    "k8s.gcr.io/",
    "gcr.io/distroless/",
    "gcr.io/google-containers/",
    "gcr.io/google_containers/",
    "mcr.microsoft.com/",
    "public.ecr.aws/",
)

_ECR_PRIVATE = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_ACR = re.compile(r"^[a-z0-9-]+\.azurecr\.(io|cn|us)$")


def registry_family(host: str) -> str | None:
    """Registries whose family says they are private: Amazon ECR (private) and Azure ACR."""
    if _ECR_PRIVATE.match(host):
        return "Amazon ECR"
    if _ACR.match(host):
        return "Azure Container Registry"
    return None


def pattern_location(pattern: str) -> str:
    """A registry pattern in auths-key syntax (`*.corp.example`, `reg.io/team`) as a keyring location."""
    key = parse_registry_key(pattern)
    return key.location if key is not None else pattern


@dataclass(frozen=True, slots=True)
class RegistryPolicy:
    """What the user told us about registries, plus what the input shows."""

    private_patterns: tuple[str, ...] = ()
    public_patterns: tuple[str, ...] = ()
    node_patterns: tuple[str, ...] = ()
    secret_locations: frozenset[str] = frozenset()
    assume_private: bool = False
    # what the input's pull secrets prove, with the secrets' names (semantics/evidence.py)
    evidence: SecretEvidence | None = None
    # classifications already made, by (domain, path): images repeat across a corpus' pods
    _classified: dict[tuple[str, str], Classification] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def classify(self, ref: ImageRef) -> Classification:
        key = (ref.domain, ref.path)
        known = self._classified.get(key)
        if known is None:
            known = self._classified[key] = self._classify(ref)
        return known

    def _classify(self, ref: ImageRef) -> Classification:
        repository = ref.repository
        for pattern in self.private_patterns:
            if key_matches(pattern_location(pattern), repository):
                return Classification(Visibility.PRIVATE, f"configured as private ({pattern})")
        for pattern in self.public_patterns:
            if key_matches(pattern_location(pattern), repository):
                return Classification(Visibility.PUBLIC, f"configured as public ({pattern})")
        for prefix in WELL_KNOWN_PUBLIC:
            if repository.startswith(prefix):
                return Classification(Visibility.PUBLIC, f"well-known public registry ({prefix.rstrip('/')})")
        family = registry_family(ref.domain)
        if family is not None:
            return Classification(Visibility.PRIVATE, f"{family} registries are private")
        for pattern in self.node_patterns:
            if key_matches(pattern_location(pattern), repository):
                return Classification(Visibility.PRIVATE, f"nodes have credentials for it ({pattern})")
        evidence = self.evidence
        matched = lookup(set(evidence.private) if evidence else self.secret_locations, repository)
        if matched:
            held = f" in {_secrets(evidence.private[matched[0]])}" if evidence else ""
            return Classification(
                Visibility.PRIVATE,
                f"a pull secret in the input holds a credential for it ({matched[0]}{held})",
            )
        if self.assume_private:
            return Classification(Visibility.PRIVATE, "unknown registry, assumed private (--assume-private)")
        return Classification(Visibility.UNKNOWN, self._no_evidence(repository))

    def _no_evidence(self, repository: str) -> str:
        """Why the input's pull secrets prove nothing for this repository, when they have a key for it."""
        declare = "declare it (--private-registry / --public-registry) or use --assume-private"
        evidence = self.evidence
        if evidence is not None:
            shared = lookup(set(evidence.shared_host_wide), repository)
            if shared:
                return (
                    f"no evidence: {host_of(repository)} holds public and private repositories, and a credential "
                    f"for the whole host ({shared[0]} in {_secrets(evidence.shared_host_wide[shared[0]])}) says "
                    f"nothing about this one; {declare}"
                )
            empty = lookup(set(evidence.without_credential), repository)
            if empty:
                return (
                    f"no evidence: the pull secret key for it ({empty[0]} in "
                    f"{_secrets(evidence.without_credential[empty[0]])}) holds no credential; {declare}"
                )
        return f"no evidence either way: {declare}"


def _secrets(names: tuple[str, ...]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:2])
    return shown + (f" and {len(names) - 2} more" if len(names) > 2 else "")


def locations_of(keys: Iterable[str]) -> frozenset[str]:
    found = set()
    for raw in keys:
        key = parse_registry_key(raw)
        if key is not None:
            found.add(key.location)
    return frozenset(found)
