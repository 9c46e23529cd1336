"""Prometheus metrics of the current judgement, computed at scrape time from the last snapshot.

Names follow the Prometheus naming guide (prometheus.io/docs/practices/naming): one
prefix `pullguard_`, base units (seconds), `_total` only on counters, `_info` for
metadata series with value 1, and labels of bounded cardinality (namespaces,
registries, checks, pull secrets — never images, pods or a cluster name: add
`cluster` with Prometheus `external_labels`). Series per finding
(`pullguard_finding_info`, one per workload/container) are opt-in
(`--metrics-findings`), like trivy-operator's `metricsFindingsEnabled`.
"""

from __future__ import annotations

import platform
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from pullguard import __version__

if TYPE_CHECKING:
    from pullguard.serve.informer import Informer
    from pullguard.serve.judge import Judge, Snapshot
    from pullguard.serve.registry_checks import RegistryChecks

REFLECT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class PullguardCollector(Collector):
    def __init__(
        self,
        judge: Judge,
        informers: Sequence[Informer],
        per_finding: bool = False,
        checks: RegistryChecks | None = None,
    ) -> None:
        self.checks = checks
        self.judge = judge
        self.informers = informers
        self.per_finding = per_finding
        self._cached: tuple[int, list[Metric]] = (-1, [])

    def collect(self) -> Iterator[Metric]:
        snapshot = self.judge.snapshot
        generation, families = self._cached
        if generation != snapshot.generation:  # counted once per judgement, not per scrape
            families = [*_findings(snapshot, self.per_finding), *_images(snapshot)]
            self._cached = (snapshot.generation, families)
        yield from families
        yield from _credentials(snapshot)
        yield from _scan(snapshot)
        yield from _informers(self.informers)
        if self.checks is not None:
            yield from _registry_checks(self.checks)
        build = GaugeMetricFamily(
            "pullguard_build_info",
            "pullguard's version, as a series with value 1.",
            labels=["version", "python_version"],
        )
        build.add_metric([__version__, platform.python_version()], 1)
        yield build


def _findings(snapshot: Snapshot, per_finding: bool) -> Iterator[Metric]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for namespace, finding in snapshot.findings_by_namespace():
        counts[(finding.check_id, finding.severity.value, namespace)] += 1
    family = GaugeMetricFamily(
        "pullguard_findings",
        "Current findings by check, severity and the namespace of the object they are about.",
        labels=["check", "severity", "namespace"],
    )
    for labels, count in sorted(counts.items()):
        family.add_metric(list(labels), count)
    yield family
    if per_finding:
        info = GaugeMetricFamily(
            "pullguard_finding_info",
            "One series per current finding (opt-in: --metrics-findings).",
            labels=[
                "check",
                "severity",
                "namespace",
                "resource_kind",
                "resource_name",
                "container_name",
                "image_registry",
            ],
        )
        seen: set[tuple[str, ...]] = set()
        for finding in snapshot.findings():
            registry = _registry_of(finding.image) if finding.image else ""
            row = (
                finding.check_id,
                finding.severity.value,
                finding.object.namespace or "",
                finding.object.kind,
                finding.object.name,
                finding.container or "",
                registry,
            )
            if row not in seen:
                seen.add(row)
                info.add_metric(list(row), 1)
        yield info


def _images(snapshot: Snapshot) -> Iterator[Metric]:
    images = GaugeMetricFamily(
        "pullguard_images",
        "Images of pod templates by registry, visibility and where the kubelet gets their credential "
        "(pod_secret, sa_secret, node, provider, none, broken, unknown).",
        labels=["namespace", "image_registry", "visibility", "coverage"],
    )
    private = covered = unverifiable = 0
    for namespace, view in sorted(snapshot.views.items()):
        for (registry, visibility, coverage), count in sorted(view.images.items()):
            images.add_metric([namespace, registry, visibility, coverage], count)
        private += view.private
        covered += view.covered
        unverifiable += view.unverifiable
    yield images
    if not snapshot.generation:
        # nothing judged yet (first lists not read, API server unreachable): the coverage is not known, so it
        # is not exported; a 0 images count or a ratio of 1 would read as "all covered" to an alert
        return
    judged = private - unverifiable
    ratio = GaugeMetricFamily(
        "pullguard_private_images_covered_ratio",
        "Private images with pull credentials configured, of those whose credentials can be judged "
        "(1 when there are none; absent until the first judgement).",
    )
    ratio.add_metric([], covered / judged if judged else 1.0)
    yield ratio
    counts = GaugeMetricFamily(
        "pullguard_private_images",
        "Private images by whether their pull credentials are configured.",
        labels=["state"],
    )
    counts.add_metric(["covered"], covered)
    counts.add_metric(["uncovered"], judged - covered)
    counts.add_metric(["unknown"], unverifiable)
    yield counts


def _credentials(snapshot: Snapshot) -> Iterator[Metric]:
    now = time.time()
    age = GaugeMetricFamily(
        "pullguard_credential_age_seconds",
        "Seconds since each pull secret's credential was last written (rotated-at annotation, managedFields, "
        "or creation), per registry it holds.",
        labels=["namespace", "secret", "image_registry"],
    )
    expiry = GaugeMetricFamily(
        "pullguard_credential_expiry_timestamp_seconds",
        "When a registry-issued token stored in a pull secret expires (Unix seconds; ECR 12 h, Google 1 h).",
        labels=["namespace", "secret", "image_registry"],
    )
    for view in snapshot.views.values():
        for secret in view.pull_secrets:
            for registry in secret.registries or ("",):
                if secret.written_at is not None:
                    age.add_metric(
                        [secret.namespace, secret.name, registry], max(0.0, now - secret.written_at)
                    )
                if secret.expires_at is not None:
                    expiry.add_metric([secret.namespace, secret.name, registry], secret.expires_at)
    yield age
    yield expiry
    if snapshot.fingerprints_keyed:
        prints = GaugeMetricFamily(
            "pullguard_pull_secret_fingerprint_info",
            "Keyed fingerprint (HMAC-SHA256 with PULLGUARD_FINGERPRINT_KEY) of each credential in each pull "
            "secret; equal fingerprints in two clusters or namespaces are one credential. Only with a configured key.",
            labels=["namespace", "secret", "image_registry", "fingerprint"],
        )
        for entry in snapshot.fingerprints:
            prints.add_metric([entry.namespace, entry.secret, entry.registry, entry.fingerprint], 1)
        yield prints


def _scan(snapshot: Snapshot) -> Iterator[Metric]:
    duration = GaugeMetricFamily(
        "pullguard_scan_duration_seconds",
        "Seconds the last judging round took (only changed namespaces are judged).",
    )
    if snapshot.generation:
        duration.add_metric([], snapshot.last_duration)
    yield duration
    last = GaugeMetricFamily(
        "pullguard_last_scan_timestamp_seconds",
        "When the last judging round finished (Unix seconds; 0 until the first is done).",
    )
    last.add_metric([], snapshot.last_timestamp)
    yield last
    namespaces = GaugeMetricFamily("pullguard_namespaces", "Namespaces judged.")
    namespaces.add_metric([], len(snapshot.views))
    yield namespaces


def _informers(informers: Iterable[Informer]) -> Iterator[Metric]:
    synced = GaugeMetricFamily(
        "pullguard_watch_synced", "1 once the first list of a watched resource is read.", labels=["resource"]
    )
    lists = CounterMetricFamily(
        "pullguard_watch_lists", "Full lists of a watched resource.", labels=["resource"]
    )
    expired = CounterMetricFamily(
        "pullguard_watch_expired",
        "Watches that had to list again because their resourceVersion expired (410).",
        labels=["resource"],
    )
    errors = CounterMetricFamily("pullguard_watch_errors", "Failed lists or watches.", labels=["resource"])
    # with serve --watch-namespace, one informer per namespace and resource: summed per resource
    by_name: dict[str, list[Informer]] = {}
    for informer in informers:
        by_name.setdefault(informer.name, []).append(informer)
    for name, group in by_name.items():
        synced.add_metric([name], 1 if all(i.synced.is_set() and not i.forbidden for i in group) else 0)
        lists.add_metric([name], sum(i.lists for i in group))
        expired.add_metric([name], sum(i.relists_expired for i in group))
        errors.add_metric([name], sum(i.errors for i in group))
    yield from (synced, lists, expired, errors)


def _registry_checks(checks: RegistryChecks) -> Iterator[Metric]:
    outcomes = GaugeMetricFamily(
        "pullguard_registry_check",
        "Images by what their registry answered to the credentials the kubelet would use (--verify-interval): "
        "ok, unauthorized, denied, not_found, expired, rate_limited, tls_error, unreachable, registry_error, ...",
        labels=["image_registry", "result"],
    )
    for (registry, result), count in sorted(checks.outcomes.items()):
        outcomes.add_metric([registry, result], count)
    yield outcomes
    last = GaugeMetricFamily(
        "pullguard_registry_check_timestamp_seconds", "When the last registry check finished."
    )
    last.add_metric([], checks.last_timestamp)
    yield last
    duration = GaugeMetricFamily(
        "pullguard_registry_check_duration_seconds", "Seconds the last registry check took."
    )
    duration.add_metric([], checks.last_duration)
    yield duration
    requests = CounterMetricFamily(
        "pullguard_registry_requests",
        "HTTP requests the registry checks made, by the image's registry (its token server counts for it) "
        "and the answer's status code (error: no answer).",
        labels=["image_registry", "code"],
    )
    for (registry, code), count in sorted(checks.requests.items()):
        requests.add_metric([registry, code], count)
    yield requests


def _registry_of(image: str) -> str:
    from pullguard.semantics.imageref import parse_image

    try:
        return parse_image(image).domain or "docker.io"
    except Exception:
        return ""


def registry(
    judge: Judge, informers: Sequence[Informer], per_finding: bool, checks: RegistryChecks | None = None
) -> tuple[CollectorRegistry, Histogram]:
    """A registry with pullguard's metrics, the process metrics, and the change-to-judged histogram."""
    registry = CollectorRegistry(support_collectors_without_names=True)  # name[] filtering reaches it
    registry.register(PullguardCollector(judge, informers, per_finding, checks))
    ProcessCollector(registry=registry)
    reflect = Histogram(
        "pullguard_change_reflect_seconds",
        "Seconds from a watched change arriving to its namespace being judged again.",
        buckets=REFLECT_BUCKETS,
        registry=registry,
    )
    return registry, reflect
