"""An `auths` key that misses the image's port, and the key that would match.

The kubelet compares ports as strings and implies no default port, so the key
`registry.example.com` never covers `registry.example.com:5000/team/app`
(kubernetes/kubernetes pkg/credentialprovider/keyring.go, `URLsMatch`: "if
globPort != targetPort { return false }"). Both the fix plan of `scan` and
`pullguard fix` use these rules, so they name the same key.
"""

from __future__ import annotations

from collections.abc import Iterable

from pullguard.semantics.keyring import key_matches, parse_registry_key, schemeless_url_parts

__all__ = ["port_candidates", "with_port"]

_SCHEMES = ("https://", "http://")


def _port_of(location: str) -> str | None:
    parts = schemeless_url_parts(location)
    return None if parts is None else parts[1]


def with_port(raw: str, port: str) -> str | None:
    """The key as written with `:port` after its host (`https://h/v2/` -> `https://h:5000/v2/`).

    None when the key already has a port, or its host is an IPv6 literal or carries
    user info (kept for a person to edit)."""
    scheme = next((s for s in _SCHEMES if raw.startswith(s)), "")
    rest = raw[len(scheme) :]
    host, slash, path = rest.partition("/")
    if not host or any(c in host for c in ":[]@?#%"):
        return None
    return f"{scheme}{host}:{port}{slash}{path}"


def port_candidates(keys: Iterable[str], repository: str) -> list[tuple[str, str]]:
    """(key, key with the image's port) for each port-less key that covers the repository
    once the image's port is added; [] when the image has no port."""
    image_port = _port_of(repository)
    if not image_port:
        return []
    found = []
    for raw in keys:
        parsed = parse_registry_key(raw)
        if parsed is None or _port_of(parsed.location) != "":
            continue
        new = with_port(raw, image_port)
        fixed = parse_registry_key(new) if new is not None else None
        if new is not None and fixed is not None and key_matches(fixed.location, repository):
            found.append((raw, new))
    return found
