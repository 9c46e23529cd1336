"""Container image references, parsed and normalized the way the kubelet does it.

The kubelet turns ``container.image`` into the repository it looks up in its
credential keyring with ``ParseNormalizedNamed`` from github.com/distribution/reference
(v0.6.0), whose digests are checked by github.com/opencontainers/go-digest (v1.0.0).
This module reproduces that decision (accept or reject) exactly, and the split into
domain / path / tag / digest, without calling out to anything.

Grammar (distribution/reference, reference.go)::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path
    domain     := host [ ":" port ]      host := domain-name | "[" ipv6 "]"
    path       := component ( "/" component )*
    component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
    digest     := algorithm ":" hex      (hex at least 32 characters)

Normalization (normalize.go, ``splitDockerDomain``): the text before the first ``/`` is
the registry only if it is ``localhost``, contains ``.`` or ``:``, or contains an
upper-case letter; otherwise the registry is ``docker.io``. ``index.docker.io`` becomes
``docker.io``; on ``docker.io`` a one-component path gets ``library/``. A name with no
``/`` at all is always a Docker Hub name, so ``localhost:5000`` is the image
``docker.io/library/localhost`` with tag ``5000``.

Differences from the Go code, all deliberate:

* Input longer than 4096 characters is rejected up front, to bound work. Upstream
  bounds the path (255) and the tag (128) but not the registry host, so only
  references with a host of several thousand characters are affected.
* Reasons are our own short sentences; where upstream would report one of several
  problems first, we may report another. Whether a reference is accepted never differs.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

from pullguard.errors import InvalidImageReference

__all__ = ["MAX_REFERENCE_LENGTH", "ImageRef", "parse_image"]

#: Longest input examined at all (see the module docstring).
MAX_REFERENCE_LENGTH: Final = 4096
#: distribution/reference RepositoryNameTotalLengthMax; since v0.6.0 it applies to the
#: path alone (the domain is not counted).
_MAX_PATH_LENGTH: Final = 255
_MAX_TAG_LENGTH: Final = 128

_DEFAULT_DOMAIN: Final = "docker.io"
_LEGACY_DEFAULT_DOMAIN: Final = "index.docker.io"
_OFFICIAL_PREFIX: Final = "library/"
_LOCALHOST: Final = "localhost"
_DEFAULT_TAG: Final = "latest"

# Hex lengths of the digest algorithms go-digest v1.0.0 knows. All three are usable in
# the kubelet, which links crypto/sha256 and crypto/sha512 (the latter provides SHA-384).
_DIGEST_HEX_LENGTHS: Final[dict[str, int]] = {"sha256": 64, "sha384": 96, "sha512": 128}

# Patterns are matched with fullmatch() (Go's ``^...$`` has no trailing-newline leeway)
# and use explicit ASCII classes (Go's \w is ASCII-only, Python's is not).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT_PAT = _ALNUM + r"(?:" + _SEPARATOR + _ALNUM + r")*"
_DOMAIN_COMPONENT_PAT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME_PAT = _DOMAIN_COMPONENT_PAT + r"(?:\." + _DOMAIN_COMPONENT_PAT + r")*"
_IPV6_PAT = r"\[[a-fA-F0-9:]+\]"
_DOMAIN_PAT = r"(?:" + _DOMAIN_NAME_PAT + r"|" + _IPV6_PAT + r")(?::[0-9]+)?"

_PATH_COMPONENT: Final = re.compile(_PATH_COMPONENT_PAT)
_PATH: Final = re.compile(_PATH_COMPONENT_PAT + r"(?:/" + _PATH_COMPONENT_PAT + r")*")
_DOMAIN: Final = re.compile(_DOMAIN_PAT)
_TAG: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}")
_LOWER_HEX: Final = re.compile(r"[a-f0-9]+")
_IDENTIFIER: Final = re.compile(r"[a-f0-9]{64}")
# Every character that can occur anywhere in a valid reference; anything else is fatal.
_BAD_CHARACTER: Final = re.compile(r"[^A-Za-z0-9._\-/:@\[\]+]")
_PLACEHOLDER: Final = re.compile(r"\{\{|\}\}|\$\{|\$\(|^<.*>$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed, normalized image reference.

    ``domain`` is the registry as written ("docker.io", "localhost:5000", "[::1]:5000",
    "gcr.io"; case is kept, "index.docker.io" is already rewritten). It is empty in one
    upstream corner case: a first component that contains "." (so is taken for a host)
    but is not a valid host while the whole name is a valid path, e.g.
    ``my_registry.example.com/app``. distribution/reference then returns the whole text
    as a domain-less name, and that whole text is what the kubelet looks up; we keep it.
    """

    domain: str
    path: str
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        """The name the kubelet passes to its keyring lookup (``Named.Name()``)."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def host(self) -> str:
        """The domain without its port. An IPv6 host keeps its brackets ("[::1]")."""
        return _split_host_port(self.domain)[0]

    @property
    def port(self) -> str | None:
        """The port as written ("5000"), or None."""
        return _split_host_port(self.domain)[1]

    @property
    def pull_reference(self) -> str:
        """What is pulled: the digest when there is one (it wins over a tag), else the tag
        or ``latest``."""
        if self.digest is not None:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag or _DEFAULT_TAG}"

    def __str__(self) -> str:
        """Fully normalized text; ``:latest`` is added only when there is neither a tag nor
        a digest. Parsing it again gives an equal ImageRef."""
        text = self.repository
        if self.tag is not None:
            text += ":" + self.tag
        if self.digest is not None:
            text += "@" + self.digest
        elif self.tag is None:
            text += ":" + _DEFAULT_TAG
        return text


def parse_image(reference: str) -> ImageRef:
    """Parse ``reference`` as the kubelet does (``ParseNormalizedNamed``).

    Raise InvalidImageReference(reference, reason) -- and never any other exception --
    for anything the kubelet would refuse.
    """
    if not isinstance(reference, str):
        raise InvalidImageReference(repr(reference), "not a string")
    if len(reference) > MAX_REFERENCE_LENGTH:
        # Checked before the cache so that huge strings are never kept alive by it.
        raise InvalidImageReference(reference, f"longer than {MAX_REFERENCE_LENGTH} characters")
    result = _parse_cached(reference)
    if isinstance(result, str):
        raise InvalidImageReference(reference, result)
    return result


@functools.lru_cache(maxsize=4096)
def _parse_cached(reference: str) -> ImageRef | str:
    """The ImageRef, or the reason the reference is invalid (exceptions cannot be cached)."""
    return _parse(reference)


def _show(text: str, limit: int = 40) -> str:
    """repr() of a fragment, shortened for messages."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _split_host_port(domain: str) -> tuple[str, str | None]:
    if domain.startswith("["):
        end = domain.find("]")
        rest = domain[end + 1 :]
        return domain[: end + 1], (rest[1:] if rest.startswith(":") else None)
    host, sep, port = domain.partition(":")
    return host, (port if sep else None)


def _split_docker_domain(name: str) -> tuple[str, str]:
    """normalize.go splitDockerDomain: (domain, remainder) where remainder keeps tag/digest."""
    first, slash, rest = name.partition("/")
    if not slash:
        return _DEFAULT_DOMAIN, _OFFICIAL_PREFIX + name
    if first == _LOCALHOST:
        domain, remainder = first, rest
    elif first == _LEGACY_DEFAULT_DOMAIN:
        domain, remainder = _DEFAULT_DOMAIN, rest
    elif "." in first or ":" in first or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = _DEFAULT_DOMAIN, name
    if domain == _DEFAULT_DOMAIN and "/" not in remainder:
        remainder = _OFFICIAL_PREFIX + remainder
    return domain, remainder


def _parse(reference: str) -> ImageRef | str:
    if not reference:
        return "empty reference"
    if reference.strip() != reference:
        return "leading or trailing whitespace"
    if _PLACEHOLDER.search(reference):
        return "unrendered template or placeholder, not an image reference"
    if "://" in reference:
        return "URL scheme (such as 'https://' or 'ko://') is not part of an image reference"
    bad = _BAD_CHARACTER.search(reference)
    if bad:
        return f"invalid character {bad.group()!r}"
    # From here on the text is printable ASCII.
    if reference[0] in ":@":
        return "no repository name before the tag or digest"
    if _IDENTIFIER.fullmatch(reference):
        return "64-character hexadecimal identifier, not a reference"

    domain, remainder = _split_docker_domain(reference)
    # ParseNormalizedNamed: the remote name (up to the first ':') must be lower case. We
    # also stop at '@' so that an upper-case digest algorithm is reported as a digest
    # problem; such a digest is rejected below either way.
    remote = remainder.split(":", 1)[0].split("@", 1)[0]
    if remote.lower() != remote:
        return "upper-case letters in the repository path"

    full = domain + "/" + remainder
    parts = _split_reference(full)
    if isinstance(parts, str):
        if full.lower() != full and not isinstance(_split_reference(full.lower()), str):
            # reference.go Parse: matching once lower-cased means upper case was the problem.
            return "upper-case letters in the repository path"
        return parts
    name_domain, path, tag, digest = parts

    if len(path) > _MAX_PATH_LENGTH:
        return f"repository path longer than {_MAX_PATH_LENGTH} characters"
    if digest is not None:
        # go-digest v1.0.0 Digest.Validate: known algorithm, exact length, lower-case hex.
        algorithm, _, encoded = digest.partition(":")
        expected = _DIGEST_HEX_LENGTHS.get(algorithm)
        if expected is None:
            return f"unsupported digest algorithm {_show(algorithm)}"
        if len(encoded) != expected:
            return f"invalid digest length: {algorithm} needs {expected} hex characters, not {len(encoded)}"
        if not _LOWER_HEX.fullmatch(encoded):
            return "invalid digest: upper-case hex"
    return ImageRef(domain=name_domain, path=path, tag=tag, digest=digest)


def _split_reference(text: str) -> tuple[str, str, str | None, str | None] | str:
    """The grammar check of reference.go Parse on printable-ASCII text: (domain, path,
    tag, digest), or a reason.

    The single regular expression upstream is applied piecewise, which is equivalent
    because '@' occurs only before the digest, a ':' after the last '/' of what precedes
    it can only start the tag, and the domain, if any, is everything before the first '/'.
    """
    name_tag, at, digest = text.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        return "invalid digest"

    tag: str | None = None
    colon = name_tag.rfind(":")
    if colon > name_tag.rfind("/"):
        name, tag = name_tag[:colon], name_tag[colon + 1 :]
        if not _TAG.fullmatch(tag):
            if len(tag) > _MAX_TAG_LENGTH:
                return f"tag longer than {_MAX_TAG_LENGTH} characters"
            return f"invalid tag {_show(tag)}" if tag else "empty tag"
    else:
        name = name_tag

    first, slash, rest = name.partition("/")
    if slash and _DOMAIN.fullmatch(first) and _PATH.fullmatch(rest):
        return first, rest, tag, (digest if at else None)
    if _PATH.fullmatch(name):
        return "", name, tag, (digest if at else None)
    return _name_reason(name)


def _name_reason(name: str) -> str:
    """Why ``name`` (domain and path, no tag or digest) matches neither form."""
    first, slash, rest = name.partition("/")
    if slash and _DOMAIN.fullmatch(first):
        components = rest.split("/")
    elif slash and (":" in first or "[" in first or "]" in first):
        return f"invalid registry host {_show(first)}"
    else:
        components = name.split("/")
        if slash and "." in first and not _PATH_COMPONENT.fullmatch(first):
            return f"invalid registry host {_show(first)}"
    if components == [""]:
        return "empty repository path"
    for component in components:
        if not component:
            return "empty path component (repeated or trailing '/')"
        if not _PATH_COMPONENT.fullmatch(component):
            if component.lower() != component:
                return "upper-case letters in the repository path"
            return f"invalid path component {_show(component)}"
    return "invalid reference format"
