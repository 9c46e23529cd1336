"""Fold audit events into per-secret and per-subject summaries, and findings.

Memory is bounded by the number of distinct (pull secret, reader) pairs, capped at
`max_pairs`, never by the number of events.

One request is counted once. The log backend writes one event per stage: a `get` or
`list` logs RequestReceived (unless omitted) and ResponseComplete; a `watch` logs
RequestReceived, ResponseStarted when it starts streaming, and ResponseComplete when it
ends (https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#audit-policy). A
request is counted at ResponseStarted or else ResponseComplete (or Panic); a
ResponseComplete whose ResponseStarted was counted (same auditID, remembered for the
last `max_open_watches` watches) is not counted again. RequestReceived events carry no
outcome and are only counted in the stage statistics.

Outcome, by `responseStatus.code`: 2xx (or none logged) is a read; 403 (or the
authorization decision `forbid`) is a denied attempt; any other code (404, 401, 429, …)
returned no secret and is a failed request. A read counts for every pull secret it
returned (a list of a namespace reads each of its pull secrets); a denied request is one
attempt in the totals and per subject, however many pull secrets it would have returned
(each of those secrets' rows shows it once).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterable
from datetime import datetime

from pullguard.auditlog.classify import ALL, Flag, Judge, PullSecrets, Verdict
from pullguard.auditlog.model import (
    CHECK,
    LEAK_CHECK,
    AuditResult,
    Readings,
    clean,
    secret_label,
)
from pullguard.auditlog.reader import AuditEvent, ReadStats
from pullguard.checks import Finding, Hit, Severity
from pullguard.counts import plural
from pullguard.inventory.model import ObjectRef
from pullguard.pipeline import stamp
from pullguard.sources.model import InputProblem, Level, Location
from pullguard.text_safety import shell_word as q

_SHOWN = 5
_COUNTED_STAGES = ("ResponseStarted", "ResponseComplete", "Panic")
_RANK = {Verdict.EXPECTED: 0, Verdict.ALLOWED: 1, Verdict.UNKNOWN: 2, Verdict.NO_GRANT: 3}


def _time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class Summariser:
    def __init__(
        self,
        secrets: PullSecrets,
        judge: Judge,
        *,
        disabled: frozenset[str] = frozenset(),
        max_pairs: int = 200_000,
        max_open_watches: int = 100_000,
    ) -> None:
        self.secrets = secrets
        self.judge = judge
        self.disabled = disabled
        self.max_pairs = max_pairs
        self.max_open_watches = max_open_watches
        self.pairs: dict[tuple[str, str, str, tuple[str, ...]], Readings] = {}
        self.started: OrderedDict[str, None] = OrderedDict()
        self.stages: Counter[str] = Counter()
        self.requests = 0
        self.denied = 0
        self.denied_by_subject: Counter[str] = Counter()
        self.overflow = 0
        self.leaks: dict[str, tuple[int, Location, str]] = {}

    def add_all(self, events: Iterable[AuditEvent]) -> None:
        for event in events:
            self.add(event)

    def add(self, event: AuditEvent) -> None:
        self.stages[event.stage or "(none)"] += 1
        if event.has_body:
            count, first, level = self.leaks.get(
                event.path, (0, Location(event.path, event.line, event.line), event.level)
            )
            self.leaks[event.path] = (count + 1, first, level)
        if not event.is_read or event.stage not in _COUNTED_STAGES:
            return
        if event.stage == "ResponseStarted":
            if event.audit_id:
                self.started[event.audit_id] = None
                if len(self.started) > self.max_open_watches:
                    self.started.popitem(last=False)
        elif event.audit_id and event.audit_id in self.started:
            del self.started[event.audit_id]  # the end of a watch counted when it started
            return
        targets = self.secrets.targets(event)
        if not targets:
            return
        self.requests += 1
        code = event.code
        if code == 403 or event.authz_decision == "forbid":
            outcome = "denied"
        elif code is None or 200 <= code < 300:
            outcome = "read"
        else:
            outcome = "failed"
        if outcome == "denied":
            self.denied += 1
            if event.subject in self.denied_by_subject or len(self.denied_by_subject) < self.max_pairs:
                self.denied_by_subject[event.subject] += 1
        when = _time(event.time)
        where = Location(event.path, event.line, event.line)
        for namespace, name in targets:
            self._count(event, namespace, name, outcome, when, where)

    def _count(
        self,
        event: AuditEvent,
        namespace: str,
        name: str,
        outcome: str,
        when: datetime | None,
        where: Location,
    ) -> None:
        key = (namespace, name, event.subject, event.subject_groups)
        reading = self.pairs.get(key)
        if reading is None:
            if len(self.pairs) >= self.max_pairs:
                self.overflow += 1
                return
            judgement = self.judge.judge(event, namespace, name)
            reading = self.pairs[key] = Readings(
                namespace, name, event.subject, event.subject_groups, judgement
            )
            reading.first_seen = where
        if outcome == "denied":
            reading.denied += 1
            return
        if outcome == "failed":
            reading.failed += 1
            return
        judgement = self.judge.judge(event, namespace, name)  # per request: the verb decides the grant
        if _RANK[judgement.verdict] > _RANK[reading.judgement.verdict]:
            reading.judgement = judgement
        reading.reads += 1
        reading.verbs[event.verb] += 1
        if when is not None:
            if reading.first is None or when < reading.first:
                reading.first = when
            if reading.last is None or when > reading.last:
                reading.last = when
        if event.impersonated_user and len(reading.impersonators) < _SHOWN:
            reading.impersonators[event.username] = None
        if event.user_agent in reading.user_agents or len(reading.user_agents) < _SHOWN:
            reading.user_agents[event.user_agent] += 1
        source = event.source_ips[0] if event.source_ips else ""
        if source in reading.sources or len(reading.sources) < _SHOWN:
            reading.sources[source] += 1
        if not reading.authz_reason and event.authz_reason:
            reading.authz_reason = event.authz_reason[:300]
        flags = self.judge.flags(event, judgement, when)
        if flags:
            if reading.first_flagged is None:
                reading.first_flagged = where
                reading.authz_reason = event.authz_reason[:300]  # why the API server allowed the flagged read
            reading.flags.update(flags)
            reading.flagged_verbs[event.verb] += 1

    def finish(self, stats: ReadStats, policy: str = "") -> AuditResult:
        readings = list(self.pairs.values())
        findings = [] if CHECK in self.disabled else [_finding(r, self.judge) for r in readings if r.flags]
        if LEAK_CHECK not in self.disabled:
            findings += [
                _leak(path, count, first, level) for path, (count, first, level) in sorted(self.leaks.items())
            ]
        findings.sort(
            key=lambda f: (-f.severity.rank, f.check_id, f.object.namespace or "", f.object.name, f.message)
        )
        if stats.problems_dropped:
            stats.problems.append(
                InputProblem(
                    Location("(audit logs)", 1, 1),
                    Level.ERROR,
                    "too-many-problems",
                    f"{stats.problems_dropped} more input problems not shown",
                )
            )
        return AuditResult(
            secrets_known=self.secrets.known,
            pull_secrets=self.secrets.count,
            readings=readings,
            stats=stats,
            stages=self.stages,
            requests=self.requests,
            findings=findings,
            leaks=self.leaks,
            overflow=self.overflow,
            policy=policy,
            denied_requests=self.denied,
            denied_by_subject=dict(self.denied_by_subject),
        )


def _stamp(check_id: str, hit: Hit) -> Finding:
    """Identified and rated by the check's declaration, as every finding (audit events are not
    in the inventory the checks run over)."""
    return stamp(check_id, [hit])[0]


_FLAG_TEXT = {
    Flag.NO_GRANT: "that no RBAC binding in the inventory allows this subject",
    Flag.USER_AGENT: "from a user agent not in the allow-list",
    Flag.SOURCE_IP: "from a source address not in the allow-list",
    Flag.OFF_HOURS: "outside business hours",
}


def _finding(reading: Readings, judge: Judge) -> Finding:
    subject = clean(reading.subject)
    span = ""
    if reading.first is not None and reading.last is not None:
        span = f", {reading.first.isoformat()} to {reading.last.isoformat()}"
    verbs = ", ".join(f"{verb} ×{count}" for verb, count in sorted(reading.verbs.items()))
    reasons = []
    for flag, count in sorted(reading.flags.items()):
        text = _FLAG_TEXT[flag]
        if flag is Flag.OFF_HOURS and judge.policy.hours is not None:
            text += f" ({judge.policy.hours})"
        reasons.append(f"{count} {'read' if count == 1 else 'reads'} {text}")
    via = (
        f" through impersonation by {', '.join(clean(i) for i in reading.impersonators)}"
        if reading.impersonators
        else ""
    )
    agents = ", ".join(clean(a, 60) or "(none)" for a in reading.user_agents)
    sources = ", ".join(s or "(none)" for s in reading.sources)
    said = f" The API server's reason: {clean(reading.authz_reason, 300)}." if reading.authz_reason else ""
    flagged = ", ".join(f"{verb} ×{count}" for verb, count in sorted(reading.flagged_verbs.items()))
    what = "Pull secret" if judge.secrets.known else "Secret"
    message = (
        f"{what} {secret_label(reading.namespace, reading.name)} was read by '{subject}'{via} "
        f"{reading.reads} {'time' if reading.reads == 1 else 'times'} ({verbs}{span}; user agent {agents}; "
        f"from {sources}); flagged ({flagged}): {'; '.join(reasons)}.{said}"
    )
    # no grant: the declared severity; an allowed reader at an unusual place or time: medium
    severity = None if Flag.NO_GRANT in reading.flags else Severity.MEDIUM
    as_user = f"--as {q(reading.subject)}" + "".join(f" --as-group {q(g)}" for g in reading.groups[:3])
    namespace = q(reading.namespace) if reading.namespace != ALL else "<namespace>"
    name = reading.name if reading.name != ALL else "<name>"
    remediation = (
        f"Find out who '{subject}' is and why it read the registry credential. If the read was not legitimate, "
        "rotate the credential at the registry and replace the secret, then remove the access:\n"
        f"kubectl auth can-i get {q(f'secret/{name}') if reading.name != ALL else 'secret/<name>'} -n {namespace} "
        f"{as_user}\n"
        f"kubectl get rolebindings -n {namespace} -o wide; kubectl get clusterrolebindings -o wide\n"
        "If the reader is legitimate, declare it (--expect, --allow-user-agent, --allow-source, or auditLog in "
        ".pullguard.yaml) so later runs flag only the unexpected."
    )
    location = reading.first_flagged or reading.first_seen or Location("(audit log)", 1, 1)
    return _stamp(
        CHECK,
        Hit(
            ObjectRef("Secret", reading.namespace, reading.name),
            message,
            location,
            remediation,
            severity=severity,
        ),
    )


def _leak(path: str, count: int, first: Location, level: str) -> Finding:
    return _stamp(
        LEAK_CHECK,
        Hit(
            ObjectRef("AuditLog", None, path),
            f"Audit log {path} holds the request or response body of {plural(count, 'event')} about secrets (level "
            f"{level or 'Request/RequestResponse'}): the log itself is a copy of the secrets' data, registry "
            "credentials included. pullguard read only their metadata.",
            first,
            'Log secrets at level Metadata: put a rule `level: Metadata` for `resources: [{group: "", resources: '
            '["secrets"]}]` before any Request or RequestResponse rule in the audit policy, restart the API '
            "servers, then treat the existing log files as secrets: restrict and delete them after rotating the "
            "credentials they hold.",
        ),
    )
