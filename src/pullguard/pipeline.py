"""The one way through pullguard: sources -> inventory -> resolution -> checks -> finalisation.

Every command runs this: `scan` (files, standard input, clusters, files judged
against a cluster), `verify` and `doctor` (which then ask registries), fleets
(once per cluster, then cross-cluster reuse through the same finalisation). A
command differs only in the sources it gives and what it does with the result.

    sources ──► inventory ──► resolution ──► checks ──► finalise ──► ScanResult
    (files, scripts,          (admission,     (declared,   (suppressions,   (reporters
     clusters)                 keyring,        pure)        severity         render it)
                               facts)                       overrides, order)
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Protocol

from pullguard import breakage, completeness
from pullguard.checks import REGISTRY, Finding, Hit, Severity
from pullguard.counts import plural
from pullguard.inventory.build import InventoryBuilder
from pullguard.inventory.evidence import collect as collect_evidence
from pullguard.inventory.exported import ExportedPods
from pullguard.inventory.external import add_external_pull_secrets
from pullguard.inventory.facts import compute_facts
from pullguard.inventory.kubelet_order import kubelet_view, version_of
from pullguard.inventory.live import LiveInventoryBuilder, LiveStats, Platform, detect_platform
from pullguard.inventory.model import Inventory
from pullguard.inventory.resolve import Coverage, Resolution, resolve
from pullguard.isolation import RUN, isolated
from pullguard.remediation import plan as fix_plan
from pullguard.result import ScanResult, Summary
from pullguard.semantics.registries import RegistryPolicy, Visibility
from pullguard.settings import AuditSettings, ScanOptions, fingerprint_key
from pullguard.sources.model import COMMITTED_CREDENTIAL, InputProblem, Level, Location, Manifest, ReadStats
from pullguard.suppress import SuppressedFinding, apply


class Source(Protocol):
    """Anything that yields Kubernetes objects: files, standard input, scripts, a cluster.

    `origin` names it in reports ("files", "cluster prod"). A `context` source only
    supplies what the others lack: an object it yields is dropped when an earlier
    source already defined the same kind/namespace/name (as `kubectl apply` of the
    files would replace it). `live` sources hold objects as the API server stored
    them (admitted pods, owner references).
    """

    @property
    def origin(self) -> str: ...

    @property
    def context(self) -> bool: ...

    @property
    def live(self) -> bool: ...

    stats: ReadStats
    problems: list[InputProblem]

    def read(self) -> Iterator[Manifest]: ...


# Given the first result, the registry patterns a live probe found public and private.
Probe = Callable[[ScanResult], tuple[tuple[str, ...], tuple[str, ...]]]


@dataclass(slots=True)
class Collected:
    """One inventory from every source, and what reading live sources told on the way."""

    inventory: Inventory
    options: ScanOptions  # with the node credentials a cluster's platform implies
    live: LiveStats | None = None
    platform: Platform | None = None


def run(sources: Sequence[Source], options: ScanOptions, *, probe: Probe | None = None) -> ScanResult:
    """Read every source once, then analyse. With `probe`, the same inventory is analysed
    again with what the probe learnt (no source is read twice: standard input cannot be)."""
    return run_collected(collect(sources, options), probe=probe)


def run_collected(collected: Collected, *, probe: Probe | None = None) -> ScanResult:
    inventory, options = collected.inventory, collected.options
    result = analyse(inventory, options)
    if probe is not None:
        public, private = probe(result)
        if public or private:
            options = dataclasses.replace(
                options,
                public_patterns=(*options.public_patterns, *public),
                private_patterns=(*options.private_patterns, *private),
            )
            result = analyse(inventory, options)
    return result


def collect(sources: Sequence[Source], options: ScanOptions) -> Collected:
    """Build one inventory from every source; the options gain node credentials the
    cluster's platform implies (said as a warning)."""
    live = any(source.live or source.context for source in sources)
    # a cluster read with --no-secret-data knows its pull secrets by name and type only
    secret_data = all(getattr(source, "secret_data", True) for source in sources)
    live_builder = LiveInventoryBuilder(options.default_namespace, secret_data) if live else None
    builder = live_builder.base if live_builder is not None else InventoryBuilder(options.default_namespace)
    # files: pods exported from a cluster are judged once per owner, as a live read judges them
    add: Callable[[Manifest], None] = (
        live_builder.add if live_builder is not None else ExportedPods(builder).add
    )
    tracking = any(source.context for source in sources)
    defined: set[tuple[str, str, str]] = set()
    from_context: set[tuple[str, str, str]] = set()
    origins: dict[str, Counter[str]] = {}
    replaced: list[str] = []
    stats = ReadStats()
    problems: list[InputProblem] = []
    # namespaces whose secrets a cluster source could not list: references there are unknown, not missing
    unknown_secrets: set[str | None] = set()
    for source in sources:
        counts = origins.setdefault(source.origin, Counter())
        for manifest in source.read():
            if tracking:
                key = object_key(manifest, options.default_namespace)
                if source.context:
                    if key in defined:
                        replaced.append(f"{manifest.kind} {key[1]}/{key[2]}")
                        continue
                    from_context.add(key)
                else:
                    defined.add(key)
            if manifest.kind != COMMITTED_CREDENTIAL:  # a script's finding, not an object
                counts[manifest.kind] += 1
            add(manifest)
        if not source.context:  # the counts line tells what was read; context objects are listed apart
            _merge_stats(stats, source.stats)
        problems.extend(source.problems)
        unknown_secrets |= set(getattr(source, "unreadable_secrets", ()))
    inventory = live_builder.finish(unknown_secrets) if live_builder is not None else builder.finish()
    platform = None
    if live_builder is not None:
        platform = detect_platform(live_builder.node_labels)
        if platform is not None and platform.node_patterns:
            cluster = next((s.origin for s in sources if s.live or s.context), "cluster")
            options = options.with_node_patterns(platform.node_patterns, f"{platform.name} node identity")
            problems.append(
                InputProblem(
                    Location(f"{cluster}:/api/v1/nodes", 1, 1),
                    Level.WARNING,
                    "assumed-node-credentials",
                    f"{cluster}: {plural(platform.nodes, 'node carries', 'nodes carry')} {platform.name} labels, so pullguard assumes "
                    f"they pull from {', '.join(platform.node_patterns)} with their own identity "
                    "(declare it with --node-credentials to silence this)",
                )
            )
    add_external_pull_secrets(inventory, options.external_pull_secrets)
    inventory.stats = stats
    inventory.problems = problems + inventory.problems
    if not live:  # nothing to judge is not a pass: no object, or images that are templates
        paths = list(dict.fromkeys(p for source in sources for p in getattr(source, "paths", ())))
        inventory.problems += completeness.problems(inventory, paths)
    inventory.origins = {name: counts for name, counts in origins.items() if counts}
    inventory.replaced = tuple(replaced)
    inventory.context_objects = frozenset(from_context)
    return Collected(inventory, options, live_builder.stats if live_builder else None, platform)


# Kinds that live outside namespaces (the ones pullguard reads or may meet in a repository)
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ClusterExternalSecret",
        "ClusterSecretStore",
    }
)


def object_key(manifest: Manifest, default_namespace: str) -> tuple[str, str, str]:
    """kind/namespace/name as the API server identifies the object (as `kubectl apply` matches it)."""
    namespace = "" if manifest.kind in CLUSTER_SCOPED else (manifest.namespace or default_namespace)
    return (manifest.kind, namespace, manifest.name)


def _merge_stats(total: ReadStats, part: ReadStats) -> None:
    total.files += part.files
    total.documents += part.documents
    total.skipped.update(part.skipped)
    total.objects += part.objects
    total.lists += part.lists
    total.kinds.update(part.kinds)
    total.fast_documents += part.fast_documents
    total.json_documents += part.json_documents


def analyse(inventory: Inventory, options: ScanOptions) -> ScanResult:
    """Resolution, facts, every enabled check, then finalisation."""
    # which pull-secret entries prove a registry private (a cluster's, when the inventory is one namespace)
    evidence = options.evidence if options.evidence is not None else collect_evidence(inventory)
    policy = RegistryPolicy(
        private_patterns=options.private_patterns,
        public_patterns=options.public_patterns,
        node_patterns=options.node_patterns,
        secret_locations=frozenset(evidence.private),
        evidence=evidence,
        assume_private=options.assume_private,
    )
    if options.kubelet is not None:
        inventory.kubelet.merge_once(options.kubelet)
    resolution = resolve(
        inventory, policy, kubelet_view(inventory.kubelet, version_of(options.kubernetes_version))
    )
    key, configured = fingerprint_key(options.fingerprint_key)
    resolution.settings = AuditSettings(
        now=options.now or datetime.now(UTC),
        max_age_days=options.max_age_days,
        fingerprint_key=key,
        fingerprint_key_configured=configured,
        node_credentials=options.node_credentials,
    )
    resolution.facts = compute_facts(inventory, resolution.settings)
    findings: list[Finding] = []
    for check_id, check in sorted(REGISTRY.items()):
        if check_id not in options.disabled_checks:  # a check that fails costs its findings only
            findings.extend(
                isolated(
                    partial(check.findings, resolution),
                    RUN,
                    f"check {check_id} did not run",
                    inventory.problems,
                )
            )
    if inventory.context_objects:
        findings = about_the_files(findings, resolution)
    findings = breakage.mark(findings, resolution)  # the second axis: does it break a pull?
    findings, suppressed = finalise(findings, inventory, options, resolution.settings.now.date())
    plan = fix_plan.build(resolution, findings)  # one coherent fix per namespace for the reported findings
    findings = fix_plan.with_plan_remediation(findings, plan)
    summary = dataclasses.replace(summarize(resolution, findings), suppressed=len(suppressed))
    return ScanResult(inventory, resolution, findings, summary, inventory.problems, suppressed, plan)


def about_the_files(findings: Iterable[Finding], resolution: Resolution) -> list[Finding]:
    """Files judged against a cluster answer "will these manifests pull once applied?": keep
    the findings about the files' objects and about the cluster objects their pods use (the
    pull secrets they name or inherit, the ServiceAccounts they run as), not the rest of the
    cluster's hygiene (its other secrets, namespaces, unused secrets)."""
    context = resolution.inventory.context_objects
    used: set[tuple[str, str, str]] = set()
    for pod in resolution.pods:
        namespace = pod.template.namespace
        used.add(("ServiceAccount", namespace, pod.template.service_account or "default"))
        used.update(("Secret", namespace, reference.name) for reference in pod.references)
    kept = []
    for finding in findings:
        ref = finding.object
        key = (ref.kind, ref.namespace or "", ref.name)
        if key not in context or key in used:
            kept.append(finding)
    return kept


def finalise(
    findings: Iterable[Finding], inventory: Inventory, options: ScanOptions, today: date
) -> tuple[list[Finding], list[SuppressedFinding]]:
    """The one finalisation of every finding, wherever it was found: suppressions and
    severity overrides from the configuration and annotations, then a total order."""
    kept, suppressed = apply(
        [f for f in findings if f.check_id not in options.disabled_checks],
        inventory,
        options.suppressions,
        dict(options.severity_overrides),
        today,
    )
    kept.sort(key=finding_order)
    return kept, suppressed


def finding_order(finding: Finding) -> tuple[int, str, str, str, str, str, str, int]:
    """Most severe first, then by check, object and place; total over missing namespaces."""
    ref = finding.object
    return (
        -finding.severity.rank,
        finding.check_id,
        finding.cluster or "",
        ref.kind,
        ref.namespace or "",
        ref.name,
        finding.location.path,
        finding.location.line,
    )


def stamp(check_id: str, hits: Iterable[Hit], cluster: str | None = None) -> list[Finding]:
    """Findings of a check computed outside one resolution (cross-cluster PG007), identified
    and rated by the check's declaration like every other finding."""
    check = REGISTRY[check_id]
    return [check.finding(hit, cluster) for hit in hits]


def summarize(resolution: Resolution, findings: Sequence[Finding]) -> Summary:
    inventory, stats = resolution.inventory, resolution.inventory.stats
    visibility = Counter(j.visibility for j in resolution.images)
    private = list(resolution.private_images())
    severities = Counter(f.severity.value for f in findings)
    problem_levels = Counter(p.level for p in inventory.problems)
    return Summary(
        files=stats.files,
        documents=stats.documents,
        documents_skipped={reason.value: count for reason, count in sorted(stats.skipped.items())},
        objects=stats.objects,
        lists=stats.lists,
        pod_templates=len(inventory.pod_templates),
        images=len(resolution.images),
        images_judged=sum(1 for j in resolution.images if j.use.ref is not None),
        invalid_references=sum(
            1
            for j in resolution.images
            if j.use.ref is None and not j.use.unresolved and not j.use.placeholder
        ),
        placeholder_references=sum(1 for j in resolution.images if j.use.placeholder),
        unresolved_references=sum(1 for j in resolution.images if j.use.unresolved),
        private_images=len(private),
        private_images_covered=sum(1 for j in private if j.coverage.configured),
        private_images_unverifiable=sum(1 for j in private if j.coverage is Coverage.UNVERIFIABLE),
        public_images=visibility[Visibility.PUBLIC],
        unknown_images=visibility[Visibility.UNKNOWN],
        unanalysed_workloads=len(inventory.unanalysed),
        input_errors=problem_levels[Level.ERROR],
        input_warnings=problem_levels[Level.WARNING],
        findings={s.value: severities[s.value] for s in Severity if severities[s.value]},
    )
