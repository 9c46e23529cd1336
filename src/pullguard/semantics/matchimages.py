"""A credential provider's ``matchImages``: which images the kubelet asks the provider about.

Pure functions, no I/O. Sources (kubernetes/kubernetes, v1.35-era):

* ``pkg/credentialprovider/plugin/plugin.go`` ``isImageAllowed``: the provider is asked
  for an image when any ``matchImages`` entry satisfies ``credentialprovider.URLsMatchStr(entry,
  image)``; ``image`` is the normalized repository without tag or digest
  (``docker.io/library/nginx``). The entry is used as written (no ``BasicDockerKeyring.Add``
  normalization): ``URLsMatchStr`` parses it as ``https://`` + entry.
* ``pkg/credentialprovider/keyring.go`` ``URLsMatch``: ports compared as strings; the hosts
  must have the same number of ``.``-separated labels, each entry label a ``filepath.Match``
  glob; the entry's path is a plain string prefix of the image's path (no glob).
* ``pkg/credentialprovider/plugin/config.go`` ``validateCredentialProviderConfig`` only
  requires each entry to pass ``ParseSchemelessURL``: an entry that can never match is
  accepted and silently matches nothing.

``never_matches`` names the entries that pass validation but can match no image reference
the kubelet ever looks up: a glob character in the path (``registry.io/*`` has the literal path
``/*``), a port that is not digits, a scheme written in front (``https://reg.io``: the host
becomes ``https:``), an empty host label. ``label_count_misses`` finds the subtler case:
an entry whose literal suffix names a registry in use but whose label count differs
(``*.example.com`` against ``reg.eu.example.com``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pullguard.semantics.keyring import key_matches, schemeless_url_parts

__all__ = ["first_match", "invalid_entry", "label_count_misses", "never_matches", "port_misses"]

_PATH_GLOB = frozenset("*?[")


def invalid_entry(entry: str) -> str | None:
    """Why the kubelet rejects the entry at start-up (``ParseSchemelessURL`` fails), or None."""
    if schemeless_url_parts(entry) is None:
        return (
            f"matchImages entry {entry!r} is not a valid URL without a scheme (the kubelet refuses the file)"
        )
    return None


def first_match(match_images: Sequence[str], repository: str) -> str | None:
    """The first entry for which the kubelet asks this provider about ``repository`` (isImageAllowed)."""
    for entry in match_images:
        if key_matches(entry, repository):
            return entry
    return None


def never_matches(entry: str) -> str | None:
    """Why a valid entry can match no image, in plain words; None when it can match something."""
    parts = schemeless_url_parts(entry)
    if parts is None:
        return None  # invalid: reported as a validation error
    labels, port, path = parts
    if entry.startswith(("https://", "http://")):
        return (
            "it starts with a scheme: the kubelet parses the entry as https:// + entry, so the host "
            f"becomes {entry.split('/', 1)[0]!r}; write the host without a scheme"
        )
    glob = next((c for c in path if c in _PATH_GLOB), None)
    if glob is not None:
        trimmed = path.split(glob, 1)[0].rstrip("/")
        suggestion = f"{'.'.join(labels)}{':' + port if port else ''}{trimmed}"
        return (
            f"its path {path!r} contains {glob!r}: the kubelet compares paths as a literal prefix (no glob), "
            f"and no image path contains {glob!r}; write {suggestion!r} to match everything under it"
        )
    if port and not port.isdigit():
        return f"its port {port!r} is not a number: ports are compared as strings, and image ports are digits"
    if any(label == "" for label in labels):
        return "it has an empty host label (a leading, trailing or doubled '.'): no registry host has one"
    return None


def _literal_suffix(labels: Sequence[str]) -> tuple[str, ...]:
    suffix: list[str] = []
    for label in reversed(labels):
        if any(c in label for c in "*?[\\"):
            break
        suffix.append(label)
    return tuple(reversed(suffix))


def label_count_misses(entry: str, hosts: Iterable[str]) -> tuple[str, ...]:
    """Registry hosts in use that the entry names by its literal suffix but misses on the label count.

    ``*.example.com`` (three labels) never matches ``reg.eu.example.com`` (four): each ``*``
    stands for exactly one label. Only hosts the entry does not match at all are returned,
    and only when the entry's literal suffix has at least two labels (``*.io`` names no one).
    """
    parts = schemeless_url_parts(entry)
    if parts is None:
        return ()
    labels, port, _ = parts
    suffix = _literal_suffix(labels)
    if len(suffix) < 2:
        return ()
    missed: list[str] = []
    for hostport in dict.fromkeys(hosts):
        host_parts = schemeless_url_parts(hostport)
        if host_parts is None:
            continue
        host_labels, host_port, _ = host_parts
        if host_port != port or len(host_labels) == len(labels):
            continue
        if host_labels[-len(suffix) :] == suffix:
            missed.append(hostport)
    return tuple(missed)


def port_misses(entry: str, hosts: Iterable[str]) -> tuple[str, ...]:
    """Registry hosts in use whose labels the entry matches but whose port differs.

    Ports are compared as strings with no default: `registry.io` does not match
    `registry.io:5000`, nor `registry.io:443` the port-less `registry.io`.
    """
    parts = schemeless_url_parts(entry)
    if parts is None:
        return ()
    labels, port, _ = parts
    missed: list[str] = []
    for hostport in dict.fromkeys(hosts):
        host_parts = schemeless_url_parts(hostport)
        if host_parts is None:
            continue
        host_labels, host_port, _ = host_parts
        if host_port == port or len(host_labels) != len(labels):
            continue
        if key_matches(".".join(labels), ".".join(host_labels)):  # the hosts agree; only the port differs
            missed.append(hostport)
    return tuple(missed)
