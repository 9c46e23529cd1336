"""The scan pipeline: sources -> inventory -> resolution -> checks -> a result reporters render."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pullguard.checks import REGISTRY, Finding, Severity
from pullguard.inventory.build import InventoryBuilder
from pullguard.inventory.kinds import needs_body
from pullguard.inventory.model import Inventory
from pullguard.inventory.resolve import Coverage, Resolution, resolve
from pullguard.semantics.registries import RegistryPolicy, Visibility, locations_of
from pullguard.settings import AuditSettings, NodeCredential, Suppression, fingerprint_key
from pullguard.sources.files import FileSource
from pullguard.sources.model import InputProblem, Level, Manifest, ReadStats
from pullguard.sources.scripts import committed_credentials
from pullguard.suppress import SuppressedFinding, apply


@dataclass(frozen=True, slots=True)
class ScanOptions:
    default_namespace: str = "default"
    private_patterns: tuple[str, ...] = ()
    public_patterns: tuple[str, ...] = ()
    node_patterns: tuple[str, ...] = ()
    assume_private: bool = False
    disabled_checks: frozenset[str] = frozenset()
    # node credentials with how the nodes authenticate (configuration); node_patterns are the flag's
    node_credentials: tuple[NodeCredential, ...] = ()
    max_age_days: int = 90
    fingerprint_key: str | None = None  # PULLGUARD_FINGERPRINT_KEY wins; random per run when neither is set
    severity_overrides: tuple[tuple[str, Severity], ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    now: datetime | None = None  # the clock of time-dependent checks (PG005, PG006); tests pin it


@dataclass(frozen=True, slots=True)
class Summary:
    """The exact counts every report starts with."""

    files: int
    documents: int
    documents_skipped: dict[str, int]
    objects: int
    lists: int
    pod_templates: int
    images: int
    images_judged: int
    invalid_references: int
    unresolved_references: int
    private_images: int
    private_images_covered: int
    private_images_unverifiable: int
    public_images: int
    unknown_images: int
    unanalysed_workloads: int
    input_errors: int
    input_warnings: int
    findings: dict[str, int]
    suppressed: int = 0

    @property
    def headline(self) -> str:
        """Seed 003's report line. Images whose secrets cannot be read (ExternalSecret,
        SealedSecret, SOPS) are neither counted as covered nor as failures."""
        judged = self.private_images - self.private_images_unverifiable
        return f"{self.private_images_covered} of {judged} private images have pull credentials configured."


@dataclass(slots=True)
class ScanResult:
    inventory: Inventory
    resolution: Resolution
    findings: list[Finding]
    summary: Summary
    problems: list[InputProblem] = field(default_factory=list)
    # findings silenced by a suppression or a pullguard.io/ignore annotation, with the reason
    suppressed: list[SuppressedFinding] = field(default_factory=list)

    def worst_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)


def scan_paths(
    paths: Sequence[str], options: ScanOptions, progress: Callable[[int, int], None] | None = None
) -> ScanResult:
    source = FileSource(needs_body, progress=progress)
    builder = InventoryBuilder(options.default_namespace)
    inventory = builder.add_all(source.read(paths))
    inventory.stats = source.stats
    inventory.committed_credentials = committed_credentials(paths)
    inventory.problems = source.problems + inventory.problems
    return analyse(inventory, options)


def scan_manifests(
    manifests: Iterable[Manifest], stats: ReadStats, problems: list[InputProblem], options: ScanOptions
) -> ScanResult:
    """For sources other than files: manifests already read, with their counts."""
    builder = InventoryBuilder(options.default_namespace)
    inventory = builder.add_all(manifests)
    inventory.stats = stats
    inventory.problems = problems + inventory.problems
    return analyse(inventory, options)


def analyse(inventory: Inventory, options: ScanOptions) -> ScanResult:
    secret_keys = (
        entry.key
        for secret in inventory.secrets.values()
        if secret.payload is not None
        for entry in secret.payload.entries
    )
    policy = RegistryPolicy(
        private_patterns=options.private_patterns,
        public_patterns=options.public_patterns,
        node_patterns=tuple(
            dict.fromkeys((*(n.registry for n in options.node_credentials), *options.node_patterns))
        ),
        secret_locations=locations_of(secret_keys),
        assume_private=options.assume_private,
    )
    resolution = resolve(inventory, policy)
    key, configured = fingerprint_key(options.fingerprint_key)
    resolution.settings = AuditSettings(
        now=options.now or datetime.now(UTC),
        max_age_days=options.max_age_days,
        fingerprint_key=key,
        fingerprint_key_configured=configured,
        node_credentials=(
            *options.node_credentials,
            *(NodeCredential(p) for p in options.node_patterns if p not in {n.registry for n in options.node_credentials}),
        ),
    )
    findings: list[Finding] = []
    for check_id, check in sorted(REGISTRY.items()):
        if check_id not in options.disabled_checks:
            findings.extend(check.findings(resolution))
    findings, suppressed = apply(
        findings,
        inventory,
        options.suppressions,
        dict(options.severity_overrides),
        resolution.settings.now.date(),
    )
    findings.sort(key=lambda f: (-f.severity.rank, f.check_id, f.object, f.location.path, f.location.line))
    summary = dataclasses.replace(summarize(resolution, findings), suppressed=len(suppressed))
    return ScanResult(inventory, resolution, findings, summary, inventory.problems, suppressed)


def summarize(resolution: Resolution, findings: Sequence[Finding]) -> Summary:
    inventory, stats = resolution.inventory, resolution.inventory.stats
    visibility = Counter(j.visibility for j in resolution.images)
    private = [j for j in resolution.private_images()]
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
        invalid_references=sum(1 for j in resolution.images if j.use.ref is None and not j.use.unresolved),
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
