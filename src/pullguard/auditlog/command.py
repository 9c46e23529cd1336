"""`pullguard audit-log FILE…|-`: who actually read the pull secrets, by the API server's audit log."""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from pullguard import cli_options as opt
from pullguard.auditlog.classify import Judge, PullSecrets, ReadPolicy
from pullguard.auditlog.model import AuditResult
from pullguard.auditlog.reader import DEFAULT_MAX_EVENT_BYTES, ReadStats, read_events
from pullguard.auditlog.summary import Summariser
from pullguard.checks import Severity
from pullguard.inventory.model import Inventory
from pullguard.pipeline import finalise, finding_order
from pullguard.report.formats import Format
from pullguard.result import ScanResult
from pullguard.settings import ScanOptions
from pullguard.sources.model import InputProblem, Level, Location

if TYPE_CHECKING:
    from pullguard.result import FleetResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def audit(
    paths: Sequence[str],
    inventory: Inventory | None,
    policy: ReadPolicy | None = None,
    *,
    disabled: frozenset[str] = frozenset(),
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> AuditResult:
    """Stream the audit logs once and judge every read of a pull secret."""
    policy = policy or ReadPolicy()
    secrets = PullSecrets(inventory)
    summariser = Summariser(secrets, Judge(secrets, policy), disabled=disabled)
    stats = ReadStats()
    summariser.add_all(read_events(list(paths), stats, max_event_bytes))
    return summariser.finish(stats, describe(policy))


def describe(policy: ReadPolicy) -> str:
    parts = []
    if policy.user_agents:
        parts.append(f"user agents {', '.join(policy.user_agents)}")
    if policy.sources:
        parts.append(f"sources {', '.join(str(s) for s in policy.sources)}")
    if policy.hours is not None:
        parts.append(f"business hours {policy.hours}")
    if policy.expect:
        parts.append(f"expected {', '.join(policy.expect)}")
    if policy.scanners:
        parts.append(f"scanner {', '.join(policy.scanners)}")
    return "; ".join(parts)


def with_audit_logs(
    result: ScanResult, paths: Sequence[str], options: ScanOptions, cluster: str | None = None
) -> ScanResult:
    """`scan --audit-log`: the scan's findings plus PG040 (and PG015 for logs holding bodies), judged
    against the scanned inventory and the configuration's `auditLog` section, and finalised like the scan's (disabled checks, suppressions,
    severity overrides, order); the logs' input problems count as the scan's."""
    policy = ReadPolicy.from_settings(options.audit_log)  # validated when the configuration was read
    audited = audit(paths, result.inventory, policy, disabled=options.disabled_checks)
    found = [dataclasses.replace(f, cluster=cluster) for f in audited.findings]
    kept, suppressed = finalise(found, result.inventory, options, (options.now or datetime.now(UTC)).date())
    findings = sorted([*result.findings, *kept], key=finding_order)
    problems = [*result.problems, *audited.problems]
    severities = Counter(f.severity.value for f in findings)
    summary = dataclasses.replace(
        result.summary,
        findings={s.value: severities[s.value] for s in Severity if severities[s.value]},
        input_errors=sum(1 for p in problems if p.level is Level.ERROR),
        input_warnings=sum(1 for p in problems if p.level is Level.WARNING),
        suppressed=result.summary.suppressed + len(suppressed),
    )
    return dataclasses.replace(
        result,
        findings=findings,
        problems=problems,
        summary=summary,
        suppressed=[*result.suppressed, *suppressed],
    )


def audit_fleet(fleet: FleetResult, paths: Sequence[str], options: ScanOptions) -> None:
    """`scan --cluster --audit-log`: one cluster's log, judged against that cluster's inventory."""
    for scanned in fleet.clusters:
        if scanned.result is not None:
            scanned.result = with_audit_logs(scanned.result, paths, options, scanned.name)


def _inventory(
    manifests: tuple[str, ...], options: ScanOptions, live: bool, context: str | None, kubeconfig: str | None
) -> tuple[Inventory | None, list[InputProblem]]:
    from pullguard.scan import scan_paths

    if manifests:
        scanned = scan_paths(list(manifests), options)
        return scanned.inventory, list(scanned.problems)
    if live or context or kubeconfig:
        from pullguard.fleet import scan_cluster
        from pullguard.sources.cluster import ClusterOptions, connect

        # names and types only: the secrets' data is not needed to know which are pull secrets
        cluster = scan_cluster(
            connect(kubeconfig, context),
            ClusterOptions(all_namespaces=True, secret_data=False),
            options,
        )
        assert cluster.result is not None
        problems = list(cluster.result.problems)
        if cluster.partial:
            problems.append(
                InputProblem(
                    Location(f"{cluster.name}:/api", 1, 1),
                    Level.WARNING,
                    "partial-inventory",
                    f"cluster '{cluster.name}': some namespaces or RBAC objects could not be read; "
                    "reads allowed by what could not be read are reported as without a grant",
                )
            )
        return cluster.result.inventory, problems
    return None, []


_HELP = """Who actually read the pull secrets: judge an API server audit log.

FILE is an audit log as the log backend writes it (--audit-log-path: one
audit.k8s.io/v1 Event per line), a gzip-rotated file, an EventList JSON
document, or - for standard input. Files of any size are streamed.

Every read of a pull secret is reported: get/watch of the secret, and
list/watch of the secrets of its namespace (or of every namespace), which
return its data. Which secrets are pull secrets, and who RBAC lets read them
(as PG012 computes it), comes from manifests (--manifests) or the cluster
(--cluster, --context, --kubeconfig; names and types only, no secret data);
without either, every secret the events name is reported.

The kubelet (node authorizer), pullguard's scanner and --expect subjects are
expected; a read by a subject without an RBAC grant, or from a user agent,
source address or time outside the allow-lists, is finding PG040. The
allow-lists can also be kept in .pullguard.yaml (auditLog: expect, scanners,
allowUserAgents, allowSources, businessHours, businessDays, timezone), which
scan --audit-log uses too; flags add to its lists and win over its values. Requests
refused with 403 are denied attempts, not reads; impersonated requests are
the impersonated user's reads. Request and response bodies are never
shown: a log that holds them is itself a leak (PG015).

\b
Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 usage error or
unreadable input (the rest is still reported).

\b
Examples:
  pullguard audit-log /var/log/kubernetes/audit/audit.log* --manifests k8s/
  pullguard audit-log audit.log --context prod --business-hours 08:00-18:00 --timezone Europe/Berlin
  zcat audit-*.log.gz | pullguard audit-log - --allow-source 10.0.0.0/8 --allow-user-agent 'argocd-*'
  pullguard audit-log audit.log --cluster --format sarif -o reads.sarif
  pullguard audit-log audit.log --manifests k8s/ -o reads.html
"""


@click.command("audit-log", help=_HELP)
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@click.option(
    "--manifests",
    multiple=True,
    metavar="PATH",
    type=click.Path(allow_dash=False),
    help="Manifests (files or directories, as for scan) that hold the pull secrets and RBAC.",
)
@opt.namespace_option("Namespace for manifests that name none.")
@click.option(
    "--cluster",
    "live",
    is_flag=True,
    help="Read the pull secrets and RBAC from the current kubeconfig context (read-only).",
)
@opt.context_option("Kubeconfig context to read them from (implies --cluster).")
@opt.kubeconfig_option()
@click.option(
    "--expect",
    multiple=True,
    metavar="USER",
    help="A user name (glob, e.g. 'system:serviceaccount:argocd:*') whose reads are expected.",
)
@click.option(
    "--scanner",
    multiple=True,
    metavar="USER",
    help="The user name(s) pullguard's own scanner runs as (else: any RBAC-allowed subject with its user agent).",
)
@click.option(
    "--allow-user-agent",
    multiple=True,
    metavar="GLOB",
    help="Usual user agent (glob, e.g. 'kubectl/*'); others are flagged. Repeatable.",
)
@click.option(
    "--allow-source",
    multiple=True,
    metavar="CIDR",
    help="Usual source network (e.g. 10.0.0.0/8); reads from elsewhere are flagged. Repeatable.",
)
@click.option(
    "--business-hours",
    metavar="HH:MM-HH:MM",
    help="Flag reads outside this window (with --business-days, --timezone).",
)
@click.option(
    "--business-days",
    metavar="DAYS",
    help="Days of the business-hours window (e.g. mon-fri, mon,wed)  [default: mon-fri]",
)
@click.option(
    "--timezone",
    metavar="ZONE",
    help="IANA time zone of the business-hours window  [default: UTC]",
)
@opt.report_options(tuple(f.value for f in Format))
@opt.fail_on_option("low", "Lowest finding severity that makes the exit code 1.")
@opt.disable_option("Do not report this check (PG040, PG015).")
@opt.config_options(
    "Configuration file (default: the nearest .pullguard.yaml of --manifests, else of the current directory)."
)
@opt.allow_input_errors_option("lines")
@click.option(
    "--max-event-bytes",
    type=click.IntRange(1024, 1 << 30),
    default=DEFAULT_MAX_EVENT_BYTES,
    show_default=True,
    help="Longest event (line) read; longer ones are input problems.",
)
def audit_log(
    files: tuple[str, ...],
    manifests: tuple[str, ...],
    namespace: str,
    live: bool,
    context: str | None,
    kubeconfig: str | None,
    expect: tuple[str, ...],
    scanner: tuple[str, ...],
    allow_user_agent: tuple[str, ...],
    allow_source: tuple[str, ...],
    business_hours: str | None,
    business_days: str | None,
    timezone: str | None,
    output_format: str | None,
    output: str,
    fail_on: str,
    disabled: tuple[str, ...],
    config_path: str | None,
    no_config: bool,
    allow_input_errors: bool,
    max_event_bytes: int,
) -> None:
    from pullguard.cli import _guarded, _options, _write
    from pullguard.report.formats import Report, TextOptions, check_supported, choose_format, render_audit

    fmt = _guarded(lambda: choose_format(output_format, output))
    _guarded(lambda: check_supported(Report.AUDIT, fmt))
    if manifests and (live or context or kubeconfig):
        raise click.UsageError("read pull secrets from --manifests or from a cluster, not both")
    if files.count("-") > 1:
        raise click.UsageError("standard input (-) can be read once")
    unknown = sorted({d.upper() for d in disabled} - {"PG040", "PG015"})
    if unknown:
        raise click.BadParameter(
            f"only PG040 and PG015 come from audit logs, not {', '.join(unknown)}", param_hint="--disable"
        )
    # the one configuration (.pullguard.yaml next to the manifests, or --config): suppressions,
    # severity overrides and disabled checks apply to these findings as to the scan's, and its
    # auditLog section judges the readers, the flags added to it (lists) or winning (single values)
    options = _options(
        manifests, config_path, no_config, namespace=namespace, disabled=tuple(d.upper() for d in disabled)
    )
    settings = options.audit_log.with_flags(
        user_agents=allow_user_agent,
        sources=allow_source,
        business_hours=business_hours,
        business_days=business_days,
        timezone=timezone,
        expect=expect,
        scanners=scanner,
    )
    try:
        policy = ReadPolicy.from_settings(settings)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    inventory, problems = _guarded(lambda: _inventory(manifests, options, live, context, kubeconfig))
    result = _guarded(
        lambda: audit(
            files, inventory, policy, disabled=options.disabled_checks, max_event_bytes=max_event_bytes
        )
    )
    result.stats.problems[:0] = problems
    result.findings, result.suppressed = finalise(
        result.findings, inventory or Inventory(), options, (options.now or datetime.now(UTC)).date()
    )
    _write(output, lambda out: render_audit(result, fmt, out, TextOptions()))
    if any(p.level is Level.ERROR for p in result.problems) and not allow_input_errors:
        sys.exit(EXIT_ERROR)
    if fail_on != "never" and any(f.severity.rank >= Severity(fail_on).rank for f in result.findings):
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)
