"""`pullguard secret create`: a verified ``kubernetes.io/dockerconfigjson`` Secret.

The credential is asked of the registry first (``--no-verify`` skips it); a
refused one is never written. The Secret carries ``pullguard.io/rotated-at`` and,
for a token that says when it expires, ``pullguard.io/expires-at``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from pullguard.registry.client import ClientOptions
from pullguard.secrets.check import Check, check_credentials
from pullguard.secrets.kube import AlreadyExists, KubeApi
from pullguard.secrets.payload import DATA_KEY, EXPIRES_AT, ROTATED_AT, Entry, fingerprint, secret_object
from pullguard.secrets.plan import EXIT_ERROR, EXIT_FAILED, Plan, Report
from pullguard.secrets.sources import NewCredential
from pullguard.sources.cluster import SECRETS

__all__ = ["plan_create", "verification_lines"]


def verification_lines(checks: Sequence[Check]) -> list[str]:
    if not checks:
        return ["Registry check skipped (--no-verify)."]
    return ["Registry check:", *(check.line() for check in checks)]


def plan_create(
    api: KubeApi | None,
    name: str,
    namespace: str,
    new: NewCredential,
    images: Sequence[str],
    options: ClientOptions,
    verify: bool = True,
    now: float | None = None,
) -> Plan:
    checks = check_credentials([(new.registry, new.credential)], images, options) if verify else []
    summary = verification_lines(checks)
    if any(not c.ok for c in checks):
        summary.append("The registry does not accept this credential: nothing was written.")
        return Plan(summary, code=EXIT_FAILED)
    entry = Entry(new.registry, new.credential)
    obj = secret_object(name, namespace, [entry], now or time.time(), new.expires_at)
    annotations = obj["metadata"]["annotations"]
    summary += [
        f"Secret {namespace}/{name} (type kubernetes.io/dockerconfigjson), data key {DATA_KEY}:",
        f"  + auths[{new.registry!r}]  {fingerprint(new.credential)}  (password from {new.source})",
        f"  {ROTATED_AT}: {annotations[ROTATED_AT]}",
    ]
    if EXPIRES_AT in annotations:
        summary.append(f"  {EXPIRES_AT}: {annotations[EXPIRES_AT]}")

    def execute(server_dry_run: bool) -> Report:
        assert api is not None
        report = Report()
        try:
            stored = api.create(SECRETS, namespace, obj, dry_run=server_dry_run)
        except AlreadyExists:
            return report.fail(
                f"secret {namespace}/{name} already exists: nothing was written. To replace its credential, "
                f"verified and with the previous one kept: pullguard secret rotate {name} -n {namespace}",
                EXIT_ERROR,
            )
        verb = "would be created (server dry run)" if server_dry_run else "created"
        uid = stored.get("metadata", {}).get("uid", "")
        report.lines.append(
            f"secret/{name} {verb} in namespace {namespace}"
            + (f" (uid {uid})" if uid and not server_dry_run else "")
        )
        report.lines.append(
            f"Attach it: pullguard secret attach {name} -n {namespace} --serviceaccount default"
        )
        return report

    return Plan(summary, execute, objects=[obj])
