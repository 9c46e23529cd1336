"""Live clusters: one cluster's scan, and a fleet of them scanned concurrently.

Each cluster goes through the one pipeline (`pipeline.run`) with its cluster source,
after the file sources when manifests are judged against the cluster. Across
clusters, pull secrets holding the same credential (keyed fingerprints) are PG007 in
fleet mode — one leaked copy opens every cluster — stamped by PG007's declaration and
finalised (suppressions, severity overrides) like every other finding.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from pullguard import settings
from pullguard.checks import Finding, Hit
from pullguard.counts import plural
from pullguard.errors import ClusterError
from pullguard.inventory.fingerprint import SecretCredential, secret_credentials
from pullguard.inventory.live import LiveStats
from pullguard.pipeline import Source, collect, finalise, finding_order, run_collected, stamp
from pullguard.result import ClusterScan, FleetResult
from pullguard.settings import ScanOptions
from pullguard.sources.cluster import ClusterOptions, ClusterSource, Connection, connect
from pullguard.suppress import SuppressedFinding

__all__ = ["ClusterScan", "FleetResult", "cross_cluster_reuse", "scan_cluster", "scan_fleet", "scan_live"]

REUSE_CHECK = "PG007"


def scan_cluster(
    connection: Connection,
    cluster_options: ClusterOptions,
    options: ScanOptions,
    files: Sequence[Source] = (),
) -> ClusterScan:
    """One cluster through the pipeline; with `files`, the manifests are judged against the
    cluster's secrets, ServiceAccounts, namespaces and nodes. ClusterError when it cannot be read."""
    started = time.monotonic()
    if files:
        cluster_options = dataclasses.replace(cluster_options, context_only=True)
    source = ClusterSource(connection, cluster_options)
    collected = collect([*files, source], options)
    result = run_collected(collected)
    result.findings = [dataclasses.replace(f, cluster=connection.name) for f in result.findings]
    scope = (
        "all namespaces"
        if cluster_options.all_namespaces
        else "namespace " + ", ".join(cluster_options.namespaces or (connection.namespace,))
    )
    return ClusterScan(
        connection.name,
        result,
        server=connection.transport.server,
        partial=source.partial,
        platform=collected.platform,
        live=collected.live or LiveStats(),
        requests=source.requests,
        elapsed=time.monotonic() - started,
        scope=scope,
    )


FileSources = Callable[[], Sequence[Source]]


def scan_fleet(
    contexts: Sequence[str | None],
    kubeconfig: str | None,
    cluster_options: ClusterOptions,
    options: ScanOptions,
    connector: Callable[[str | None, str | None], Connection] | None = None,
    max_workers: int = 8,
    files: FileSources | None = None,
) -> FleetResult:
    """Scan every context concurrently; a cluster that fails is reported, the others still are.
    With `files` (fresh file sources per cluster), the manifests are judged against each cluster."""
    make = connector or (
        lambda kubeconfig, context: connect(kubeconfig, context, budget=cluster_options.budget())
    )

    def one(context: str | None) -> ClusterScan:
        try:
            return scan_cluster(make(kubeconfig, context), cluster_options, options, files() if files else ())
        except ClusterError as error:
            return ClusterScan(context or "current-context", error=str(error))

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(contexts)))) as pool:
        clusters = list(pool.map(one, contexts))
    # the same key as PG007 within one cluster: PULLGUARD_FINGERPRINT_KEY, else the config file's
    key, is_keyed = settings.fingerprint_key(options.fingerprint_key)
    fleet = FleetResult(clusters, fingerprints_keyed=is_keyed)
    if len(fleet.scanned) > 1 and REUSE_CHECK not in options.disabled_checks:
        fleet.reuse, fleet.reuse_suppressed = cross_cluster_reuse(fleet.scanned, key, options)
    return fleet


def cross_cluster_reuse(
    clusters: Sequence[ClusterScan], key: bytes, options: ScanOptions
) -> tuple[list[Finding], list[SuppressedFinding]]:
    """PG007 in fleet mode: the same credential (keyed fingerprint) in pull secrets of two or
    more clusters; finalised with each cluster's inventory (annotations) and the configuration."""
    holders: dict[str, list[tuple[str, SecretCredential]]] = defaultdict(list)
    for cluster in clusters:
        assert cluster.result is not None
        for secret in cluster.result.inventory.secrets.values():
            for credential in secret_credentials(secret, key):
                holders[credential.fingerprint].append((cluster.name, credential))
    hits: dict[str, list[Hit]] = defaultdict(list)
    for fingerprint, held in sorted(holders.items()):
        cluster_names = sorted({name for name, _ in held})
        if len(cluster_names) < 2:
            continue
        for name, credential in held:
            secret = credential.secret
            others = [
                f"{other}: {c.secret.ref.namespace}/{c.secret.ref.name}" for other, c in held if other != name
            ]
            hits[name].append(
                Hit(
                    secret.ref,
                    f"Secret '{secret.ref.name}' in namespace '{secret.ref.namespace}' holds the same registry "
                    f"credential (key '{credential.key}', {fingerprint}) as {plural(len(others), 'pull secret')} in "
                    f"{plural(len(cluster_names) - 1, 'other cluster')} ({'; '.join(sorted(others))}). One leaked copy "
                    "opens the registry to every cluster, and it cannot be revoked for one cluster alone.",
                    secret.location,
                    "Issue one registry credential per cluster (a robot account or scoped token), write it to a "
                    f"docker config file for '{credential.key}', then replace this secret: kubectl --context {name} "
                    f"-n {secret.ref.namespace} create secret generic {secret.ref.name} "
                    "--type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=./config.json "
                    f"--dry-run=client -o yaml | kubectl --context {name} apply -f -  "
                    "(then revoke the shared credential in the registry)",
                )
            )
    findings: list[Finding] = []
    suppressed: list[SuppressedFinding] = []
    for cluster in clusters:
        if cluster.name not in hits or cluster.result is None:
            continue
        result = cluster.result
        kept, silenced = finalise(
            stamp(REUSE_CHECK, hits[cluster.name], cluster=cluster.name),
            result.inventory,
            options,
            result.resolution.settings.now.date(),
        )
        findings.extend(kept)
        suppressed.extend(silenced)
    findings.sort(key=finding_order)
    return findings, suppressed


def scan_live(
    contexts: Sequence[str | None],
    kubeconfig: str | None,
    cluster_options: ClusterOptions,
    options: ScanOptions,
    *,
    single: bool = True,
    files: FileSources | None = None,
) -> FleetResult:
    """`scan --cluster` / `--context ...` (with PATHs: judged against the cluster): one cluster
    fails with its error (exit 2); a fleet reports each."""
    if single:
        connection = connect(kubeconfig, contexts[0], budget=cluster_options.budget())
        cluster = scan_cluster(connection, cluster_options, options, files() if files else ())
        _, is_keyed = settings.fingerprint_key(options.fingerprint_key)
        return FleetResult([cluster], fingerprints_keyed=is_keyed)
    return scan_fleet(list(dict.fromkeys(contexts)), kubeconfig, cluster_options, options, files=files)
