"""What sources hand to the inventory: manifests, input problems, read statistics.

This is the last layer where Kubernetes objects travel as plain mappings; the
inventory turns them into typed records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was read: file, 1-based document number and line.

    Document 0 is the file as a whole (unreadable, too large, empty input, or the run itself):
    it prints as the path alone, never as "document 0, line 0".
    `item` is the 0-based index inside a `kind: List` document, when there is one.
    """

    path: str
    document: int
    line: int
    item: int | None = None

    def __str__(self) -> str:
        if self.document <= 0 and self.item is None:
            return f"{self.path}: line {self.line}" if self.line > 0 else self.path
        where = f"{self.path}: document {self.document}"
        if self.item is not None:
            where += f", item {self.item}"
        return f"{where}, line {self.line}"


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class SkipReason(StrEnum):
    """Why a document was read but holds no Kubernetes object."""

    EMPTY = "empty"
    NOT_A_MAPPING = "not-a-mapping"
    NOT_KUBERNETES = "not-kubernetes"
    UNREADABLE = "unreadable"


SKIP_REASON_TEXT: dict[SkipReason, str] = {
    SkipReason.EMPTY: "empty or comment-only documents",
    SkipReason.NOT_A_MAPPING: "top-level sequences or scalars (not Kubernetes objects)",
    SkipReason.NOT_KUBERNETES: "mappings without apiVersion and kind (not Kubernetes objects)",
    SkipReason.UNREADABLE: "documents that could not be read (see input problems)",
}
# the same, for one document ("Skipped: 1 empty or comment-only document")
SKIP_REASON_ONE: dict[SkipReason, str] = {
    SkipReason.EMPTY: "empty or comment-only document",
    SkipReason.NOT_A_MAPPING: "top-level sequence or scalar (not a Kubernetes object)",
    SkipReason.NOT_KUBERNETES: "mapping without apiVersion and kind (not a Kubernetes object)",
    SkipReason.UNREADABLE: "document that could not be read (see input problems)",
}


@dataclass(frozen=True, slots=True)
class InputProblem:
    """A document (or file) that could not be read as it should, or a warning about one.

    `code` is stable and machine-readable; `message` is for people and never
    quotes a secret value.
    """

    location: Location
    level: Level
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.level.value}: {self.message}"


@dataclass(frozen=True, slots=True)
class Manifest:
    """One Kubernetes object as read.

    `body` is None when the object's kind needs no analysis, so the source did
    not build it (only its identity was read). Mappings inside a body read
    from YAML are lazy `LineMap`s that know their own line.
    """

    api_version: str
    kind: str
    name: str
    namespace: str | None
    body: Mapping[str, Any] | None
    location: Location


@dataclass(slots=True)
class ReadStats:
    """Exact counts of what the sources read; reported in every summary."""

    files: int = 0
    documents: int = 0
    skipped: Counter[SkipReason] = field(default_factory=Counter)
    objects: int = 0
    lists: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    # documents read by the fast reader (sources/fastyaml.py); the rest took the reference reader
    fast_documents: int = 0
    # documents read as JSON (Python's json module): neither YAML reader took them
    json_documents: int = 0


# The kind a script source gives its findings as (sources/scripts.py -> inventory)
SCRIPT_API_VERSION = "pullguard.io/v1"
COMMITTED_CREDENTIAL = "CommittedCredential"


@dataclass(frozen=True, slots=True)
class CommittedCredential:
    """A registry password written literally in a script or CI file (PG010); the value is never kept."""

    location: Location
    command: str  # "kubectl create secret docker-registry"
    secret: str | None  # the name of the secret it creates, when given
    namespace: str | None
    server: str | None
