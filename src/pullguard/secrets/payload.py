"""The ``kubernetes.io/dockerconfigjson`` Secret pullguard writes, and how a change is shown.

The payload is what ``kubectl create secret docker-registry`` writes
(``{"auths": {SERVER: {"username", "password", "auth"}}}``, ``auth`` being
base64 of ``username:password``); the kubelet reads ``.dockerconfigjson`` only
(https://kubernetes.io/docs/concepts/configuration/secret/#docker-config-secrets).

Annotations (values are times, never secrets):

- ``pullguard.io/rotated-at``: when the credential was last written (RFC 3339, UTC);
- ``pullguard.io/expires-at``: when a token credential expires;
- ``pullguard.io/previous-rotated-at``: the rotation time of the kept previous credential.

A rotation keeps the previous payload in the same Secret under
``.dockerconfigjson.previous`` (the kubelet ignores other keys), so one write
swaps both and ``--rollback`` can bring it back.

Changes are described with keyed fingerprints (HMAC with a per-process key) of
each entry: "changed" and "unchanged" can be told, the values cannot.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import secrets as _secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pullguard.counts import plural
from pullguard.errors import DockerConfigError, InputError
from pullguard.semantics.dockerconfig import (
    AuthEntry,
    Credential,
    decode_secret_value,
    parse_dockerconfigjson,
)

__all__ = [
    "DATA_KEY",
    "DOCKERCONFIGJSON",
    "EXPIRES_AT",
    "MANAGED_BY",
    "PREVIOUS_KEY",
    "ROTATED_AT",
    "Entry",
    "build_payload",
    "entries_of",
    "fingerprint",
    "secret_object",
    "timestamp",
]

DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
DATA_KEY = ".dockerconfigjson"
PREVIOUS_KEY = ".dockerconfigjson.previous"
ROTATED_AT = "pullguard.io/rotated-at"
EXPIRES_AT = "pullguard.io/expires-at"
PREVIOUS_ROTATED_AT = "pullguard.io/previous-rotated-at"
MANAGED_BY = {"app.kubernetes.io/managed-by": "pullguard"}
_FINGERPRINT_KEY = _secrets.token_bytes(32)


@dataclass(frozen=True, slots=True, repr=False)
class Entry:
    """One ``auths`` member: the key as written and its credential."""

    key: str
    credential: Credential

    def __repr__(self) -> str:
        return f"Entry({self.key!r}, {fingerprint(self.credential)})"


def timestamp(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None


def fingerprint(credential: Credential) -> str:
    material = f"{credential.username}\x00{credential.password}".encode("utf-8", "surrogateescape")
    return "fp:" + hmac.new(_FINGERPRINT_KEY, material, hashlib.sha256).hexdigest()[:8]


def build_payload(entries: Sequence[Entry]) -> bytes:
    auths: dict[str, Any] = {}
    for entry in entries:
        user, password = entry.credential.username, entry.credential.password
        auth = base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogateescape")).decode()
        auths[entry.key] = {"username": user, "password": password, "auth": auth}
    return json.dumps({"auths": auths}, separators=(",", ":")).encode()


def entries_of(secret: Mapping[str, Any], key: str = DATA_KEY) -> list[Entry]:
    """The ``auths`` entries of a Secret's payload, decoded as the kubelet decodes them."""
    meta = secret.get("metadata") or {}
    where = f"secret {meta.get('namespace')}/{meta.get('name')}"
    if secret.get("type") != DOCKERCONFIGJSON:
        raise InputError(
            f"{where} has type {secret.get('type') or 'Opaque'!r}, not {DOCKERCONFIGJSON!r}: pullguard manages "
            "dockerconfigjson pull secrets only (recreate it with `pullguard secret create`)"
        )
    raw = (secret.get("data") or {}).get(key)
    if not isinstance(raw, str):
        raise InputError(f"{where} has no data key {key!r}")
    try:
        parsed: list[AuthEntry] = parse_dockerconfigjson(decode_secret_value(raw))
    except DockerConfigError as error:
        raise InputError(f"{where}, data key {key!r}: {error.reason}") from None
    return [Entry(e.key, e.credential) for e in parsed]


def encode(payload: bytes) -> str:
    return base64.b64encode(payload).decode()


def secret_object(
    name: str,
    namespace: str,
    entries: Sequence[Entry],
    rotated_at: float,
    expires_at: float | None,
    base: Mapping[str, Any] | None = None,
    previous: str | None = None,
) -> dict[str, Any]:
    """The Secret to write: ``base`` (the stored object, resourceVersion included) with the new payload."""
    obj: dict[str, Any] = copy.deepcopy(dict(base)) if base is not None else {}
    obj.pop("kind", None)
    obj.pop("apiVersion", None)
    obj = {"apiVersion": "v1", "kind": "Secret", **obj}
    meta = obj.setdefault("metadata", {})
    meta["name"], meta["namespace"] = name, namespace
    meta.setdefault("labels", {}).update(MANAGED_BY)
    annotations = meta.setdefault("annotations", {})
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)  # it would copy the old data
    if previous is not None and annotations.get(ROTATED_AT):
        annotations[PREVIOUS_ROTATED_AT] = annotations[ROTATED_AT]
    annotations[ROTATED_AT] = timestamp(rotated_at)
    if expires_at is not None:
        annotations[EXPIRES_AT] = timestamp(expires_at)
    else:
        annotations.pop(EXPIRES_AT, None)
    obj["type"] = DOCKERCONFIGJSON
    data = dict(obj.get("data") or {})
    data[DATA_KEY] = encode(build_payload(entries))
    if previous is not None:
        data[PREVIOUS_KEY] = previous
    obj["data"] = data
    return obj


def describe_entries(before: Sequence[Entry], after: Sequence[Entry]) -> list[str]:
    """One line per auths key: added, removed, changed or unchanged, with fingerprints only."""
    old = {e.key: e.credential for e in before}
    new = {e.key: e.credential for e in after}
    lines = []
    for key in dict.fromkeys([*old, *new]):
        if key not in old:
            lines.append(f"  + auths[{key!r}]  {fingerprint(new[key])}  (added)")
        elif key not in new:
            lines.append(f"  - auths[{key!r}]  {fingerprint(old[key])}  (removed)")
        elif fingerprint(old[key]) == fingerprint(new[key]):
            lines.append(f"    auths[{key!r}]  {fingerprint(new[key])}  (unchanged)")
        else:
            user = "same username" if old[key].username == new[key].username else "new username"
            lines.append(
                f"  ~ auths[{key!r}]  {fingerprint(old[key])} -> {fingerprint(new[key])}  (new password, {user})"
            )
    return lines


def masked(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object with every data value replaced: safe to print."""
    shown = copy.deepcopy(dict(obj))
    if "data" in shown and isinstance(shown["data"], dict):
        shown["data"] = {k: f"<{plural(len(str(v)), 'byte')}, hidden>" for k, v in shown["data"].items()}
    return shown
