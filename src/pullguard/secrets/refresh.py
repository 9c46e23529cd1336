"""`pullguard secret refresh`: short-lived registry tokens from a credential helper, renewed in time.

One run: for each registry the target Secrets cover, ask the helper once
(``docker-credential-HELPER get``: ecr-login, gcr, acr-env, …), check the fresh
token against the registry, then write each Secret with one PUT that carries its
resourceVersion (409: read again; a Secret someone refreshed with a later expiry
is left alone). A failure at any step leaves every Secret with the credential it
had. The expiry is recorded in ``pullguard.io/expires-at``.

``--loop`` renews at ``min(2/3 × lifetime, max(lifetime − renew-before, lifetime / 3))``
of the token's own lifetime (cert-manager renews at 2/3 of a certificate's
lifetime), minus up to 10 % jitter so that many refreshers do not call the
registry at the same second; a failed run is retried with exponential backoff,
always well before the current token expires.

Exit codes of one run: 0 every Secret refreshed; 1 a refresh failed, and every
affected Secret still holds a credential that has not expired; 3 a refresh failed
and a Secret's credential has expired (pulls are failing now); 2 usage error, or
the cluster could not be read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pullguard.errors import ClusterError, ConfigError, PullguardError
from pullguard.registry.client import ClientOptions
from pullguard.secrets.check import Check, check_credentials
from pullguard.secrets.kube import ChangeAborted, Conflict, KubeApi, WriteUnknown
from pullguard.secrets.payload import (
    DATA_KEY,
    DOCKERCONFIGJSON,
    EXPIRES_AT,
    Entry,
    entries_of,
    parse_timestamp,
    secret_object,
    timestamp,
)
from pullguard.secrets.plan import EXIT_ERROR, EXIT_EXPIRED, EXIT_FAILED, EXIT_OK, Report
from pullguard.secrets.sources import NewCredential
from pullguard.sources.cluster import SECRETS

__all__ = ["RefreshOptions", "next_delay", "refresh_once", "retry_delay"]


@dataclass(frozen=True, slots=True)
class RefreshOptions:
    helper: str
    names: tuple[str, ...] = ()  # secret names, in `namespace`
    namespace: str = "default"
    all_namespaces: bool = False
    selector: str | None = None  # label selector, instead of names
    registries: tuple[str, ...] = ()  # auths keys to refresh (default: every key of each Secret)
    images: tuple[str, ...] = ()
    verify: bool = True
    token_lifetime: float = 12 * 3600  # when the token does not say when it expires
    client: ClientOptions = field(default_factory=ClientOptions)


@dataclass(slots=True)
class Target:
    namespace: str
    name: str
    stored: dict[str, Any] | None  # None: to be created


def _targets(api: KubeApi, options: RefreshOptions) -> list[Target]:
    if options.selector is not None or not options.names:
        if options.selector is None:
            raise ConfigError("name the Secret(s) to refresh, or select them with -l/--selector")
        where = None if options.all_namespaces else options.namespace
        items = api.list_objects(
            SECRETS, where, label_selector=options.selector, field_selector=f"type={DOCKERCONFIGJSON}"
        )
        return [Target(i["metadata"]["namespace"], i["metadata"]["name"], i) for i in items]
    return [
        Target(options.namespace, n, api.get_or_none(SECRETS, options.namespace, n)) for n in options.names
    ]


def _expires(stored: dict[str, Any] | None) -> float | None:
    if stored is None:
        return None
    return parse_timestamp(((stored.get("metadata") or {}).get("annotations") or {}).get(EXPIRES_AT))


def refresh_once(
    api: KubeApi,
    options: RefreshOptions,
    obtain: Callable[[str], NewCredential],
    server_dry_run: bool = False,
    client_dry_run: bool = False,
) -> tuple[Report, float | None]:
    """One refresh of every target. Returns the report and the earliest new expiry (Unix time)."""
    report = Report()
    targets = _targets(api, options)
    if not targets:
        report.warnings.append(f"no Secret matches (selector {options.selector!r}): nothing to refresh")
        return report, None
    # Which auths keys each target needs, and the fresh credential of each key (asked once).
    needs: dict[tuple[str, str], list[str]] = {}
    for target in targets:
        where = f"secret {target.namespace}/{target.name}"
        if target.stored is None:
            if not options.registries:
                report.fail(f"{where} does not exist: give --registry to create it", EXIT_ERROR)
                continue
            needs[(target.namespace, target.name)] = list(options.registries)
            continue
        try:
            keys = [e.key for e in entries_of(target.stored)]
        except PullguardError as error:
            report.fail(f"{where}: {error}", EXIT_ERROR)
            continue
        wanted = [k for k in keys if not options.registries or k in options.registries]
        if options.registries and not wanted:
            report.fail(f"{where} has no auths entry for {', '.join(options.registries)}", EXIT_ERROR)
            continue
        needs[(target.namespace, target.name)] = wanted
    fresh: dict[str, NewCredential] = {}
    refused: dict[str, str] = {}
    for key in dict.fromkeys(k for keys in needs.values() for k in keys):
        try:
            fresh[key] = obtain(key)
            api.hide(fresh[key].credential.password)
        except PullguardError as error:
            refused[key] = str(error)
    checks: list[Check] = []
    if options.verify and fresh:
        checks = check_credentials(
            [(k, c.credential) for k, c in fresh.items()], options.images, options.client
        )
        report.lines += [check.line() for check in checks]
        for check in checks:
            if not check.ok:
                refused[check.registry] = f"the registry refuses the fresh token: {check.outcome.detail}"
                fresh.pop(check.registry, None)
    for key, reason in refused.items():
        report.warnings.append(f"{key}: no fresh credential ({reason})")
    now = time.time()
    earliest: float | None = None
    written = 0
    for target in targets:
        needed = needs.get((target.namespace, target.name))
        if needed is None:
            continue
        keys = needed
        where = f"secret {target.namespace}/{target.name}"
        missing = [k for k in keys if k not in fresh]
        if missing:
            expires = _expires(target.stored)
            if target.stored is not None and expires is not None and expires <= now:
                report.fail(
                    f"{where}: not refreshed, and its credential expired at {timestamp(expires)}: pulls fail now",
                    EXIT_EXPIRED,
                )
            else:
                still = f"; the credential in place expires at {timestamp(expires)}" if expires else ""
                report.fail(f"{where}: not refreshed (the credential in place is unchanged{still})")
            continue
        expiry = min(_expiry_of(fresh[k], now, options.token_lifetime) for k in keys)
        earliest = expiry if earliest is None else min(earliest, expiry)
        if client_dry_run:
            report.lines.append(f"{where}: would refresh {', '.join(keys)} (expires {timestamp(expiry)})")
            continue
        result = _write(api, target, keys, fresh, expiry, server_dry_run)
        if result is None:
            written += 1
            verb = "would be refreshed (server dry run)" if server_dry_run else "refreshed"
            report.lines.append(f"{where} {verb}: {', '.join(keys)}, expires {timestamp(expiry)}")
        else:
            expires = _expires(target.stored)
            code = EXIT_EXPIRED if expires is not None and expires <= now else EXIT_FAILED
            report.fail(f"{where}: {result}", code)
    if len(targets) > 1:
        report.lines.append(f"{written} of {len(targets)} secrets refreshed")
    return report, earliest


def _write(
    api: KubeApi,
    target: Target,
    keys: Sequence[str],
    fresh: dict[str, NewCredential],
    expiry: float,
    server_dry_run: bool,
) -> str | None:
    """Write one Secret; None when done, else why not (the Secret keeps its credential)."""
    if target.stored is None:
        entries = [Entry(k, fresh[k].credential) for k in keys]
        obj = secret_object(target.name, target.namespace, entries, time.time(), expiry)
        try:
            api.create(SECRETS, target.namespace, obj, dry_run=server_dry_run)
        except ClusterError as error:
            return f"not created: {error}"
        return None

    def change(stored: dict[str, Any]) -> dict[str, Any] | None:
        theirs = _expires(stored)
        if stored is not target.stored and theirs is not None and theirs >= expiry:
            raise ChangeAborted("refreshed by someone else meanwhile with a later expiry: left as it is")
        entries = [
            Entry(e.key, fresh[e.key].credential) if e.key in fresh and e.key in keys else e
            for e in entries_of(stored)
        ]
        if stored.get("type") != DOCKERCONFIGJSON or not entries:
            raise ChangeAborted("is no longer a dockerconfigjson pull secret: left as it is")
        return secret_object(target.name, target.namespace, entries, time.time(), expiry, base=stored)

    try:
        api.update(
            SECRETS, target.namespace, target.name, change, dry_run=server_dry_run, first=target.stored
        )
    except ChangeAborted as aborted:
        return str(aborted)
    except Conflict:
        return "kept changing (409 Conflict each time): not refreshed; the credential in place is unchanged"
    except WriteUnknown:
        try:
            after = api.get(SECRETS, target.namespace, target.name)
        except ClusterError:
            return "no answer from the API server; whether the refresh was stored is unknown"
        before = (target.stored.get("data") or {}).get(DATA_KEY)
        if (after.get("data") or {}).get(DATA_KEY) == before:
            return "no answer from the API server: not refreshed; the credential in place is unchanged"
        return None
    except ClusterError as error:
        return f"not refreshed ({error}); the credential in place is unchanged"
    return None


def _expiry_of(new: NewCredential, now: float, lifetime: float) -> float:
    return new.expires_at if new.expires_at is not None else now + lifetime


# -- scheduling ----------------------------------------------------------------------------


def next_delay(
    lifetime: float, renew_before: float, min_interval: float, rng: random.Random | None = None
) -> float:
    """Seconds until the next refresh of a token valid for ``lifetime`` more seconds."""
    base = min(lifetime * 2 / 3, max(lifetime - renew_before, lifetime / 3))
    jitter = float((rng or random).uniform(0.0, 0.1))
    return max(min_interval, base * (1 - jitter))


def retry_delay(failures: int, remaining: float | None, min_interval: float, cap: float = 600.0) -> float:
    """Exponential backoff from 30 s, capped, and at most a quarter of the token's remaining life."""
    delay: float = min(cap, 30.0 * 2.0 ** max(0, failures - 1))
    if remaining is not None and remaining > 0:
        delay = min(delay, remaining / 4)
    return max(min_interval, delay)


def exit_code(report: Report) -> int:
    return report.code if report.code in (EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_EXPIRED) else EXIT_ERROR
