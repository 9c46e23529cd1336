"""`pullguard verify`: per image, the credentials the kubelet would try, in its order, asked of the registry.

Pure orchestration over a scan's resolution (``pullguard.inventory.resolve``):

1. an invalid reference fails; an un-rendered one, and a pod whose secrets cannot
   be read (ExternalSecret, SealedSecret, SOPS, templates), are not checked;
2. a malformed pull secret fails every pull of the pod (the kubelet cannot build
   its keyring): no request is made;
3. the pod's matching keys in keyring order (SEMANTICS §2), each with the
   entries of that key in the secret, then the node keyring (``--docker-config``,
   ``--username``); the first that pulls wins;
4. when credentials matched and all failed, the pull fails: the kubelet does not
   fall back to an anonymous pull (pullguard says whether one would have worked);
5. with no matching credential the pull is anonymous, and so is the check.

Identical (registry, repository, reference, identity) checks run once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pullguard.inventory.resolve import Coverage, ImageJudgement, SecretState
from pullguard.registry.client import ClientOptions, ClientStats, RegistryClient, Target
from pullguard.registry.credentials import Login, NodeKeyring
from pullguard.registry.outcome import Outcome, OutcomeKind
from pullguard.result import ScanResult
from pullguard.semantics.dockerconfig import Credential
from pullguard.semantics.imageref import ImageRef
from pullguard.semantics.keyring import parse_registry_key
from pullguard.semantics.registries import Visibility

__all__ = [
    "Attempt",
    "ImageVerdict",
    "VerifyOptions",
    "VerifyResult",
    "probe_anonymous",
    "probe_unknown",
    "verify",
]

ANONYMOUS = Login("anonymous")


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    client: ClientOptions = field(default_factory=ClientOptions)
    deadline: float = 120.0  # the whole run, seconds
    node: NodeKeyring = field(default_factory=NodeKeyring)


@dataclass(frozen=True, slots=True)
class Attempt:
    login: str  # where the credential comes from (never its value)
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ImageVerdict:
    """One (workload, container, image) row."""

    judgement: ImageJudgement
    outcome: Outcome
    attempts: tuple[Attempt, ...] = ()
    credential: str | None = None  # the login that succeeded
    note: str | None = None  # e.g. "no anonymous fallback"

    @property
    def fails(self) -> bool:
        return self.outcome.kind.fails


@dataclass(slots=True)
class VerifyResult:
    scan: ScanResult
    verdicts: list[ImageVerdict]
    elapsed: float
    stats: ClientStats

    @property
    def failing(self) -> list[ImageVerdict]:
        return [v for v in self.verdicts if v.fails]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for verdict in self.verdicts:
            counts[verdict.outcome.kind.value] = counts.get(verdict.outcome.kind.value, 0) + 1
        return dict(sorted(counts.items()))


def target_of(ref: ImageRef) -> Target:
    reference = ref.digest or ref.tag or "latest"
    return Target(ref.domain, ref.path, reference)


def pod_logins(judgement: ImageJudgement) -> list[Login]:
    """The pod's credentials for this image in the kubelet's order (keys, then secrets, then entries)."""
    logins: list[Login] = []
    references = {ref.name: ref for ref in judgement.pod.by_state(SecretState.USABLE)}
    for match in judgement.matches:
        if match.secret is None:
            continue
        reference = references.get(match.secret)
        if reference is None or reference.secret is None or reference.secret.payload is None:
            continue
        secret = reference.secret
        for entry in secret.payload.entries if secret.payload else ():
            key = parse_registry_key(entry.key)
            if key is None or key.location != match.location:
                continue
            source = f"secret {secret.ref.namespace}/{secret.ref.name} key {entry.key!r}"
            credential = entry.credential
            if credential.identity_token_only or not (credential.username or credential.password):
                logins.append(Login(source + " (empty credentials: anonymous)"))
            else:
                logins.append(Login(source, Credential(credential.username, credential.password)))
    return logins


class _Verifier:
    def __init__(self, client: RegistryClient, node: NodeKeyring) -> None:
        self.client = client
        self.node = node
        self._checks: dict[tuple[Target, str], asyncio.Task[Outcome]] = {}

    async def check(self, target: Target, login: Login) -> Outcome:
        key = (target, login.fingerprint)
        task = self._checks.get(key)
        if task is None:
            task = self._checks[key] = asyncio.ensure_future(self.client.check(target, login))
        return await asyncio.shield(task)

    async def cancel_pending(self) -> None:
        pending = [task for task in self._checks.values() if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.client.cancel_pending()

    async def verdict(self, judgement: ImageJudgement) -> ImageVerdict:
        use = judgement.use
        if use.ref is None:
            if use.unresolved:
                return ImageVerdict(
                    judgement, Outcome(OutcomeKind.NOT_CHECKED, "un-rendered template expression")
                )
            if use.placeholder:
                return ImageVerdict(judgement, Outcome(OutcomeKind.NOT_CHECKED, "build-time placeholder"))
            return ImageVerdict(
                judgement, Outcome(OutcomeKind.INVALID_REFERENCE, use.problem or "invalid reference")
            )
        if judgement.coverage is Coverage.BROKEN:
            return ImageVerdict(
                judgement, Outcome(OutcomeKind.BROKEN_SECRET, judgement.cause or "malformed pull secret")
            )
        if judgement.coverage is Coverage.UNVERIFIABLE:
            return ImageVerdict(
                judgement, Outcome(OutcomeKind.NOT_CHECKED, judgement.cause or "secrets not readable")
            )
        target = target_of(use.ref)
        logins = pod_logins(judgement) + self.node.logins_for(use.ref.repository)
        if not logins and judgement.coverage is Coverage.NODE:
            patterns = ", ".join(m.location for m in judgement.matches)
            detail = f"pulled with node credentials ({patterns}) that pullguard was not given"
            return ImageVerdict(judgement, Outcome(OutcomeKind.NOT_CHECKED, detail))
        if not logins and judgement.coverage in (Coverage.PROVIDER, Coverage.PROVIDER_SA):
            via = ", ".join(m.via or m.location for m in judgement.matches)
            detail = f"pulled by a kubelet credential provider ({via}), which pullguard does not run"
            return ImageVerdict(judgement, Outcome(OutcomeKind.NOT_CHECKED, detail))
        if not logins:
            outcome = await self.check(target, ANONYMOUS)
            why = f" ({judgement.cause})" if judgement.cause else ""
            note = f"no credential matches this image{why}: the pull is anonymous"
            return ImageVerdict(
                judgement,
                outcome,
                (Attempt(ANONYMOUS.source, outcome),),
                "anonymous" if outcome.ok else None,
                note,
            )
        attempts: list[Attempt] = []
        for login in logins:
            outcome = await self.check(target, login)
            attempts.append(Attempt(login.source, outcome))
            if outcome.ok:
                return ImageVerdict(judgement, outcome, tuple(attempts), login.source)
        anonymous = await self.check(target, ANONYMOUS)
        note = (
            (
                "the matching credential failed"
                if len(attempts) == 1
                else f"all {len(attempts)} matching credentials failed"
            )
            + " and the kubelet does not fall back to an anonymous pull"
            + (
                " (an anonymous pull would have worked: remove or fix the matching key)"
                if anonymous.ok
                else ""
            )
        )
        return ImageVerdict(judgement, attempts[0].outcome, tuple(attempts), None, note)


def verify(scan: ScanResult, options: VerifyOptions | None = None) -> VerifyResult:
    """Check every image of the scan; the run ends within ``options.deadline`` seconds."""
    options = options or VerifyOptions()
    return asyncio.run(_verify(scan, options))


async def _verify(scan: ScanResult, options: VerifyOptions) -> VerifyResult:
    started = time.monotonic()
    judgements = scan.resolution.images
    async with RegistryClient(options.client) as client:
        verifier = _Verifier(client, options.node)
        tasks = [asyncio.ensure_future(verifier.verdict(j)) for j in judgements]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=options.deadline)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await verifier.cancel_pending()
        verdicts = [
            _collect(task, judgement, options.deadline)
            for task, judgement in zip(tasks, judgements, strict=True)
        ]
    return VerifyResult(scan, verdicts, time.monotonic() - started, client.stats)


def _collect(task: asyncio.Task[ImageVerdict], judgement: ImageJudgement, deadline: float) -> ImageVerdict:
    if task.cancelled():
        detail = f"not answered before the run deadline ({deadline:g}s)"
        return ImageVerdict(judgement, Outcome(OutcomeKind.UNREACHABLE, detail))
    error = task.exception()
    if error is not None:
        raise error
    return task.result()


def probe_anonymous(refs: Sequence[ImageRef], options: ClientOptions | None = None) -> dict[str, Visibility]:
    """For `scan --probe`: is each repository anonymously pullable (public), refused (private), or unknown?"""

    async def run() -> dict[str, Visibility]:
        async with RegistryClient(options) as client:
            unique = {ref.repository: ref for ref in refs}
            outcomes = await asyncio.gather(
                *(client.check(target_of(ref), ANONYMOUS) for ref in unique.values())
            )
        result: dict[str, Visibility] = {}
        for repository, outcome in zip(unique, outcomes, strict=True):
            if outcome.kind in (OutcomeKind.OK, OutcomeKind.NOT_FOUND):
                result[repository] = Visibility.PUBLIC if outcome.ok else Visibility.UNKNOWN
            elif outcome.kind in (OutcomeKind.UNAUTHORIZED, OutcomeKind.DENIED):
                result[repository] = Visibility.PRIVATE
            else:
                result[repository] = Visibility.UNKNOWN
        return result

    return asyncio.run(run())


def probe_unknown(
    scan: ScanResult, options: ClientOptions | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`scan --probe`: (public, private) repositories among the images of unknown visibility.

    One anonymous pull check per repository: public when it pulls, private when the
    registry refuses (401/403); not found, unreachable and the rest stay unknown.
    """
    refs = [
        j.use.ref
        for j in scan.resolution.images
        if j.use.ref is not None and j.visibility is Visibility.UNKNOWN
    ]
    if not refs:
        return (), ()
    found = probe_anonymous(refs, options)
    public = tuple(sorted(r for r, v in found.items() if v is Visibility.PUBLIC))
    private = tuple(sorted(r for r, v in found.items() if v is Visibility.PRIVATE))
    return public, private
