"""PG040: who actually read the pull secrets, by the API server's audit log."""

from __future__ import annotations

from collections.abc import Iterator

from pullguard.checks.base import Hit, Severity, check
from pullguard.inventory.resolve import Resolution


@check(
    id="PG040",
    title="Pull secret read by an unexpected subject",
    severity=Severity.HIGH,
    remediation=(
        "Find out who the reader is and why it read the registry credential. If the read was not legitimate, "
        "rotate the credential at the registry, replace the secret, and remove the role or binding that let "
        "the subject read it (`kubectl auth can-i get secret/NAME -n NS --as SUBJECT`). If it is legitimate, "
        "grant it explicitly (a Role with resourceNames and verbs: [get]) or declare it with --expect, "
        "--allow-user-agent or --allow-source, so later runs flag only the unexpected."
    ),
    standards=("NIST-AU-6", "CIS-5.1.2", "CWE-522", "OWASP-NHI-02"),
    seeds=("001 §7",),
)
def unexpected_pull_secret_reads(resolution: Resolution) -> Iterator[Hit]:
    """A read of a pull secret, recorded in the API server's audit log, by a subject that should not
    have read it. Judged by `pullguard audit-log FILE…` and `pullguard scan --audit-log FILE`
    (manifests alone record no reads: this check finds nothing without an audit log).

    A read is a `get` or `watch` of a pull secret, or a `list`/`watch` of the secrets of its
    namespace or of every namespace (a list returns every secret's data). Requests refused with
    403 are denied attempts, not reads; with `impersonatedUser`, the impersonated user is the
    reader. Expected readers are the kubelet through the node authorizer (user
    `system:node:NAME` in group `system:nodes`), pullguard's own scanner, and subjects declared
    with `--expect`. A read is flagged when the subject has no RBAC grant on the secret in the
    inventory (the same computation as PG012; high), or, for any reader that is not expected,
    when it came from a user agent or source address outside the allow-lists
    (`--allow-user-agent`, `--allow-source`) or outside the business-hours window
    (`--business-hours`) (medium). One finding per pull secret and reader, with the count,
    first and last time, verbs, user agents, source addresses and the API server's own
    authorization reason. Audit events are read for their metadata only; request and response
    bodies are never shown (a log holding them is itself a leak: reported as PG015). See
    https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/.
    """
    return iter(())
