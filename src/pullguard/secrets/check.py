"""A credential asked of its registries before anything is written.

For each registry: does it accept the login at all (``docker login``'s question:
``GET /v2/``, with a scope-less token for Bearer registries)? And for each
``--image`` on that registry: can the login pull it (the same manifest ``HEAD``
as ``pullguard verify``)? Outcomes carry no credential.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from pullguard.errors import PullguardError
from pullguard.registry.client import ClientOptions, RegistryClient, Target
from pullguard.registry.credentials import Login
from pullguard.registry.outcome import Outcome, OutcomeKind
from pullguard.semantics.dockerconfig import Credential
from pullguard.semantics.imageref import parse_image
from pullguard.semantics.keyring import key_matches, parse_registry_key

__all__ = ["Check", "check_credentials", "registry_of_key"]


@dataclass(frozen=True, slots=True)
class Check:
    registry: str  # the auths key
    what: str  # "login" or an image
    outcome: Outcome

    @property
    def ok(self) -> bool:
        return self.outcome.kind is OutcomeKind.OK

    def line(self) -> str:
        mark = "ok" if self.ok else self.outcome.kind.value
        subject = "accepts the credential" if self.what == "login" else f"can pull {self.what}"
        return f"  [{mark}] {self.registry}: {subject}? {self.outcome.detail}"


def registry_of_key(key: str) -> str:
    """The registry host[:port] an auths key names (``https://r.example/v1/`` -> ``r.example``)."""
    parsed = parse_registry_key(key)
    if parsed is None:
        return key
    return parsed.location.split("/", 1)[0]


def check_credentials(
    pairs: Sequence[tuple[str, Credential]],
    images: Sequence[str],
    options: ClientOptions,
    deadline: float = 60.0,
) -> list[Check]:
    """Every (auths key, credential): a login check, plus a pull check of each image the key covers."""

    async def run() -> list[Check]:
        async with RegistryClient(options) as client:
            jobs = []
            for key, credential in pairs:
                login = Login(f"new credential for {key}", credential)
                registry = registry_of_key(key)
                jobs.append((key, "login", client.check_login(registry, login)))
                for image in images:
                    try:
                        ref = parse_image(image)
                    except PullguardError:
                        continue  # not an image the kubelet could pull at all; verify/scan report it
                    location = parse_registry_key(key)
                    if location is None or not key_matches(location.location, ref.repository):
                        continue
                    target = Target(ref.domain, ref.path, ref.digest or ref.tag or "latest")
                    jobs.append((key, image, client.check(target, login)))
            try:
                async with asyncio.timeout(deadline):
                    outcomes = await asyncio.gather(*(job for _, _, job in jobs))
            except TimeoutError:
                await client.cancel_pending()
                return [
                    Check(key, what, Outcome(OutcomeKind.UNREACHABLE, f"no answer within {deadline:g}s"))
                    for key, what, _ in jobs
                ]
            return [Check(key, what, outcome) for (key, what, _), outcome in zip(jobs, outcomes, strict=True)]

    return asyncio.run(run())
