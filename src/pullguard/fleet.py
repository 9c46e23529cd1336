"""Live clusters: one cluster's scan, and a fleet of them scanned concurrently.

cluster source (pages) -> live inventory -> the same analysis as files
(`pullguard.scan.analyse`) -> findings tagged with the cluster's name. Across
clusters, pull secrets holding the same credential (keyed fingerprints) are
reported as PG007 in fleet mode: one leaked copy opens every cluster (seed 000).
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pullguard import settings
from pullguard.checks import Finding, Severity
from pullguard.errors import ClusterError
from pullguard.inventory.fingerprint import SecretCredential, fingerprint_key, keyed, secret_credentials
from pullguard.inventory.live import LiveInventoryBuilder, LiveStats, Platform, detect_platform
from pullguard.scan import ScanOptions, ScanResult, analyse
from pullguard.sources.cluster import ClusterOptions, ClusterSource, Connection, connect
from pullguard.sources.model import InputProblem, Level, Location

REUSE_CHECK = "PG007"


@dataclass(slots=True)
class ClusterScan:
    name: str
    result: ScanResult | None = None
    error: str | None = None  # the cluster could not be scanned at all
    server: str = ""
    partial: bool = False  # some namespaces or resources could not be read
    platform: Platform | None = None
    live: LiveStats = field(default_factory=LiveStats)
    requests: int = 0
    elapsed: float = 0.0
    scope: str = ""  # "all namespaces" or the namespaces read

    @property
    def headline(self) -> str:
        if self.result is None:
            return f"cluster {self.name}: not scanned: {self.error}"
        marker = " (PARTIAL: some namespaces could not be read)" if self.partial else ""
        return f"cluster {self.name}: {self.result.summary.headline}{marker}"


@dataclass(slots=True)
class FleetResult:
    clusters: list[ClusterScan]
    reuse: list[Finding] = field(default_factory=list)
    fingerprints_keyed: bool = False

    @property
    def scanned(self) -> list[ClusterScan]:
        return [c for c in self.clusters if c.result is not None]

    @property
    def private_images(self) -> int:
        return sum(_judged(c.result) for c in self.scanned if c.result is not None)

    @property
    def covered(self) -> int:
        return sum(c.result.summary.private_images_covered for c in self.scanned if c.result is not None)

    @property
    def headline(self) -> str:
        failed = len(self.clusters) - len(self.scanned)
        note = f"; {failed} could not be scanned" if failed else ""
        return (
            f"fleet ({len(self.scanned)} of {len(self.clusters)} clusters{note}): "
            f"{self.covered} of {self.private_images} private images have pull credentials configured."
        )

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.scanned if c.result is not None for f in c.result.findings] + self.reuse

    @property
    def incomplete(self) -> bool:
        return any(c.result is None or c.partial or c.result.summary.input_errors for c in self.clusters)


def _judged(result: ScanResult) -> int:
    return result.summary.private_images - result.summary.private_images_unverifiable


def scan_cluster(connection: Connection, cluster_options: ClusterOptions, options: ScanOptions) -> ClusterScan:
    """Read one cluster page by page into the inventory and analyse it; ClusterError when it cannot be read."""
    started = time.monotonic()
    source = ClusterSource(connection, cluster_options)
    builder = LiveInventoryBuilder(connection.namespace, cluster_options.secret_data)
    for manifest in source.read():
        builder.add(manifest)
    inventory = builder.finish(source.unreadable_secrets)
    platform = detect_platform(builder.node_labels)
    problems = list(source.problems)
    if platform is not None and platform.node_patterns:
        options = dataclasses.replace(options, node_patterns=options.node_patterns + platform.node_patterns)
        problems.append(
            InputProblem(
                Location(f"{connection.name}:/api/v1/nodes", 1, 1),
                Level.WARNING,
                "assumed-node-credentials",
                f"cluster '{connection.name}': {platform.nodes} nodes carry {platform.name} labels, so pullguard assumes "
                f"they pull from {', '.join(platform.node_patterns)} with their own identity "
                "(declare it with --node-credentials to silence this)",
            )
        )
    inventory.stats = source.stats
    inventory.problems = problems + inventory.problems
    result = analyse(inventory, options)
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
        platform=platform,
        live=builder.stats,
        requests=source.requests,
        elapsed=time.monotonic() - started,
        scope=scope,
    )


def scan_fleet(
    contexts: Sequence[str | None],
    kubeconfig: str | None,
    cluster_options: ClusterOptions,
    options: ScanOptions,
    connector: Callable[[str | None, str | None], Connection] | None = None,
    max_workers: int = 8,
) -> FleetResult:
    """Scan every context concurrently; a cluster that fails is reported, the others still are."""
    make = connector or (lambda kubeconfig, context: connect(kubeconfig, context))

    def one(context: str | None) -> ClusterScan:
        try:
            return scan_cluster(make(kubeconfig, context), cluster_options, options)
        except ClusterError as error:
            return ClusterScan(context or "current-context", error=str(error))

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(contexts)))) as pool:
        clusters = list(pool.map(one, contexts))
    # the same key as PG007 within one cluster: PULLGUARD_FINGERPRINT_KEY, else the config file's
    key, is_keyed = settings.fingerprint_key(options.fingerprint_key)
    fleet = FleetResult(clusters, fingerprints_keyed=is_keyed)
    if len(fleet.scanned) > 1 and REUSE_CHECK not in options.disabled_checks:
        fleet.reuse = cross_cluster_reuse(fleet.scanned, key)
    return fleet


def cross_cluster_reuse(clusters: Sequence[ClusterScan], key: bytes | None = None) -> list[Finding]:
    """PG007 in fleet mode: the same credential (keyed fingerprint) in pull secrets of two or more clusters."""
    key = key if key is not None else fingerprint_key()
    holders: dict[str, list[tuple[str, SecretCredential]]] = defaultdict(list)
    for cluster in clusters:
        assert cluster.result is not None
        for secret in cluster.result.inventory.secrets.values():
            for credential in secret_credentials(secret, key):
                holders[credential.fingerprint].append((cluster.name, credential))
    findings: list[Finding] = []
    for fingerprint, held in sorted(holders.items()):
        cluster_names = sorted({name for name, _ in held})
        if len(cluster_names) < 2:
            continue
        for name, credential in held:
            secret = credential.secret
            others = [
                f"{other}: {c.secret.ref.namespace}/{c.secret.ref.name}"
                for other, c in held
                if other != name
            ]
            findings.append(
                Finding(
                    REUSE_CHECK,
                    Severity.MEDIUM,
                    secret.ref,
                    f"Secret '{secret.ref.name}' in namespace '{secret.ref.namespace}' holds the same registry "
                    f"credential (key '{credential.key}', {fingerprint}) as {len(others)} pull secrets in "
                    f"{len(cluster_names) - 1} other clusters ({'; '.join(sorted(others))}). One leaked copy "
                    "opens the registry to every cluster, and it cannot be revoked for one cluster alone.",
                    secret.location,
                    "Issue one registry credential per cluster (a robot account or scoped token), write it to a "
                    f"docker config file for '{credential.key}', then replace this secret: kubectl --context {name} "
                    f"-n {secret.ref.namespace} create secret generic {secret.ref.name} "
                    "--type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=./config.json "
                    f"--dry-run=client -o yaml | kubectl --context {name} apply -f -  "
                    "(then revoke the shared credential in the registry)",
                    cluster=name,
                )
            )
    return findings


def scan_live(
    contexts: Sequence[str | None],
    kubeconfig: str | None,
    cluster_options: ClusterOptions,
    options: ScanOptions,
    *,
    single: bool = True,
) -> FleetResult:
    """`scan --cluster` / `--context ...`: one cluster fails with its error (exit 2); a fleet reports each."""
    if single:
        cluster = scan_cluster(connect(kubeconfig, contexts[0]), cluster_options, options)
        return FleetResult([cluster], fingerprints_keyed=keyed())
    return scan_fleet(list(dict.fromkeys(contexts)), kubeconfig, cluster_options, options)
