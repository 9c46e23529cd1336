"""Which pull secrets an audit event touches, and whether its reader was expected, allowed or not.

A read is a `get` or `watch` of a named secret, or a `list`/`watch` of the secrets of a
namespace (or of every namespace): a list returns every secret's data. A `list` or
`watch` with a `metadata.name` field selector is a read of that one secret: the API
server puts the selected name in the request's RequestInfo, which the audit event's
`objectRef` is built from (k8s.io/apiserver, endpoints/request/requestinfo.go).

Readers, in this order:
- expected: the kubelet through the node authorizer (user `system:node:NAME` in group
  `system:nodes`, https://kubernetes.io/docs/reference/access-authn-authz/node/), subjects
  declared with `--expect` (or `auditLog.expect`), and pullguard's own scanner (user agent `pullguard/…`; a
  user agent is chosen by the client, so it counts only for a subject RBAC allows, or the
  identities given with `--scanner`);
- allowed: a subject that RBAC in the inventory lets read the secret with this verb
  (PG012's computation; `resourceNames` allow no list of the whole namespace, and a list of
  every namespace needs a cluster-wide grant), or a member of `system:masters` (the
  authorizer lets it do anything);
- no grant: the API server let it read, but nothing in the inventory says why;
- unknown: no inventory was given, so no grant can be told.
Every reader that is not expected is also judged by the allow-lists of user agents and
source addresses and by the business-hours window, when they are given.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

from pullguard.auditlog.reader import AuditEvent
from pullguard.inventory.access import SecretAccess, SecretReader, compute_secret_access
from pullguard.inventory.model import Inventory
from pullguard.inventory.rbac import GROUP, SERVICE_ACCOUNT, USER
from pullguard.settings import AuditLogSettings

ALL = "*"  # a namespace-wide or cluster-wide list, when no inventory names the pull secrets
NODE_GROUP = "system:nodes"
NODE_PREFIX = "system:node:"
MASTERS = "system:masters"
PULLGUARD_AGENT = "pullguard/"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Verdict(StrEnum):
    EXPECTED = "expected"
    ALLOWED = "allowed"
    NO_GRANT = "no-grant"
    UNKNOWN = "unknown"


class Flag(StrEnum):
    NO_GRANT = "no-grant"
    USER_AGENT = "user-agent"
    SOURCE_IP = "source-ip"
    OFF_HOURS = "off-hours"


@dataclass(frozen=True, slots=True)
class BusinessHours:
    start: time
    end: time
    days: frozenset[int]  # 0 = Monday
    zone: tzinfo

    @classmethod
    def parse(cls, hours: str, days: str = "mon-fri", zone: str = "UTC") -> BusinessHours:
        """`08:00-18:00`, `mon-fri` (or `mon,wed,fri`), an IANA zone; ValueError on bad input."""
        try:
            first, last = (time.fromisoformat(part.strip()) for part in hours.split("-", 1))
        except ValueError:
            raise ValueError(f"business hours {hours!r}: expected HH:MM-HH:MM, e.g. 08:00-18:00") from None
        try:
            tz: tzinfo = ZoneInfo(zone)
        except Exception:
            raise ValueError(f"unknown time zone {zone!r} (an IANA name such as Europe/Berlin)") from None
        return cls(first, last, _parse_days(days), tz)

    def contains(self, when: datetime) -> bool:
        local = when.astimezone(self.zone)
        if local.weekday() not in self.days:
            return False
        moment = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # a window over midnight

    def __str__(self) -> str:
        days = ",".join(_DAYS[d] for d in sorted(self.days))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M} {self.zone}"


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().split(","):
        bounds = [p.strip()[:3] for p in part.split("-", 1)]
        if not all(b in _DAYS for b in bounds):
            raise ValueError(f"business days {text!r}: expected e.g. mon-fri or mon,wed,fri")
        first, last = _DAYS.index(bounds[0]), _DAYS.index(bounds[-1])
        days.update(range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)])
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class ReadPolicy:
    """What counts as usual: allow-lists (empty: not judged), hours, declared readers."""

    user_agents: tuple[str, ...] = ()  # glob patterns, e.g. 'kubectl/*'
    sources: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hours: BusinessHours | None = None
    expect: tuple[str, ...] = ()  # user names (globs) whose reads are expected
    scanners: tuple[str, ...] = ()  # user names (globs) pullguard's scanner runs as

    @classmethod
    def from_settings(cls, settings: AuditLogSettings) -> ReadPolicy:
        """The policy the configuration and flags describe; ValueError naming what is wrong."""
        if settings.business_hours is None and (settings.business_days or settings.timezone):
            raise ValueError(
                "business days and a time zone need business hours (--business-hours or auditLog.businessHours)"
            )
        hours = (
            BusinessHours.parse(
                settings.business_hours, settings.business_days or "mon-fri", settings.timezone or "UTC"
            )
            if settings.business_hours
            else None
        )
        return cls(
            user_agents=settings.user_agents,
            sources=cls.networks(settings.sources),
            hours=hours,
            expect=settings.expect,
            scanners=settings.scanners,
        )

    @staticmethod
    def networks(values: Sequence[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        try:
            return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)
        except ValueError as error:
            raise ValueError(f"source address: {error} (a CIDR such as 10.0.0.0/8 or an address)") from None

    def user_agent_allowed(self, agent: str) -> bool:
        return not self.user_agents or any(fnmatch.fnmatchcase(agent, p) for p in self.user_agents)

    def source_allowed(self, sources: Sequence[str]) -> bool:
        if not self.sources:
            return True
        if not sources:
            return False
        try:
            address = ipaddress.ip_address(sources[0])  # the client; later entries are proxies
        except ValueError:
            return False
        return any(address in network for network in self.sources)


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    why: str  # the rule or the grant that decided


class PullSecrets:
    """Which secrets count as pull secrets, and who RBAC lets read them: from the inventory, or
    (without one) every secret the events name."""

    def __init__(self, inventory: Inventory | None) -> None:
        self.inventory = inventory
        self.access: SecretAccess | None = compute_secret_access(inventory) if inventory is not None else None
        self.by_namespace: dict[str, list[str]] = {}
        if inventory is not None:
            for (namespace, name), secret in sorted(inventory.secrets.items()):
                if secret.is_pull_secret_type:
                    self.by_namespace.setdefault(namespace, []).append(name)

    @property
    def known(self) -> bool:
        return self.inventory is not None

    @property
    def count(self) -> int:
        return sum(len(names) for names in self.by_namespace.values())

    def targets(self, event: AuditEvent) -> list[tuple[str, str]]:
        """The (namespace, name) of every pull secret this read returns."""
        if event.name:
            if not event.namespace:
                return []
            if self.inventory is None or event.name in self.by_namespace.get(event.namespace, ()):
                return [(event.namespace, event.name)]
            return []
        if self.inventory is None:
            return [(event.namespace or ALL, ALL)]
        if event.namespace:
            return [(event.namespace, name) for name in self.by_namespace.get(event.namespace, ())]
        return [(namespace, name) for namespace, names in self.by_namespace.items() for name in names]

    def grant(
        self,
        username: str,
        groups: Sequence[str],
        namespace: str,
        name: str,
        verb: str,
        whole_namespace: bool,
        every_namespace: bool = False,
    ) -> SecretReader | None:
        """The PG012 reader entry that lets this user read this secret with this verb, if any; a list of
        the whole namespace is not allowed by grants limited to named secrets (resourceNames), and a
        list of every namespace only by cluster-wide grants (ClusterRoleBindings)."""
        if self.access is None:
            return None
        for reader in self.access.of(namespace, name):
            if verb not in reader.verbs or (whole_namespace and reader.by_name_only):
                continue
            if every_namespace and not reader.cluster_wide:
                continue  # a list of all namespaces' secrets needs a ClusterRoleBinding
            subject = reader.subject
            if (
                (subject.kind == USER and subject.name == username)
                or (subject.kind == GROUP and subject.name in groups)
                or (
                    subject.kind == SERVICE_ACCOUNT
                    and username == f"system:serviceaccount:{subject.namespace}:{subject.name}"
                )
            ):
                return reader
        return None


def is_node(username: str, groups: Sequence[str]) -> bool:
    return username.startswith(NODE_PREFIX) and NODE_GROUP in groups


class Judge:
    def __init__(self, secrets: PullSecrets, policy: ReadPolicy) -> None:
        self.secrets = secrets
        self.policy = policy
        self._cache: dict[tuple[str, tuple[str, ...], str, str, str, bool, bool, bool], Judgement] = {}

    def judge(self, event: AuditEvent, namespace: str, name: str) -> Judgement:
        whole = not event.name
        scanner = event.user_agent.startswith(PULLGUARD_AGENT)
        key = (
            event.subject,
            event.subject_groups,
            namespace,
            name,
            event.verb,
            whole,
            not event.namespace,
            scanner,
        )
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            found = self._cache[key] = self._judge(event, namespace, name, whole)
        return found

    def _judge(self, event: AuditEvent, namespace: str, name: str, whole: bool) -> Judgement:
        user, groups = event.subject, event.subject_groups
        if is_node(user, groups):
            return Judgement(Verdict.EXPECTED, "kubelet (node authorizer)")
        if any(fnmatch.fnmatchcase(user, p) for p in self.policy.expect):
            return Judgement(Verdict.EXPECTED, "declared expected (--expect or auditLog.expect)")
        reader = self.secrets.grant(user, groups, namespace, name, event.verb, whole, not event.namespace)
        if event.user_agent.startswith(PULLGUARD_AGENT):
            scanner = (
                any(fnmatch.fnmatchcase(user, p) for p in self.policy.scanners)
                if self.policy.scanners
                else reader is not None or not self.secrets.known
            )
            if scanner:
                return Judgement(Verdict.EXPECTED, "pullguard scanner")
        if MASTERS in groups:
            return Judgement(Verdict.ALLOWED, "group system:masters (bypasses RBAC)")
        if reader is not None:
            return Judgement(Verdict.ALLOWED, reader.describe())
        if not self.secrets.known:
            return Judgement(Verdict.UNKNOWN, "no inventory given")
        return Judgement(Verdict.NO_GRANT, "no RBAC grant in the inventory")

    def flags(self, event: AuditEvent, judgement: Judgement, when: datetime | None) -> list[Flag]:
        if judgement.verdict is Verdict.EXPECTED:
            return []
        flags = [Flag.NO_GRANT] if judgement.verdict is Verdict.NO_GRANT else []
        if not self.policy.user_agent_allowed(event.user_agent):
            flags.append(Flag.USER_AGENT)
        if not self.policy.source_allowed(event.source_ips):
            flags.append(Flag.SOURCE_IP)
        if self.policy.hours is not None and when is not None and not self.policy.hours.contains(when):
            flags.append(Flag.OFF_HOURS)
        return flags
