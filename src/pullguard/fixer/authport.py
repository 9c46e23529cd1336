"""Repair an `auths` key that misses the registry's port, without ever showing the credential.

The kubelet picks a pull secret's credential by matching each `auths` key against
the image, and the ports must be equal: no default port is implied, so the key
`registry.example.com` does not cover `registry.example.com:5000/team/app`
(kubernetes/kubernetes pkg/credentialprovider/keyring.go, `URLsMatch`: "if
globPort != targetPort { return false }"). The repair puts the image's port into
the key.

The value is edited as text: only the key's JSON string token changes (rename), or
a member with the new key and a byte-for-byte copy of the old member's value is
inserted after the old member (add). Every other byte of the JSON (other keys,
their order, whitespace, the credential) stays as it was, and the result is
decoded again to prove that each key still carries the very same credential.
Nothing here ever puts a credential in an exception or a message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pullguard.errors import DockerConfigError
from pullguard.semantics.dockerconfig import AuthEntry, parse_dockercfg, parse_dockerconfigjson

__all__ = ["KeyEdit", "RepairRefused", "edit_config"]


class RepairRefused(Exception):
    """The edit cannot be made safely; the message names keys only, never a credential."""


@dataclass(frozen=True, slots=True)
class KeyEdit:
    old: str  # the auths key as written
    new: str  # the same key with the image's port
    keep_old: bool  # add a second key with the same credential instead of renaming

    def describe(self, data_key: str) -> str:
        what = (
            f'auths key "{self.new}" added next to "{self.old}"'
            if self.keep_old
            else f'auths key "{self.old}" -> "{self.new}"'
        )
        return f"{data_key}: {what}; credential unchanged, not shown"


def _entries(payload: bytes, data_key: str) -> list[AuthEntry]:
    parse = parse_dockerconfigjson if data_key == ".dockerconfigjson" else parse_dockercfg
    try:
        return parse(payload)
    except DockerConfigError as error:
        raise RepairRefused(f"its {data_key} does not decode ({error.reason})") from None


def _same(a: AuthEntry, b: AuthEntry) -> bool:
    x, y = a.credential, b.credential
    return (x.username, x.password, x.email, x.identity_token_only) == (
        y.username,
        y.password,
        y.email,
        y.identity_token_only,
    )


def edit_config(payload: bytes, data_key: str, edit: KeyEdit) -> bytes:
    """The decoded `.dockerconfigjson` (`.dockercfg`) with the key edited, verified."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise RepairRefused(f"its {data_key} is not UTF-8 text") from None
    before = _entries(payload, data_key)
    if any(e.key == edit.new for e in before):
        raise RepairRefused(f'it already has the key "{edit.new}"')
    if sum(e.key == edit.old for e in before) != 1:
        raise RepairRefused(f'the key "{edit.old}" is not there exactly once')
    token = json.dumps(edit.old)  # the key as JSON writes it (no escapes in a host name)
    members = [m for m in re.finditer(re.escape(token) + r"\s*:", text)]
    if len(members) != 1:
        raise RepairRefused(f'the key "{edit.old}" is not written plainly exactly once in its JSON')
    member = members[0]
    new_token = json.dumps(edit.new)
    if not edit.keep_old:
        edited = text[: member.start()] + new_token + text[member.start() + len(token) :]
    else:
        start = member.end()
        while start < len(text) and text[start] in " \t\r\n":
            start += 1
        try:
            _, end = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            raise RepairRefused(f'the value of "{edit.old}" is not JSON') from None
        value = text[start:end]
        separator = text[member.start() + len(token) : start]  # the same `: ` spacing
        line_start = text.rfind("\n", 0, member.start()) + 1
        indent = text[line_start : member.start()]
        # a member on a line of its own (pretty-printed JSON) gets a line of its own too
        comma = ",\n" + indent if line_start and not indent.strip() else ", " if ", " in text else ","
        edited = text[:end] + comma + new_token + separator + value + text[end:]
    result = edited.encode("utf-8")
    after = _entries(result, data_key)
    _verify(before, after, edit)
    return result


def _verify(before: list[AuthEntry], after: list[AuthEntry], edit: KeyEdit) -> None:
    """Every key carries the credential it carried before; the new key the old key's."""
    old = {e.key: e for e in before}
    new = {e.key: e for e in after}
    wanted_keys = set(old) | {edit.new}
    if not edit.keep_old:
        wanted_keys.discard(edit.old)
    if set(new) != wanted_keys or len(after) != len(wanted_keys):
        raise RepairRefused("the edited value would not hold the expected keys")
    for key, entry in new.items():
        source = old[edit.old] if key == edit.new else old[key]
        if not _same(source, entry):
            raise RepairRefused(f'the credential of "{key}" would change')
