"""`pullguard doctor`: why a pod is stuck in ErrImagePull / ImagePullBackOff, and the fix.

For each container waiting on an image pull:
1. the kubelet's own words (the pod's events, newest pull failure for that image);
2. which pull secrets the kubelet tries for the image, in its order — the same
   resolution as `scan` (live pod as stored, the kubelet's keyring rules);
3. a live check of each credential with the registry client of `verify`
   (ping, token for `repository:NAME:pull`, HEAD on the manifest);
4. a cause, from the inventory (missing secret, wrong type, wrong registry,
   malformed), the live check (bad credentials, expired token, denied, not
   found, TLS, unreachable, rate limited) and the event (platform mismatch,
   what the node saw when pullguard's own network differs);
5. the exact command or patch that fixes it.

Exit codes: 0 the pod pulls fine; 1 a cause was found; 2 no cause could be told.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pullguard.checks.remedies import attach_to_service_account
from pullguard.counts import noun
from pullguard.doctor.node_cache import node_cache_cause
from pullguard.errors import ClusterError
from pullguard.inventory.kinds import POD_SPEC_PATHS
from pullguard.inventory.live import LiveInventoryBuilder
from pullguard.inventory.model import ObjectRef
from pullguard.inventory.resolve import Coverage, ImageJudgement, SecretState
from pullguard.pipeline import analyse, run
from pullguard.registry.client import ClientOptions, RegistryClient
from pullguard.registry.outcome import Outcome, OutcomeKind
from pullguard.registry.verify import ANONYMOUS, pod_logins, target_of
from pullguard.settings import ScanOptions
from pullguard.sources.cluster import (
    EVENTS,
    PODS,
    SECRETS,
    SERVICE_ACCOUNTS,
    WORKLOADS,
    ClusterForbidden,
    ClusterNotFound,
    ClusterSource,
)
from pullguard.sources.model import InputProblem, Manifest, ReadStats
from pullguard.text_safety import one_line, redact_image, redact_userinfo
from pullguard.text_safety import shell_word as q

PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
_ECR = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class Cause(StrEnum):
    BAD_CREDENTIALS = "bad credentials"
    WRONG_REGISTRY = "credentials for the wrong registry"
    MISSING_SECRET = "missing pull secret"
    WRONG_SECRET_TYPE = "wrong secret type"
    MALFORMED_SECRET = "malformed pull secret"
    NO_CREDENTIALS = "no pull credentials"
    NOT_FOUND = "repository or tag not found"
    ACCESS_DENIED = "access denied"
    UNREACHABLE = "registry unreachable"
    TLS = "TLS / x509 certificate problem"
    RATE_LIMITED = "rate limited"
    EXPIRED_TOKEN = "expired token"
    PLATFORM_MISMATCH = "platform (architecture) mismatch"
    INVALID_REFERENCE = "invalid image reference"
    NODE_CACHE = "image on the node, not verified for this pod (KEP-2535)"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Try:
    """One credential the kubelet tries, in order, with what the registry said to it."""

    source: str
    outcome: Outcome | None


@dataclass(slots=True)
class ContainerDiagnosis:
    container: str
    image: str
    reason: str  # ErrImagePull, ImagePullBackOff, ...
    event: str | None
    tries: list[Try] = field(default_factory=list)
    cause: Cause = Cause.UNKNOWN
    explanation: str = ""
    fix: str = ""
    # what else the evidence shows, and the limits of pullguard's own check (never the cause)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Diagnosis:
    pod: ObjectRef
    owner: ObjectRef
    node: str | None
    arch: str | None
    containers: list[ContainerDiagnosis]
    template_only: bool = False  # a workload with no pod, judged from its template

    @property
    def healthy(self) -> bool:
        return not self.containers

    @property
    def exit_code(self) -> int:
        if self.healthy:
            return 0
        return 2 if any(c.cause is Cause.UNKNOWN for c in self.containers) else 1


# kubectl's short names of the workloads doctor diagnoses, and their resources
WORKLOAD_ALIASES = {
    "deploy": "deployments",
    "deployment": "deployments",
    "sts": "statefulsets",
    "statefulset": "statefulsets",
    "ds": "daemonsets",
    "daemonset": "daemonsets",
}


def pods_for(source: ClusterSource, namespace: str, target: str) -> list[dict[str, Any]]:
    """`POD`, `pod/POD`, or `deploy/NAME` (its failing pods, else its first pod)."""
    kind, _, name = target.rpartition("/")
    kind = kind.lower()
    if kind in ("", "pod", "pods", "po"):
        return [_raw(source, PODS, namespace, name)]
    plural = WORKLOAD_ALIASES.get(kind)
    resource = next((r for r in WORKLOADS if r.plural == plural), None)
    if resource is None:
        raise ClusterError(
            f"doctor: cannot diagnose '{target}': give a pod, or deploy/NAME, sts/NAME, ds/NAME"
        )
    workload = _raw(source, resource, namespace, name)
    labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    pods = list(source.list_objects(PODS, namespace, label_selector=selector)) if selector else []
    failing = [p for p in pods if _waiting(p)]
    return failing or pods[:1]


def diagnose_target(
    source: ClusterSource,
    namespace: str,
    target: str,
    client: ClientOptions | None = None,
    options: ScanOptions | None = None,
) -> list[Diagnosis]:
    """The failing pods of the target; a workload with no pod is judged from its template."""
    pods = pods_for(source, namespace, target)
    if pods:
        return [diagnose(source, pod, client, options) for pod in pods]
    kind, _, name = target.rpartition("/")
    resource = next(r for r in WORKLOADS if r.plural == WORKLOAD_ALIASES[kind.lower()])
    return [diagnose_template(source, resource, namespace, name, client, options)]


def diagnose_template(
    source: ClusterSource,
    resource: Any,
    namespace: str,
    name: str,
    client: ClientOptions | None = None,
    options: ScanOptions | None = None,
) -> Diagnosis:
    """No pod to read (scaled to zero, or pods that cannot be created): judge the pod template as the
    next pod would be admitted (its own imagePullSecrets, else its ServiceAccount's), then check it live."""
    workload = source.get_object(resource, namespace, name)
    builder = LiveInventoryBuilder(namespace)
    builder.add(workload)
    spec = _template_spec(resource.kind, dict(workload.body or {}))
    account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    names = [str(r.get("name")) for r in spec.get("imagePullSecrets") or () if isinstance(r, Mapping)]
    unknown: set[str | None] = set()
    try:
        sa = source.get_object(SERVICE_ACCOUNTS, namespace, account)
        builder.add(sa)
        if not names:
            names = [
                str(r.get("name"))
                for r in (sa.body or {}).get("imagePullSecrets") or ()
                if isinstance(r, Mapping)
            ]
    except (ClusterNotFound, ClusterForbidden):
        pass
    for secret in dict.fromkeys(names):
        try:
            builder.add(source.get_object(SECRETS, namespace, secret))
        except ClusterNotFound:
            pass
        except ClusterForbidden:
            unknown.add(namespace)
    scan_options = dataclasses.replace(options or ScanOptions(), default_namespace=namespace)
    resolution = analyse(builder.finish(unknown), scan_options).resolution
    owner = ObjectRef(resource.kind, namespace, name)
    diagnosis = Diagnosis(owner, owner, None, None, [], template_only=True)
    for judgement in resolution.images:
        if judgement.coverage.configured or judgement.coverage is Coverage.UNVERIFIABLE:
            continue
        item = ContainerDiagnosis(judgement.use.name, judgement.use.image, "no pod (template judged)", None)
        asyncio.run(_live_check(item, judgement, client or ClientOptions()))
        if item.tries and item.tries[-1].outcome is not None and item.tries[-1].outcome.ok:
            continue  # pulls with what the pod will have (e.g. a public image)
        classify(item, judgement, namespace, owner, None)
        diagnosis.containers.append(item)
    return diagnosis


def _template_spec(kind: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
    spec: Any = body
    for step in POD_SPEC_PATHS[kind]:
        spec = spec.get(step) if isinstance(spec, Mapping) else None
    return spec if isinstance(spec, Mapping) else {}


def _raw(source: ClusterSource, resource: Any, namespace: str, name: str) -> dict[str, Any]:
    try:
        manifest = source.get_object(resource, namespace, name)
    except ClusterNotFound:
        raise ClusterError(
            f"cluster '{source.name}': {resource.kind} '{name}' not found in namespace '{namespace}'"
        ) from None
    return dict(manifest.body or {})


def _waiting(pod: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(container, image, reason) of every container waiting on an image pull."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    images = {
        c.get("name"): c.get("image") for key in ("initContainers", "containers") for c in spec.get(key) or ()
    }
    found = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for item in status.get(key) or ():
            waiting = (item.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in PULL_FAILURES:
                found.append(
                    (
                        str(item.get("name")),
                        str(images.get(item.get("name")) or item.get("image")),
                        str(waiting["reason"]),
                    )
                )
    return found


@dataclass(slots=True)
class PodObjects:
    """A pipeline source: one live pod and the pull secrets it names, read by name."""

    source: ClusterSource
    namespace: str
    name: str
    pull_secrets: tuple[str, ...]
    stats: ReadStats = field(default_factory=ReadStats)
    problems: list[InputProblem] = field(default_factory=list)
    # namespaces whose secrets RBAC hides: references there are unknown, not missing
    unreadable_secrets: set[str | None] = field(default_factory=set)

    @property
    def origin(self) -> str:
        return self.source.origin

    @property
    def context(self) -> bool:
        return False

    @property
    def live(self) -> bool:
        return True

    def read(self) -> Iterator[Manifest]:
        yield self.source.get_object(PODS, self.namespace, self.name)
        for secret in self.pull_secrets:
            try:
                yield self.source.get_object(SECRETS, self.namespace, secret)
            except ClusterNotFound:
                pass
            except ClusterForbidden:
                self.unreadable_secrets.add(self.namespace)


def diagnose(
    source: ClusterSource,
    pod: Mapping[str, Any],
    client: ClientOptions | None = None,
    options: ScanOptions | None = None,
) -> Diagnosis:
    metadata = pod.get("metadata") or {}
    namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
    spec = pod.get("spec") or {}
    node = spec.get("nodeName")
    node_document = _node_document(source, node)
    metadata = (node_document or {}).get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    found_arch = labels.get("kubernetes.io/arch") if isinstance(labels, dict) else None
    arch = found_arch if isinstance(found_arch, str) else None
    waiting = _waiting(pod)
    names = tuple(
        str(ref.get("name")) for ref in spec.get("imagePullSecrets") or () if isinstance(ref, Mapping)
    )
    objects = PodObjects(source, namespace, name, names)
    options = dataclasses.replace(options or ScanOptions(), default_namespace=namespace)
    resolution = run([objects], options).resolution
    template = resolution.pods[0].template if resolution.pods else None
    owner = template.owner if template else ObjectRef("Pod", namespace, name)
    diagnosis = Diagnosis(ObjectRef("Pod", namespace, name), owner, node, arch, [])
    if not waiting:
        return diagnosis
    events = _pull_events(source, namespace, name)
    judgements = {j.use.name: j for j in resolution.images}
    for container, image, reason in waiting:
        event = next((message for (img, message) in events if img == image), None)
        if event is None and events:
            event = events[0][1]
        item = ContainerDiagnosis(container, redact_image(image), reason, _redacted_event(event, image))
        judgement = judgements.get(container)
        if judgement is not None:
            asyncio.run(_live_check(item, judgement, client or ClientOptions()))
        classify(item, judgement, namespace, owner, arch)
        trap = node_cache_cause(reason, item.image, judgement, node_document, node)
        if trap is not None:
            item.cause, (item.explanation, item.fix) = Cause.NODE_CACHE, trap
        diagnosis.containers.append(item)
    return diagnosis


# A quoted string in an event message, as the kubelet quotes an image (Go's %q: `\"` inside).
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)("|\Z)')


def _redacted_event(message: str | None, image: str = "") -> str | None:
    """An event message as shown, at most 600 characters: what can be a credential in the pod's
    image, in any quoted string (the kubelet quotes an image in `Failed to pull image "…"`,
    `couldn't parse image name "…"`) and in the userinfo of any URL is `***`. Redacted before it
    is cut, so a cut never leaves a password without the `@` that shows it is one."""
    if message is None:
        return None
    if image and redact_image(image) != image:
        message = message.replace(image, redact_image(image))
    message = _QUOTED.sub(lambda m: f'"{redact_image(m.group(1))}{m.group(2)}', message)
    return redact_userinfo(message)[:600]


def _node_document(source: ClusterSource, node: Any) -> dict[str, Any] | None:
    """The pod's Node: its architecture, kubelet version and cached images."""
    if not node:
        return None
    try:
        document: dict[str, Any] = source.connection.transport.get(f"/api/v1/nodes/{node}", [])
    except ClusterError:
        return None
    return document if isinstance(document, dict) else None


def _pull_events(source: ClusterSource, namespace: str, name: str) -> list[tuple[str, str]]:
    """(image, message) of the pod's pull failures, newest first."""
    try:
        items = list(
            source.list_objects(
                EVENTS,
                namespace,
                field_selector=f"involvedObject.name={name},involvedObject.namespace={namespace}",
            )
        )
    except ClusterForbidden:
        return []
    failures = []
    for event in items:
        message = str(event.get("message") or "")
        if (
            event.get("reason") in ("Failed", "InspectFailed", "ErrImageNeverPull")
            and "image" in message.lower()
        ):
            match = re.search(r'image "([^"]+)"', message)
            when = str(event.get("lastTimestamp") or event.get("eventTime") or "")
            failures.append((when, match.group(1) if match else "", message))
    failures.sort(reverse=True)
    return [(image, message) for _, image, message in failures]


async def _live_check(item: ContainerDiagnosis, judgement: ImageJudgement, options: ClientOptions) -> None:
    ref = judgement.use.ref
    if ref is None or judgement.coverage is Coverage.BROKEN:
        return
    target = target_of(ref)
    async with RegistryClient(options) as client:
        logins = pod_logins(judgement)
        for login in logins:
            outcome = await client.check(target, login)
            item.tries.append(Try(login.source, outcome))
            if outcome.ok:
                return
        if not logins:
            item.tries.append(
                Try("anonymous (no credential matches this image)", await client.check(target, ANONYMOUS))
            )


_EVENT_PATTERNS: tuple[tuple[re.Pattern[str], Cause], ...] = (
    (
        re.compile(r"no match for platform|no matching manifest for|exec format error", re.I),
        Cause.PLATFORM_MISMATCH,
    ),
    (re.compile(r"x509|certificate|tls:", re.I), Cause.TLS),
    (re.compile(r"429|toomanyrequests|rate limit", re.I), Cause.RATE_LIMITED),
    (
        re.compile(r"no such host|i/o timeout|connection refused|dial tcp|network is unreachable", re.I),
        Cause.UNREACHABLE,
    ),
    (re.compile(r"expired", re.I), Cause.EXPIRED_TOKEN),
    (
        re.compile(r"401|unauthorized|authentication required|incorrect username or password", re.I),
        Cause.BAD_CREDENTIALS,
    ),
    (re.compile(r"403|denied|insufficient_scope|forbidden", re.I), Cause.ACCESS_DENIED),
    (re.compile(r"not found|manifest unknown|name unknown|does not exist", re.I), Cause.NOT_FOUND),
    (re.compile(r"InvalidImageName|invalid reference format", re.I), Cause.INVALID_REFERENCE),
)
_OUTCOME_CAUSES = {
    OutcomeKind.UNAUTHORIZED: Cause.BAD_CREDENTIALS,
    OutcomeKind.EXPIRED: Cause.EXPIRED_TOKEN,
    OutcomeKind.DENIED: Cause.ACCESS_DENIED,
    OutcomeKind.NOT_FOUND: Cause.NOT_FOUND,
    OutcomeKind.TLS_ERROR: Cause.TLS,
    OutcomeKind.UNREACHABLE: Cause.UNREACHABLE,
    OutcomeKind.RATE_LIMITED: Cause.RATE_LIMITED,
    OutcomeKind.INVALID_REFERENCE: Cause.INVALID_REFERENCE,
}


def event_cause(message: str | None) -> Cause:
    for pattern, cause in _EVENT_PATTERNS:
        if message and pattern.search(message):
            return cause
    return Cause.UNKNOWN


_REACH = (
    OutcomeKind.UNREACHABLE,
    OutcomeKind.TLS_ERROR,
    OutcomeKind.REGISTRY_ERROR,
    OutcomeKind.RATE_LIMITED,
)
# a live outcome that refines the kubelet's "unauthorized" (same class, more precise)
_REFINES = {Cause.BAD_CREDENTIALS: (Cause.EXPIRED_TOKEN, Cause.ACCESS_DENIED)}


def classify(
    item: ContainerDiagnosis,
    judgement: ImageJudgement | None,
    namespace: str,
    owner: ObjectRef,
    arch: str | None,
) -> None:
    """The kubelet's evidence (its event) and the static facts (missing secret, wrong type, no matching
    key) decide the cause; pullguard's own live check confirms or refines it, and when pullguard cannot
    reach the registry from where it runs, that is a limit of the check, never the cause."""
    from_event = event_cause(item.event) if item.reason != "InvalidImageName" else Cause.INVALID_REFERENCE
    if judgement is None or judgement.use.ref is None:
        _explain(
            item,
            Cause.INVALID_REFERENCE if judgement is not None else from_event,
            judgement,
            namespace,
            owner,
            arch,
        )
        return
    pod = judgement.pod
    _note_mirror(item, judgement)
    _note_static_facts(item, judgement)
    if judgement.coverage is Coverage.BROKEN:
        _explain(item, Cause.MALFORMED_SECRET, judgement, namespace, owner, arch)
        return
    if from_event is Cause.PLATFORM_MISMATCH:
        _explain(item, from_event, judgement, namespace, owner, arch)
        return
    failing = [t for t in item.tries if t.outcome is not None and not t.outcome.ok]
    live = failing[0].outcome.kind if failing and failing[0].outcome else None
    if live in _REACH:
        item.notes.append(
            f"pullguard could not reach {judgement.use.ref.domain} from where it runs ({live.value if live else ''}): "
            "a limit of this check, not the cause; the kubelet's event and the pod's secrets decide"
        )
        live = None
    if item.tries and item.tries[-1].outcome is not None and item.tries[-1].outcome.ok:
        # the registry serves the image now to these credentials: what the node saw differs
        now: Cause = from_event if from_event not in (Cause.BAD_CREDENTIALS, Cause.UNKNOWN) else Cause.UNKNOWN
        item.explanation = "pullguard's live check pulls this image with the same credentials; "
        _explain(item, now, judgement, namespace, owner, arch)
        return
    live_cause = _OUTCOME_CAUSES.get(live) if live is not None else None
    if judgement.matches:  # a credential was sent
        if from_event is Cause.UNKNOWN:
            matched: Cause = live_cause or Cause.UNKNOWN
        elif live_cause in _REFINES.get(from_event, ()):
            matched = live_cause or from_event
        else:
            matched = from_event
        if matched is Cause.BAD_CREDENTIALS and _ECR.match(judgement.use.ref.domain):
            matched = Cause.EXPIRED_TOKEN  # a static ECR token is valid for 12 hours
        _explain(item, matched, judgement, namespace, owner, arch)
        return
    # no credential matched: the kubelet pulled anonymously
    cause: Cause
    if from_event in (Cause.BAD_CREDENTIALS, Cause.ACCESS_DENIED) or (
        from_event is Cause.UNKNOWN
        and (live in (OutcomeKind.UNAUTHORIZED, OutcomeKind.DENIED) or live is None)
    ):
        if pod.by_state(SecretState.MISSING):
            cause = Cause.MISSING_SECRET
        elif pod.by_state(SecretState.WRONG_TYPE) or pod.by_state(SecretState.EMPTY):
            cause = Cause.WRONG_SECRET_TYPE
        elif pod.by_state(SecretState.USABLE):
            cause = Cause.WRONG_REGISTRY
        elif from_event is Cause.UNKNOWN and live is None:
            cause = Cause.UNKNOWN  # no event, no answer, no static fact: nothing tells
        else:
            cause = Cause.NO_CREDENTIALS
    elif from_event is not Cause.UNKNOWN:
        cause = from_event
    else:
        cause = live_cause or Cause.UNKNOWN
    _explain(item, cause, judgement, namespace, owner, arch)


_EVENT_HOSTS = (
    re.compile(r"https?://([A-Za-z0-9.-]+(?::[0-9]+)?)/"),
    re.compile(r"lookup ([A-Za-z0-9.-]+)"),
    re.compile(r"dial tcp ([A-Za-z0-9.-]+:[0-9]+)"),
)
_DOCKER_HUB = {
    "docker.io",
    "registry-1.docker.io",
    "index.docker.io",
    "auth.docker.io",
    "production.cloudflare.docker.com",
}


def event_hosts(message: str | None) -> list[str]:
    """Registry hosts the kubelet's event names (URLs, DNS lookups, dials)."""
    hosts: list[str] = []
    for pattern in _EVENT_HOSTS:
        for match in pattern.finditer(message or ""):
            if match[1] not in hosts:
                hosts.append(match[1])
    return hosts


def _note_mirror(item: ContainerDiagnosis, judgement: ImageJudgement) -> None:
    """The node pulled from another host than the image's: a mirror in its container runtime."""
    assert judgement.use.ref is not None
    domain = judgement.use.ref.domain
    same = {domain, domain.split(":")[0]} | (_DOCKER_HUB if domain == "docker.io" else set())
    others = [h for h in event_hosts(item.event) if h not in same and h.split(":")[0] not in same]
    if others:
        item.notes.append(
            f"the kubelet's event names {', '.join(others)}, not {domain}: the node pulls through a mirror "
            "configured in its container runtime (containerd hosts.toml, CRI-O registries.conf); the mirror's "
            "answer, not the registry's, is what failed"
        )


def _note_static_facts(item: ContainerDiagnosis, judgement: ImageJudgement) -> None:
    pod = judgement.pod
    namespace = pod.template.namespace
    for ref in pod.references:
        if ref.state is SecretState.MISSING:
            item.notes.append(f"pull secret '{ref.name}' does not exist in namespace '{namespace}'")
        elif ref.state in (SecretState.WRONG_TYPE, SecretState.EMPTY) and ref.secret is not None:
            item.notes.append(
                f"pull secret '{ref.name}' has type {ref.secret.type} or no data: the kubelet ignores it"
            )


def _explain(
    item: ContainerDiagnosis,
    cause: Cause,
    judgement: ImageJudgement | None,
    namespace: str,
    owner: ObjectRef,
    arch: str | None,
) -> None:
    item.cause = cause
    ref = judgement.use.ref if judgement is not None else None
    registry = ref.domain if ref else "<registry>"
    repository = ref.repository if ref else item.image
    pod = judgement.pod if judgement else None
    names = [r.name for r in pod.references] if pod else []
    secret = names[0] if names else "regcred"
    missing = [r.name for r in pod.by_state(SecretState.MISSING)] if pod else []
    wrong = (
        [r for r in pod.references if r.state in (SecretState.WRONG_TYPE, SecretState.EMPTY)] if pod else []
    )
    restart = _restart(owner, namespace)
    create = (
        f"kubectl create secret docker-registry {q(secret)} -n {q(namespace)} --docker-server={q(registry)} "
        f'--docker-username=<user> --docker-password="$(cat <password-file>)" --dry-run=client -o yaml | kubectl apply -f -'
    )
    ecr = _ECR.match(registry)
    region = ecr.group(2) if ecr else "<region>"
    first_failure = next((t for t in item.tries if t.outcome is not None and not t.outcome.ok), None)
    detail = f" ({first_failure.outcome.detail})" if first_failure and first_failure.outcome else ""
    text: dict[Cause, tuple[str, str]] = {
        Cause.BAD_CREDENTIALS: (
            f"the registry {registry} refuses the credentials the kubelet sends{detail}; the kubelet does not fall "
            "back to an anonymous pull",
            f"replace the credential in secret '{secret}':\n  {create}\n  {restart}",
        ),
        Cause.EXPIRED_TOKEN: (
            f"the token in secret '{secret}' for {registry} has expired{detail} (ECR tokens last 12 hours)",
            (
                f"kubectl create secret docker-registry {q(secret)} -n {q(namespace)} --docker-server={q(registry)} "
                f'--docker-username=AWS --docker-password="$(aws ecr get-login-password --region '
                f'{region})" --dry-run=client -o yaml '
                f"| kubectl apply -f -\n  {restart}\n  then refresh it on a schedule (a CronJob, or node credentials: "
                "the node role with AmazonEC2ContainerRegistryReadOnly needs no secret)"
            ),
        ),
        Cause.WRONG_REGISTRY: (
            f"the pod's pull secrets ({', '.join(names)}) have no key matching {repository} "
            f"(keys: {', '.join(loc for r in pod.references for loc in r.locations) if pod else ''}), so the kubelet "
            "pulls anonymously and the registry refuses",
            f"add a key for {registry} (recreate the secret with --docker-server={registry}):\n  {create}\n  {restart}",
        ),
        Cause.MISSING_SECRET: (
            f"{noun(len(missing), 'pull secret')} {', '.join(missing)} {'does' if len(missing) == 1 else 'do'} not "
            f"exist in namespace '{namespace}'; the kubelet skips {'it' if len(missing) == 1 else 'them'} and pulls "
            "anonymously",
            f"create it:\n  kubectl create secret docker-registry "
            f"{q(pod.by_state(SecretState.MISSING)[0].name if pod and pod.by_state(SecretState.MISSING) else secret)} "
            f"-n {q(namespace)} --docker-server={q(registry)} --docker-username=<user> "
            f'--docker-password="$(cat <password-file>)"\n  {restart}',
        ),
        Cause.WRONG_SECRET_TYPE: (
            f"{noun(len(wrong), 'pull secret')} "
            + ", ".join(f"'{r.name}' ({r.secret.type if r.secret else '?'})" for r in wrong)
            if pod
            else "a pull secret has the wrong type",
            "recreate it as kubernetes.io/dockerconfigjson (the type cannot be changed in place):\n"
            f"  kubectl get secret {q(secret)} -n {q(namespace)} -o jsonpath='{{.data.\\.dockerconfigjson}}' | base64 -d > config.json\n"
            f"  kubectl delete secret {q(secret)} -n {q(namespace)}\n"
            f"  kubectl create secret generic {q(secret)} -n {q(namespace)} --type=kubernetes.io/dockerconfigjson "
            f"--from-file=.dockerconfigjson=config.json && shred -u config.json\n  {restart}",
        ),
        Cause.MALFORMED_SECRET: (
            judgement.cause or "a pull secret cannot be decoded"
            if judgement
            else "a pull secret cannot be decoded",
            f"fix the secret's .dockerconfigjson (see `pullguard scan --cluster -n {namespace}`, PG003), then\n  {restart}",
        ),
        Cause.NO_CREDENTIALS: (
            f"the pod has no pull secret (nor has its ServiceAccount) and {registry} refuses anonymous pulls",
            f"{create.replace(secret, 'regcred', 1)}\n  "
            + attach_to_service_account(
                "regcred", pod.template.service_account if pod else "default", namespace
            )
            + "\n  "
            f"{restart}  (pods get the ServiceAccount's secrets when they are created)",
        ),
        Cause.NOT_FOUND: (
            f"{item.image} does not exist on {registry}{detail}",
            f"check the name and tag (skopeo list-tags docker://{repository}), then\n  "
            f"{_set_image(owner, namespace, item.container)}",
        ),
        Cause.ACCESS_DENIED: (
            f"the credentials are valid but have no pull access to {repository}{detail}",
            f"grant the identity in secret '{secret}' pull (read) access to {repository} in the registry, "
            f"or use a credential that has it; then\n  {restart}",
        ),
        Cause.UNREACHABLE: (
            f"{registry} cannot be reached{detail}",
            f"test from the node: kubectl debug node/<node> -it --image=busybox -- wget -qS -O- https://{registry}/v2/ ;"
            " check DNS, firewall, proxy (containerd's HTTPS_PROXY/NO_PROXY) and the registry name",
        ),
        Cause.TLS: (
            f"the TLS certificate of {registry} is not trusted by the node (x509){detail}",
            f"install the registry's CA on every node (containerd: /etc/containerd/certs.d/{registry}/ca.crt), or "
            "fix the registry's certificate chain and name",
        ),
        Cause.RATE_LIMITED: (
            f"{registry} is rate limiting pulls{detail}",
            "authenticate pulls (a pull secret raises the limit), use a pull-through cache or mirror, or wait for the reset",
        ),
        Cause.PLATFORM_MISMATCH: (
            f"{item.image} has no manifest for the node's platform (linux/{arch or '<arch>'})",
            "publish a multi-arch image (docker buildx build --platform linux/amd64,linux/arm64 ...), or pin the "
            f"workload to matching nodes: kubectl patch {owner.kind.lower()} {q(owner.name)} -n {q(namespace)} -p "
            '\'{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}\'',
        ),
        Cause.INVALID_REFERENCE: (
            f"'{item.image}' is not a valid image reference",
            _set_image(owner, namespace, item.container),
        ),
        Cause.UNKNOWN: (
            "no cause could be told from the events, the pull secrets and a live check",
            f"kubectl describe pod -n {namespace} ... ; kubectl get events -n {namespace} --sort-by=.lastTimestamp",
        ),
    }
    explanation, fix = text[cause]
    item.explanation += explanation
    item.fix = fix


def _restart(owner: ObjectRef, namespace: str) -> str:
    if owner.kind in ("Deployment", "StatefulSet", "DaemonSet"):
        return f"kubectl rollout restart {q(f'{owner.kind.lower()}/{owner.name}')} -n {q(namespace)}"
    return (
        f"kubectl delete pod {q(owner.name)} -n {q(namespace)}  (its controller, if any, recreates it)"
        if owner.kind == "Pod"
        else f"kubectl delete pods -n {q(namespace)} -l <selector of {owner}>"
    )


def _set_image(owner: ObjectRef, namespace: str, container: str) -> str:
    if owner.kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"):
        return (
            f"kubectl set image {q(f'{owner.kind.lower()}/{owner.name}')} {q(container)}=<correct image> "
            f"-n {q(namespace)}"
        )
    return f"correct the image of container '{container}' in {owner} and recreate it"


def render_text(diagnoses: list[Diagnosis]) -> str:
    """The diagnoses as text; names, images and event messages on one line each (`one_line`:
    a line break in them is shown as `\\x0a`, never started). The fix keeps its lines."""
    lines: list[str] = []
    for diagnosis in diagnoses:
        owner = f" ({diagnosis.owner})" if diagnosis.owner != diagnosis.pod else ""
        node = (
            f", node {diagnosis.node}" + (f" ({diagnosis.arch})" if diagnosis.arch else "")
            if diagnosis.node
            else ""
        )
        lines.append(one_line(f"{diagnosis.pod}{owner}{node}"))
        if diagnosis.template_only:
            lines.append("  no pod: the pod template is judged as its next pod would be admitted.")
        if diagnosis.healthy:
            lines.append(
                "  every image pulls with the credentials its pods will have."
                if diagnosis.template_only
                else "  no container is waiting on an image pull: the pod pulls fine."
            )
        for item in diagnosis.containers:
            lines.append("  " + one_line(f"container {item.container}: {item.reason}  {item.image}"))
            if item.event:
                lines.append("    kubelet: " + one_line(item.event))
            if item.tries:
                lines.append("    credentials the kubelet tries, in order, and a live check of each:")
                for number, attempt in enumerate(item.tries, 1):
                    said = (
                        f"{attempt.outcome.kind.value}: {attempt.outcome.detail}"
                        if attempt.outcome
                        else "not checked"
                    )
                    lines.append(f"      {number}. " + one_line(f"{attempt.source} -> {said}"))
            for note in item.notes:
                lines.append("    note: " + one_line(note))
            lines.append(f"    cause: {item.cause.value}: " + one_line(item.explanation))
            lines.append("    fix:   " + item.fix.replace("\n", "\n         "))
        lines.append("")
    return "\n".join(lines)
