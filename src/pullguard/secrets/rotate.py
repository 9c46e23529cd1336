"""`pullguard secret rotate`: a new credential in place, the previous one kept for ``--rollback``.

Order, so that a failure at any step leaves the old secret working and in place:

1. read the Secret (its resourceVersion is the precondition of the write);
2. obtain the new credential (stdin, file, environment, credential helper);
3. ask every registry the rotated entries cover whether it accepts it (and can
   pull each ``--image``): a refusal stops here, nothing written;
4. one PUT swaps ``.dockerconfigjson`` and keeps the old payload as
   ``.dockerconfigjson.previous`` in the same object (same UID: records of
   KEP-2535 "ensure secret pulled images" stay valid); a 409 Conflict reads the
   Secret again, and if its credential changed meanwhile the rotation stops
   rather than overwrite it; a lost answer is resolved by reading it again;
5. optionally (``--verify-after``) the stored Secret is read back and checked.

``--rollback`` swaps current and previous the same way, after checking that the
previous credential still works.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pullguard.errors import ConfigError, InputError
from pullguard.registry.client import ClientOptions
from pullguard.secrets.check import check_credentials
from pullguard.secrets.create import verification_lines
from pullguard.secrets.kube import ChangeAborted, Conflict, KubeApi, WriteUnknown
from pullguard.secrets.payload import (
    DATA_KEY,
    EXPIRES_AT,
    PREVIOUS_KEY,
    ROTATED_AT,
    Entry,
    build_payload,
    describe_entries,
    encode,
    entries_of,
    parse_timestamp,
    secret_object,
    timestamp,
)
from pullguard.secrets.plan import EXIT_FAILED, Plan, Report
from pullguard.secrets.sources import NewCredential
from pullguard.semantics.dockerconfig import Credential
from pullguard.sources.cluster import PODS, SECRETS, ClusterForbidden, ClusterNotFound

__all__ = ["plan_rollback", "plan_rotate", "verify_stored"]


def _read(api: KubeApi, namespace: str, name: str) -> dict[str, Any]:
    try:
        return api.get(SECRETS, namespace, name)
    except ClusterNotFound:
        raise ConfigError(
            f"secret {namespace}/{name} not found: create it first with pullguard secret create {name} -n {namespace}"
        ) from None


def choose_keys(entries: Sequence[Entry], registries: Sequence[str], where: str) -> list[str]:
    keys = [e.key for e in entries]
    if registries:
        missing = [r for r in registries if r not in keys]
        if missing:
            raise ConfigError(
                f"{where} has no auths entry {missing[0]!r} (it has: {', '.join(map(repr, keys))})"
            )
        return list(registries)
    if len(set(keys)) > 1:
        raise ConfigError(
            f"{where} covers several registries ({', '.join(map(repr, keys))}): say which to rotate with --registry"
        )
    return keys[:1]


def plan_rotate(
    api: KubeApi,
    name: str,
    namespace: str,
    obtain: Any,  # Callable[[str, str], NewCredential]: (auths key, current username) -> new credential
    registries: Sequence[str],
    images: Sequence[str],
    options: ClientOptions,
    verify: bool = True,
    verify_after: bool = False,
) -> Plan:
    where = f"secret {namespace}/{name}"
    current = _read(api, namespace, name)
    entries = entries_of(current)
    keys = choose_keys(entries, registries, where)
    fresh: dict[str, NewCredential] = {}
    for key in keys:
        old = next(e for e in entries if e.key == key)
        fresh[key] = obtain(key, old.credential.username)
        api.hide(fresh[key].credential.password)
    for entry in entries:
        api.hide(entry.credential.password)
    if all(fresh[k].credential == next(e for e in entries if e.key == k).credential for k in keys):
        return Plan([f"{where}: the new credential is the one already in place (nothing to do)"])
    checks = check_credentials([(k, fresh[k].credential) for k in keys], images, options) if verify else []
    summary = verification_lines(checks)
    if any(not c.ok for c in checks):
        summary.append(f"The new credential was refused: {where} is unchanged and keeps working.")
        return Plan(summary, code=EXIT_FAILED)
    new_entries = [Entry(e.key, fresh[e.key].credential) if e.key in fresh else e for e in entries]
    expiry = min((c.expires_at for c in fresh.values() if c.expires_at is not None), default=None)
    old_payload = (current.get("data") or {}).get(DATA_KEY)
    summary += [
        f"{where}: rotate {len(keys)} of {len(entries)} auths entr{'y' if len(entries) == 1 else 'ies'} (values masked):",
        *describe_entries(entries, new_entries),
        f"  {ROTATED_AT}: {(current['metadata'].get('annotations') or {}).get(ROTATED_AT, '(none)')} -> now",
        f"  the previous credential is kept in data key {PREVIOUS_KEY} (pullguard secret rotate {name} -n {namespace} --rollback)",
    ]
    if expiry is not None:
        summary.append(f"  {EXPIRES_AT}: {timestamp(expiry)}")

    new_payload = encode(build_payload(new_entries))

    def change(stored: dict[str, Any]) -> dict[str, Any] | None:
        if (stored.get("data") or {}).get(DATA_KEY) == new_payload:
            return None  # our own write, applied although its answer was lost (the client retried)
        if (stored.get("data") or {}).get(DATA_KEY) != old_payload:
            raise ChangeAborted(
                f"{where} was changed by someone else while rotating (its credential is not the one that was read): "
                "nothing was overwritten; run the rotation again"
            )
        return secret_object(
            name, namespace, new_entries, time.time(), expiry, base=stored, previous=old_payload
        )

    def execute(server_dry_run: bool) -> Report:
        report = _swap(api, namespace, name, change, server_dry_run, "rotated", old_payload)
        if report.code == 0 and verify_after and not server_dry_run:
            report.lines += verify_stored(api, namespace, name, images, options, report)
        return report

    return Plan(summary, execute, objects=[change(current) or {}], risky=True)


def _swap(
    api: KubeApi,
    namespace: str,
    name: str,
    change: Any,
    server_dry_run: bool,
    verb: str,
    old_payload: str | None,
) -> Report:
    report = Report()
    where = f"secret {namespace}/{name}"
    try:
        stored, written = api.update(SECRETS, namespace, name, change, dry_run=server_dry_run)
    except ChangeAborted as aborted:
        return report.fail(str(aborted))
    except Conflict:
        return report.fail(
            f"{where} kept changing (409 Conflict each time): nothing was overwritten; run again"
        )
    except WriteUnknown:
        # The answer was lost: read the Secret to learn which credential is in place.
        after = api.get(SECRETS, namespace, name)
        if (after.get("data") or {}).get(DATA_KEY) == old_payload:
            return report.fail(
                f"{where}: the write was not applied (no answer from the API server); the old credential is in place"
            )
        report.lines.append(
            f"{where} {verb} (the API server's answer was lost; read back: the new credential is in place)"
        )
        return report
    if server_dry_run:
        report.lines.append(f"{where} would be {verb} (server dry run: validated, nothing stored)")
    elif written:
        rv = stored.get("metadata", {}).get("resourceVersion")
        report.lines.append(f"{where} {verb} (resourceVersion {rv}; same object, same uid)")
    else:
        report.lines.append(
            f"{where} {verb}: the new credential is in place (a write whose answer was lost had been applied)"
        )
    return report


def verify_stored(
    api: KubeApi, namespace: str, name: str, images: Sequence[str], options: ClientOptions, report: Report
) -> list[str]:
    """Read the Secret back and ask the registries again, as the kubelet would use it now: the login,
    the ``--image``s, and the images of the pods in the namespace that list the Secret."""
    stored = api.get(SECRETS, namespace, name)
    lines = ["Read back and checked:"]
    try:
        pods = api.list_objects(PODS, namespace)
    except ClusterForbidden:
        pods = []
        lines.append(f"  (may not list pods in {namespace}: their images were not checked)")
    in_use = [
        str(c.get("image"))
        for pod in pods
        if name in [str(r.get("name")) for r in (pod.get("spec") or {}).get("imagePullSecrets") or []]
        for c in [
            *((pod.get("spec") or {}).get("initContainers") or []),
            *((pod.get("spec") or {}).get("containers") or []),
        ]
        if c.get("image")
    ]
    wanted = list(dict.fromkeys([*images, *in_use]))
    checks = check_credentials([(e.key, e.credential) for e in entries_of(stored)], wanted, options)
    lines += [c.line() for c in checks]
    if any(not c.ok for c in checks):
        report.code = EXIT_FAILED
        lines.append(
            f"The stored credential is refused: roll back with pullguard secret rotate {name} -n {namespace} --rollback"
        )
    return lines


def plan_rollback(
    api: KubeApi,
    name: str,
    namespace: str,
    images: Sequence[str],
    options: ClientOptions,
    verify: bool = True,
) -> Plan:
    where = f"secret {namespace}/{name}"
    current = _read(api, namespace, name)
    data = current.get("data") or {}
    if PREVIOUS_KEY not in data:
        raise InputError(
            f"{where} keeps no previous credential (data key {PREVIOUS_KEY}): nothing to roll back to"
        )
    entries = entries_of(current)
    previous = entries_of(current, PREVIOUS_KEY)
    for entry in (*entries, *previous):
        api.hide(entry.credential.password)
    checks = check_credentials([(e.key, e.credential) for e in previous], images, options) if verify else []
    summary = verification_lines(checks)
    if any(not c.ok for c in checks):
        summary.append(
            f"The previous credential is refused (revoked?): rolling back would break pulls; {where} is unchanged."
        )
        return Plan(summary, code=EXIT_FAILED)
    old_payload, previous_payload = data[DATA_KEY], data[PREVIOUS_KEY]
    annotations = current["metadata"].get("annotations") or {}
    summary += [
        f"{where}: roll back to the previous credential (the current one becomes the previous):",
        *describe_entries(entries, previous),
    ]

    def change(stored: dict[str, Any]) -> dict[str, Any] | None:
        stored_data = stored.get("data") or {}
        if stored_data.get(DATA_KEY) == previous_payload and stored_data.get(PREVIOUS_KEY) == old_payload:
            return None  # already rolled back (a write whose answer was lost)
        if stored_data.get(DATA_KEY) != old_payload or stored_data.get(PREVIOUS_KEY) != previous_payload:
            raise ChangeAborted(f"{where} changed while rolling back: nothing was overwritten; run again")
        expiry = min((e for e in (_expiry(x.credential) for x in previous) if e is not None), default=None)
        obj = secret_object(name, namespace, previous, time.time(), expiry, base=stored, previous=old_payload)
        when = parse_timestamp(annotations.get("pullguard.io/previous-rotated-at"))
        if when is not None:
            obj["metadata"]["annotations"][ROTATED_AT] = timestamp(when)
        return obj

    def execute(server_dry_run: bool) -> Report:
        return _swap(api, namespace, name, change, server_dry_run, "rolled back", old_payload)

    return Plan(summary, execute, objects=[change(current) or {}], risky=True)


def _expiry(credential: Credential) -> float | None:
    from pullguard.registry.credentials import credential_expiry

    return credential_expiry(credential)
