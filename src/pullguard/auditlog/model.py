"""What `pullguard audit-log` found: per (pull secret, reader) readings and the result the
reports render. Plain data: nothing here reads logs or runs the pipeline."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from pullguard.auditlog.classify import ALL, Flag, Judgement
from pullguard.auditlog.reader import ReadStats
from pullguard.checks import Finding
from pullguard.counts import plural as plural  # the audit-log reports import it from here
from pullguard.sources.model import InputProblem, Location
from pullguard.suppress import SuppressedFinding
from pullguard.text_safety import one_line

CHECK = "PG040"
LEAK_CHECK = "PG015"


@dataclass(slots=True)
class Readings:
    """One reader of one pull secret."""

    namespace: str
    name: str
    subject: str
    groups: tuple[str, ...]
    judgement: Judgement
    reads: int = 0
    denied: int = 0
    failed: int = 0
    verbs: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    impersonators: dict[str, None] = field(default_factory=dict)
    user_agents: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    flags: Counter[Flag] = field(default_factory=Counter)
    flagged_verbs: Counter[str] = field(default_factory=Counter)
    first_flagged: Location | None = None
    first_seen: Location | None = None
    authz_reason: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(slots=True)
class AuditResult:
    secrets_known: bool  # pull secrets from an inventory, or every secret the events name
    pull_secrets: int
    readings: list[Readings]
    stats: ReadStats
    stages: Counter[str]
    requests: int  # counted requests about pull secrets (reads, denied and failed)
    findings: list[Finding]
    leaks: dict[str, tuple[int, Location, str]]  # per file: events with a secret's body, first, level
    overflow: int = 0  # reads beyond max_pairs distinct (secret, reader) pairs: counted only
    policy: str = ""
    suppressed: list[SuppressedFinding] = field(default_factory=list)  # by the configuration
    # refused requests (403), one per request: a refused list of a namespace is one attempt, however many
    # pull secrets it would have returned (each of those secrets' readings counts it once as well)
    denied_requests: int = 0
    denied_by_subject: dict[str, int] = field(default_factory=dict)

    @property
    def problems(self) -> list[InputProblem]:
        return self.stats.problems

    @property
    def reads(self) -> int:
        return sum(r.reads for r in self.readings)

    @property
    def denied(self) -> int:
        return self.denied_requests

    @property
    def headline(self) -> str:
        secrets = {r.key for r in self.readings if r.reads}
        readers = {r.subject for r in self.readings if r.reads}
        unexpected = {r.subject for r in self.readings if r.flags}
        what = "pull secret" if self.secrets_known else "secret"
        return (
            f"{plural(self.reads, 'read')} of {plural(len(secrets), what)} by {plural(len(readers), 'subject')}; "
            f"{len(unexpected)} unexpected; {plural(self.denied, 'denied attempt')}."
        )

    def by_secret(self) -> dict[tuple[str, str], list[Readings]]:
        grouped: dict[tuple[str, str], list[Readings]] = {}
        for reading in sorted(self.readings, key=lambda r: (r.namespace, r.name, r.subject)):
            grouped.setdefault(reading.key, []).append(reading)
        return grouped

    def by_subject(self) -> dict[str, list[Readings]]:
        grouped: dict[str, list[Readings]] = {}
        for reading in sorted(self.readings, key=lambda r: (r.subject, r.namespace, r.name)):
            grouped.setdefault(reading.subject, []).append(reading)
        return grouped


def clean(text: str, limit: int = 120) -> str:
    """A client-chosen string (user agent, user name) safe to print: no control characters, bounded."""
    shown = "".join(c if c.isprintable() else "?" for c in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def secret_label(namespace: str, name: str) -> str:
    """The secret as a report names it, on one line (a line break in a name is shown as `\\x0a`)."""
    if namespace == ALL:
        return "every secret in every namespace"
    if name == ALL:
        return f"every secret in namespace '{one_line(namespace)}'"
    return f"'{one_line(name)}' in namespace '{one_line(namespace)}'"
