"""Objects defined more than once in the input (the same ServiceAccount, Secret or Namespace in
several files): which definition counts, and an input warning for each one that does not.

The rule, independent of the order files are read in: the definition that comes **last in path
order** (file path compared directory by directory, then document, then list item) is used —
what `kubectl apply -f DIR` leaves behind, since kubectl walks a directory in lexical order and
each apply overwrites the object. Every other definition gets a warning (code `duplicate-object`)
naming both locations and saying whether they differ in what pullguard reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, MutableMapping
from typing import Any, Protocol, TypeVar

from pullguard.inventory.model import ObjectRef, SecretOrigin
from pullguard.sources.model import InputProblem, Level, Location

_FIELD_WORDS = {
    "pull_secrets": "imagePullSecrets",
    "automount_token": "automountServiceAccountToken",
    "annotations": "annotations",
    "labels": "labels",
    "type": "type",
    "data_keys": "data keys",
    "payload": "registry credentials",
    "origin": "how it is managed",
    "docker_keys_in_wrong_type": "data keys",
    "creation_timestamp": "creationTimestamp",
    "refresh_interval": "refreshInterval",
    "data_written_at": "managedFields",
}
_IGNORED_FIELDS = frozenset({"location", "ref"})
_ORIGIN_WORDS = {
    SecretOrigin.EXTERNAL_SECRET: " (an ExternalSecret)",
    SecretOrigin.SEALED_SECRET: " (a SealedSecret)",
    SecretOrigin.SOPS: " (SOPS-encrypted)",
}


class Defined(Protocol):
    @property
    def location(self) -> Location: ...


Record = TypeVar("Record", bound=Defined)


def order_key(where: Location) -> tuple[tuple[str, ...], int, int]:
    """Path order as a directory walk sees it: component by component, then document, then item."""
    return (
        tuple(where.path.replace("\\", "/").split("/")),
        where.document,
        -1 if where.item is None else where.item,
    )


def differences(first: Any, second: Any) -> list[str]:
    """The fields, in the user's words, in which two records of one object differ."""
    words: list[str] = []
    for item in dataclasses.fields(first):
        if item.name in _IGNORED_FIELDS:
            continue
        if getattr(first, item.name) != getattr(second, item.name):
            word = _FIELD_WORDS.get(item.name, item.name)
            if word not in words:
                words.append(word)
    return words


class Duplicates:
    """Keeps one definition per object, whatever the reading order, and remembers the others."""

    def __init__(self) -> None:
        self._groups: dict[tuple[int, Hashable], list[Any]] = {}
        self._names: dict[tuple[int, Hashable], ObjectRef] = {}
        self._quiet: set[tuple[int, Hashable]] = set()

    def keep(
        self,
        store: MutableMapping[Any, Record],
        key: Hashable,
        record: Record,
        ref: ObjectRef,
        identical_ok: bool = False,
    ) -> None:
        """Store the definition of `ref` that wins; `identical_ok`: no warning for identical copies
        (a Namespace written in every alternative install manifest changes nothing)."""
        existing = store.get(key)
        if existing is None:
            store[key] = record
            return
        self._names[(id(store), key)] = ref
        if identical_ok:
            self._quiet.add((id(store), key))
        group = self._groups.setdefault((id(store), key), [existing])
        group.append(record)
        store[key] = max(group, key=lambda r: order_key(r.location))

    def problems(self) -> list[InputProblem]:
        found: list[InputProblem] = []
        for group_key, group in self._groups.items():
            ref = self._names[group_key]
            used = max(group, key=lambda r: order_key(r.location))
            for other in sorted(group, key=lambda r: order_key(r.location)):
                if other is used:
                    continue
                differ = differences(other, used)
                if not differ and group_key in self._quiet:
                    continue
                how = f"they differ in {', '.join(differ)}" if differ else "the two are identical"
                found.append(
                    InputProblem(
                        other.location,
                        Level.WARNING,
                        "duplicate-object",
                        f"{ref}{_written_by(other)} is defined more than once: here and at {used.location}"
                        f"{_written_by(used)}; {how}. pullguard "
                        "uses the definition that comes last in path order (as `kubectl apply -f DIR` would "
                        f"leave it): {used.location.path}. Keep one definition, or scan each overlay on its "
                        "own (render it first: `kustomize build`).",
                    )
                )
        return found


def _written_by(record: Any) -> str:
    """How a Secret is defined, when not as a plain Secret: ` (an ExternalSecret)`."""
    return _ORIGIN_WORDS.get(getattr(record, "origin", None), "")  # type: ignore[arg-type]
