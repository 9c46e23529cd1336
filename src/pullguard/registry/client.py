"""A registry client that answers one question: can this login pull this manifest?

Protocol (SEMANTICS §5; distribution's spec/auth/token.md, the OCI distribution spec):
``GET /v2/`` tells whether the registry is open or which challenge it sends
(Basic, or Bearer with realm and service); for Bearer, a token for
``repository:NAME:pull`` comes from the realm (``GET`` with Basic credentials,
or ``POST`` with ``grant_type=refresh_token`` for an identity token); then
``HEAD /v2/NAME/manifests/REF`` with the OCI and Docker manifest media types in
``Accept``. Only the HEAD proves access: some token servers grant a token for a
repository the identity cannot read. No manifest or layer body is downloaded; a
404 is told apart (repository or tag) with ``GET /v2/NAME/tags/list?n=1``.

Bounded: one overall and one per-host semaphore; every request has a connect
timeout and a total deadline (a server that trickles bytes cannot hold it);
bodies are read only where needed and up to a size limit; redirects are capped;
retries only for 429 (honouring ``Retry-After`` up to a limit) and 5xx.
Pings and tokens are computed once per run (single flight) and cached — tokens
per (registry, realm, service, identity, scope) until they expire — and a
failed ping is remembered, so a dead registry costs one timeout, not one per image.

Nothing here puts a credential, token or response body in an outcome or error.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import os
import re
import socket
import ssl
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx

from pullguard import __version__
from pullguard.registry.credentials import Login, Token, credential_expiry
from pullguard.registry.outcome import Outcome, OutcomeKind, RateLimit

__all__ = [
    "MANIFEST_ACCEPT",
    "ClientOptions",
    "ClientStats",
    "RegistryClient",
    "Target",
    "parse_connect_to",
    "parse_realm",
]

MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
DOCKER_HUB = "docker.io"
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
_TOKEN_BODY_LIMIT = 1 << 20
_SMALL_BODY_LIMIT = 64 << 10
_MAX_REDIRECTS = 5
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_DEFAULT_TOKEN_LIFETIME = 60  # spec: when expires_in is absent, 60 seconds

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ClientOptions:
    connect_timeout: float = 5.0
    request_timeout: float = 15.0  # a whole request: connect, headers and body
    concurrency: int = 32
    per_registry: int = 8
    retries: int = 2
    max_retry_after: float = 10.0
    ca_file: str | None = None
    plain_http: frozenset[str] = frozenset()  # registries (host[:port]) spoken to over http://
    skip_tls_verify: frozenset[str] = frozenset()  # registries whose certificate is not checked
    # curl's --connect-to: (host, port or None for the scheme's default) -> (connect host, connect port).
    # The URL, Host header, TLS SNI and certificate check keep the original host.
    connect_to: tuple[tuple[str, int | None, str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Target:
    """What to pull: the registry as the image names it, the repository path, and the tag or digest."""

    registry: str
    path: str
    reference: str

    @property
    def endpoint(self) -> str:
        return DOCKER_HUB_ENDPOINT if self.registry == DOCKER_HUB else self.registry

    def __str__(self) -> str:
        sep = "@" if ":" in self.reference and self.reference.startswith("sha") else ":"
        return f"{self.registry}/{self.path}{sep}{self.reference}"


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # "none" (open), "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ClientStats:
    requests: int = 0
    pings: int = 0
    token_requests: int = 0
    manifest_requests: int = 0
    retries: int = 0
    # (image registry, HTTP status code, or "error" when no answer came) -> requests; the registry is
    # the one the image names, also for its token server (serve: pullguard_registry_requests_total)
    responses: Counter[tuple[str, str]] = field(default_factory=Counter)


# the registry whose image (or login) a request is made for; shared pings and token fetches run in
# a task created under it, so they count for the registry that asked first (the same one)
_FOR_REGISTRY: ContextVar[str | None] = ContextVar("pullguard_registry", default=None)


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    headers: httpx.Headers
    body: bytes


class _Failure(Exception):
    """An outcome reached before the manifest request (ping, token, transport)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


class RegistryClient:
    """One per run (inside one event loop); use as ``async with RegistryClient(options) as client``."""

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        self.stats = ClientStats()
        self._overall = asyncio.Semaphore(self.options.concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._pings: dict[str, asyncio.Task[Challenge]] = {}
        self._tokens: dict[tuple[str, ...], asyncio.Task[Token]] = {}
        self._logins_checked: dict[tuple[str, str], asyncio.Task[bool]] = {}
        self._clients: dict[bool, httpx.AsyncClient] = {}

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def cancel_pending(self) -> None:
        """Stop shared work still running (pings, tokens) when the run's deadline has passed."""
        pending = [
            task
            for table in (self._pings, self._tokens, self._logins_checked)
            for task in table.values()
            if not task.done()
        ]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    # -- public -----------------------------------------------------------

    async def check(self, target: Target, login: Login) -> Outcome:
        """Can ``login`` pull ``target``? Always an outcome, never an exception (but cancellation)."""
        mark = _FOR_REGISTRY.set(target.registry)
        try:
            return await self._checked(target, login)
        finally:
            _FOR_REGISTRY.reset(mark)

    async def _checked(self, target: Target, login: Login) -> Outcome:
        try:
            outcome = await self._check(target, login)
        except _Failure as failure:
            outcome = failure.outcome
        except Exception as error:  # a bug an answer reaches: this image's verdict, not the run
            if os.environ.get("PULLGUARD_DEBUG"):
                traceback.print_exception(error)
            outcome = Outcome(
                OutcomeKind.REGISTRY_ERROR,
                f"internal error ({type(error).__name__}) on this registry's answer; set PULLGUARD_DEBUG=1 "
                "for the traceback and report it",
            )
        return _refine_expired(outcome, login)

    async def check_login(self, registry: str, login: Login) -> Outcome:
        """Does ``registry`` accept ``login`` at all? As ``docker login`` asks: for a Bearer
        challenge a token without a repository scope from the realm, then ``GET /v2/`` with it;
        for Basic, ``GET /v2/`` with the credentials. Always an outcome, never an exception."""
        mark = _FOR_REGISTRY.set(registry)
        try:
            return await self._login_checked(registry, login)
        finally:
            _FOR_REGISTRY.reset(mark)

    async def _login_checked(self, registry: str, login: Login) -> Outcome:
        try:
            base = self._base(registry)
            challenge = await self._challenge(base)
            if challenge.scheme == "none":
                return Outcome(OutcomeKind.OK, "the registry is open: it asks for no credentials")
            if challenge.scheme == "bearer":
                realm, service = challenge.params.get("realm", ""), challenge.params.get("service", "")
                token = await self._fetch_token(base, realm, service, login, "")
                header = f"Bearer {token.value}"
            else:
                header = _basic(login)
            response = await self._request(
                "GET", f"{base}/v2/", headers={"Authorization": header}, insecure=self._insecure(registry)
            )
            if response.status == 200:
                detail = f"the registry accepts the credentials ({challenge.scheme})"
                outcome = Outcome(OutcomeKind.OK, detail)
            elif response.status in (401, 403):
                outcome = Outcome(
                    OutcomeKind.UNAUTHORIZED,
                    f"HTTP {response.status} to GET /v2/: the registry refuses the credentials",
                    None,
                    response.status,
                )
            else:
                outcome = Outcome(
                    OutcomeKind.REGISTRY_ERROR, f"HTTP {response.status} to GET /v2/", None, response.status
                )
        except _Failure as failure:
            outcome = failure.outcome
        return _refine_expired(outcome, login)

    async def ping(self, registry: str) -> Challenge:
        """The registry's challenge (raises RegistryError-free _Failure internally; see ``check``)."""
        mark = _FOR_REGISTRY.set(registry)
        try:
            return await self._challenge(self._base(registry))
        finally:
            _FOR_REGISTRY.reset(mark)

    # -- the flow ---------------------------------------------------------

    async def _check(self, target: Target, login: Login) -> Outcome:
        base = self._base(target.registry)
        challenge = await self._challenge(base)
        headers = {"Accept": MANIFEST_ACCEPT}
        if challenge.scheme == "bearer":
            token = await self._bearer(base, challenge, login, f"repository:{target.path}:pull")
            headers["Authorization"] = f"Bearer {token.value}"
        elif challenge.scheme == "basic" and not login.anonymous and login.credential is not None:
            headers["Authorization"] = _basic(login)
        url = f"{base}/v2/{target.path}/manifests/{target.reference}"
        self.stats.manifest_requests += 1
        response = await self._request("HEAD", url, headers=headers, insecure=self._insecure(target.registry))
        return await self._classify(response, base, target, challenge, login, headers)

    async def _classify(
        self,
        response: _Response,
        base: str,
        target: Target,
        challenge: Challenge,
        login: Login,
        headers: dict[str, str],
    ) -> Outcome:
        status, rate_limit = response.status, _rate_limit(response.headers)
        if status == 200:
            digest = response.headers.get("docker-content-digest")
            media = response.headers.get("content-type", "").split(";")[0] or "unknown media type"
            detail = f"HTTP 200, {media}" + ("" if digest else ", no digest header")
            return Outcome(OutcomeKind.OK, detail, digest, status, rate_limit)
        if status == 404:
            return Outcome(
                OutcomeKind.NOT_FOUND, await self._what_is_missing(base, target, headers), None, status
            )
        if status == 429:
            return Outcome(OutcomeKind.RATE_LIMITED, f"HTTP 429 ({rate_limit})", None, status, rate_limit)
        if status in (401, 403):
            who = "anonymous request" if login.anonymous else "credentials"
            if login.anonymous:
                kind = OutcomeKind.UNAUTHORIZED if status == 401 else OutcomeKind.DENIED
                return Outcome(
                    kind,
                    f"HTTP {status} to an anonymous request: the registry requires credentials",
                    None,
                    status,
                )
            if challenge.scheme == "bearer":
                detail = f"HTTP {status}: the token server accepted the {who} but the token gives no pull access to {target.path}"
                return Outcome(OutcomeKind.DENIED, detail, None, status)
            if await self._login_accepted(base, target.registry, login):
                detail = f"HTTP {status}: the registry accepts the {who} (GET /v2/ → 200) but not for {target.path}"
                return Outcome(OutcomeKind.DENIED, detail, None, status)
            return Outcome(
                OutcomeKind.UNAUTHORIZED, f"HTTP {status}: the registry refuses the {who}", None, status
            )
        if status >= 500:
            return Outcome(
                OutcomeKind.REGISTRY_ERROR, f"HTTP {status} from the registry (after retries)", None, status
            )
        return Outcome(
            OutcomeKind.REGISTRY_ERROR, f"unexpected HTTP {status} to the manifest request", None, status
        )

    async def _what_is_missing(self, base: str, target: Target, headers: dict[str, str]) -> str:
        """Repository or tag? ``tags/list`` answers without downloading a manifest."""
        what = "digest" if target.reference.startswith("sha256:") else "tag"
        try:
            response = await self._request(
                "GET",
                f"{base}/v2/{target.path}/tags/list?n=1",
                headers={k: v for k, v in headers.items() if k == "Authorization"},
                insecure=self._insecure(target.registry),
                body_limit=_SMALL_BODY_LIMIT,
            )
        except _Failure:
            return f"HTTP 404: repository {target.path} or {what} {target.reference} not found"
        if response.status == 200:
            return f"HTTP 404: {what} {target.reference} not found in repository {target.path}"
        if response.status == 404:
            return f"HTTP 404: repository {target.path} not found"
        return f"HTTP 404: repository {target.path} or {what} {target.reference} not found"

    async def _challenge(self, base: str) -> Challenge:
        async def ping() -> Challenge:
            self.stats.pings += 1
            response = await self._request("GET", f"{base}/v2/", insecure=self._insecure_base(base))
            if response.status == 200:
                return Challenge("none")
            if response.status == 401:
                challenge = parse_challenge(response.headers.get_list("www-authenticate"))
                if challenge is None:
                    raise _Failure(
                        Outcome(
                            OutcomeKind.REGISTRY_ERROR,
                            "HTTP 401 to GET /v2/ without a usable WWW-Authenticate challenge",
                            None,
                            401,
                        )
                    )
                return challenge
            if response.status == 429:
                limit = _rate_limit(response.headers)
                raise _Failure(
                    Outcome(OutcomeKind.RATE_LIMITED, f"HTTP 429 to GET /v2/ ({limit})", None, 429, limit)
                )
            if response.status == 404:
                raise _Failure(
                    Outcome(
                        OutcomeKind.REGISTRY_ERROR,
                        "HTTP 404 to GET /v2/: not a registry (API v2) endpoint",
                        None,
                        404,
                    )
                )
            raise _Failure(
                Outcome(
                    OutcomeKind.REGISTRY_ERROR, f"HTTP {response.status} to GET /v2/", None, response.status
                )
            )

        return await _single_flight(self._pings, base, ping)

    async def _bearer(self, base: str, challenge: Challenge, login: Login, scope: str) -> Token:
        realm = challenge.params.get("realm", "")
        service = challenge.params.get("service", "")
        key = (base, realm, service, login.fingerprint, scope)
        cached = self._tokens.get(key)
        if (
            cached is not None
            and cached.done()
            and not cached.cancelled()
            and cached.exception() is None
            and not cached.result().valid()
        ):
            del self._tokens[key]

        async def fetch() -> Token:
            return await self._fetch_token(base, realm, service, login, scope)

        return await _single_flight(self._tokens, key, fetch)

    async def _fetch_token(self, base: str, realm: str, service: str, login: Login, scope: str) -> Token:
        url = parse_realm(realm)
        if url is None:
            raise _Failure(
                Outcome(OutcomeKind.REGISTRY_ERROR, "the Bearer challenge names no usable token realm")
            )
        if url.scheme == "http" and not base.startswith("http://"):
            # Credentials go to the realm: never over plain HTTP for an HTTPS registry.
            raise _Failure(
                Outcome(
                    OutcomeKind.REGISTRY_ERROR,
                    f"the token realm {url.host} uses plain HTTP; credentials not sent",
                )
            )
        self.stats.token_requests += 1
        insecure = self._insecure_base(base)
        if login.identity_token is not None:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": login.identity_token.value,
                "service": service,
                "scope": scope,
                "client_id": "pullguard",
            }
            response = await self._request(
                "POST",
                str(url),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                content=urlencode(form).encode(),
                insecure=insecure,
                body_limit=_TOKEN_BODY_LIMIT,
            )
        else:
            query = {"scope": scope, **({"service": service} if service else {})}
            headers = {} if login.anonymous or login.credential is None else {"Authorization": _basic(login)}
            joined = "&" if "?" in realm else "?"
            response = await self._request(
                "GET",
                realm + joined + urlencode(query),
                headers=headers,
                insecure=insecure,
                body_limit=_TOKEN_BODY_LIMIT,
            )
        if response.status in (401, 403):
            who = "anonymous request" if login.anonymous else "credentials"
            kind = (
                OutcomeKind.UNAUTHORIZED
                if response.status == 401 or not login.anonymous
                else OutcomeKind.DENIED
            )
            raise _Failure(
                Outcome(
                    kind,
                    f"the token server ({url.host}) refuses the {who}: HTTP {response.status}",
                    None,
                    response.status,
                )
            )
        if response.status == 429:
            limit = _rate_limit(response.headers)
            raise _Failure(
                Outcome(
                    OutcomeKind.RATE_LIMITED, f"HTTP 429 from the token server ({limit})", None, 429, limit
                )
            )
        if response.status != 200:
            raise _Failure(
                Outcome(
                    OutcomeKind.REGISTRY_ERROR,
                    f"HTTP {response.status} from the token server ({url.host})",
                    None,
                    response.status,
                )
            )
        return _parse_token(response.body, url.host)

    async def _login_accepted(self, base: str, registry: str, login: Login) -> bool:
        """Basic auth: does ``GET /v2/`` accept this login? Tells bad credentials from no access."""

        async def probe() -> bool:
            response = await self._request(
                "GET",
                f"{base}/v2/",
                headers={"Authorization": _basic(login)},
                insecure=self._insecure(registry),
            )
            return response.status == 200

        try:
            return await _single_flight(self._logins_checked, (base, login.fingerprint), probe)
        except _Failure:
            return False

    # -- HTTP -------------------------------------------------------------

    def _base(self, registry: str) -> str:
        scheme = "http" if registry in self.options.plain_http else "https"
        endpoint = DOCKER_HUB_ENDPOINT if registry == DOCKER_HUB else registry
        return f"{scheme}://{endpoint}"

    def _insecure(self, registry: str) -> bool:
        return registry in self.options.skip_tls_verify

    def _insecure_base(self, base: str) -> bool:
        host = base.split("://", 1)[1]
        return host in self.options.skip_tls_verify or (
            host == DOCKER_HUB_ENDPOINT and DOCKER_HUB in self.options.skip_tls_verify
        )

    def _client(self, insecure: bool) -> httpx.AsyncClient:
        client = self._clients.get(insecure)
        if client is None:
            options = self.options
            verify: ssl.SSLContext | bool
            if insecure:
                verify = False
            elif options.ca_file:
                verify = httpx.create_ssl_context()
                try:
                    verify.load_verify_locations(cafile=options.ca_file)
                except (OSError, ssl.SSLError) as error:
                    from pullguard.errors import RegistryError

                    raise RegistryError(
                        f"--ca-file {options.ca_file}: cannot load certificates ({error})"
                    ) from None
            else:
                verify = True
            limits = httpx.Limits(
                max_connections=options.concurrency, max_keepalive_connections=options.concurrency
            )
            routing: dict[str, Any] = {}
            if options.connect_to:
                tls = verify

                def make_transport() -> httpx.AsyncHTTPTransport:
                    return httpx.AsyncHTTPTransport(verify=tls, limits=limits, trust_env=True)

                transport = _ConnectToTransport(_routes(options.connect_to), make_transport)
                # Mounted per host, so an HTTPS_PROXY mount cannot take the rerouted hosts away.
                routing["transport"] = transport
                routing["mounts"] = {
                    f"all://{host}": transport for host, _port, _to, _to_port in options.connect_to
                }
            client = httpx.AsyncClient(
                verify=verify,
                trust_env=True,  # HTTP(S)_PROXY, NO_PROXY, SSL_CERT_FILE
                timeout=httpx.Timeout(
                    options.request_timeout, connect=options.connect_timeout, pool=options.request_timeout
                ),
                limits=limits,
                follow_redirects=True,
                max_redirects=_MAX_REDIRECTS,
                headers={"User-Agent": f"pullguard/{__version__}"},
                **routing,
            )
            self._clients[insecure] = client
        return client

    def _semaphore(self, host: str) -> asyncio.Semaphore:
        semaphore = self._per_host.get(host)
        if semaphore is None:
            semaphore = self._per_host[host] = asyncio.Semaphore(self.options.per_registry)
        return semaphore

    async def _request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        insecure: bool = False,
        body_limit: int = 0,
    ) -> _Response:
        client = self._client(insecure)
        try:
            host = httpx.URL(url).netloc.decode("ascii", "replace")
        except (httpx.InvalidURL, UnicodeError):
            raise _Failure(Outcome(OutcomeKind.REGISTRY_ERROR, "the registry named an invalid URL")) from None
        attempt = 0
        while True:
            async with self._overall, self._semaphore(host):
                self.stats.requests += 1
                registry = _FOR_REGISTRY.get() or host
                try:
                    response = await self._send_once(
                        client, method, url, headers or {}, content, host, body_limit
                    )
                except _Failure:
                    self.stats.responses[(registry, "error")] += 1
                    raise
                self.stats.responses[(registry, str(response.status))] += 1
            delay = self._retry_delay(response, attempt)
            if delay is None:
                return response
            attempt += 1
            self.stats.retries += 1
            await asyncio.sleep(delay)

    async def _send_once(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        host: str,
        body_limit: int,
    ) -> _Response:
        timeout = self.options.request_timeout
        try:
            async with asyncio.timeout(timeout):
                request = client.build_request(method, url, headers=headers, content=content)
                response = await self._send_following(client, request, credential_body=content is not None)
                try:
                    body = await _read_limited(response, body_limit, host)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise _Failure(
                Outcome(
                    OutcomeKind.UNREACHABLE,
                    f"{self._label(url, host)} did not answer within {timeout:g}s (request deadline)",
                )
            ) from None
        except httpx.HTTPError as error:
            raise _Failure(transport_outcome(self._label(url, host), error, self.options)) from None
        except (httpx.InvalidURL, UnicodeError, OverflowError):  # e.g. a redirect to port 99999
            raise _Failure(
                Outcome(OutcomeKind.REGISTRY_ERROR, f"{host}: the answer leads to an invalid URL")
            ) from None
        return _Response(response.status_code, response.headers, body)

    async def _send_following(
        self, client: httpx.AsyncClient, request: httpx.Request, *, credential_body: bool
    ) -> httpx.Response:
        """Send, following redirects. httpx drops Authorization on a redirect to another origin,
        but a 307/308 re-sends the body: a request whose body is a credential (an identity token)
        follows a redirect only within its own origin (scheme, host, port), never elsewhere or
        down to plain HTTP (RFC 9110 15.4.8; CWE-200)."""
        if not credential_body:
            return await client.send(request, stream=True)
        origin = (request.url.scheme, request.url.host, request.url.port)
        for _ in range(_MAX_REDIRECTS + 1):
            response = await client.send(request, stream=True, follow_redirects=False)
            following = response.next_request
            if following is None:
                return response
            await response.aclose()
            if (following.url.scheme, following.url.host, following.url.port) != origin:
                raise _Failure(
                    Outcome(
                        OutcomeKind.REGISTRY_ERROR,
                        f"the token server ({request.url.host}) redirects to another origin "
                        f"({following.url.scheme}://{following.url.host}): the identity token is not sent there",
                    )
                )
            request = following
        raise httpx.TooManyRedirects("redirects", request=request)

    def _label(self, url: str, host: str) -> str:
        """The host as named in messages, with the --connect-to target when the request was rerouted."""
        if not self.options.connect_to:
            return host
        parsed = httpx.URL(url)
        target = _route(_routes(self.options.connect_to), parsed.scheme, parsed.host, parsed.port)
        return host if target is None else f"{host} (connected to {_netloc(*target)})"

    def _retry_delay(self, response: _Response, attempt: int) -> float | None:
        if response.status not in _RETRY_STATUSES or attempt >= self.options.retries:
            return None
        if response.status == 429:
            after = _retry_after(response.headers.get("retry-after"))
            if after is None:
                return min(1.0 * 2.0**attempt, self.options.max_retry_after)
            return after if after <= self.options.max_retry_after else None
        return min(0.25 * 2.0**attempt, self.options.max_retry_after)


# ---------------------------------------------------------------------------
# --connect-to


_DEFAULT_PORTS = {"https": 443, "http": 80}
_CONNECT_TO = re.compile(r"^(\[[^\]]+\]|[^:\[\]]+)(?::(\d*))?:(\[[^\]]+\]|[^:\[\]]+):(\d+)$")


def parse_connect_to(value: str) -> tuple[str, int | None, str, int]:
    """``HOST[:PORT]:CONNECT_HOST:CONNECT_PORT`` (curl's syntax; IPv6 in brackets) -> a ClientOptions entry.

    HOST without PORT (or with an empty one) means the scheme's default port.
    """
    match = _CONNECT_TO.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not HOST[:PORT]:CONNECT_HOST:CONNECT_PORT")
    host, port, to_host, to_port = match.groups()
    numbers = [int(p) for p in (port, to_port) if p]
    if any(not 0 < n < 65536 for n in numbers):
        raise ValueError(f"{value!r}: a port must be between 1 and 65535")
    return host.strip("[]").lower(), int(port) if port else None, to_host.strip("[]"), int(to_port)


def _routes(
    entries: tuple[tuple[str, int | None, str, int], ...],
) -> dict[tuple[str, int | None], tuple[str, int]]:
    routes: dict[tuple[str, int | None], tuple[str, int]] = {}
    for host, port, to_host, to_port in entries:
        routes.setdefault((host.lower(), port), (to_host, to_port))  # the first one given wins, as in curl
    return routes


def _route(
    routes: dict[tuple[str, int | None], tuple[str, int]], scheme: str, host: str, port: int | None
) -> tuple[str, int] | None:
    default = _DEFAULT_PORTS.get(scheme)
    effective = port if port is not None else default
    host = host.lower()
    found = routes.get((host, effective))
    if found is None and effective == default:
        found = routes.get((host, None))
    return found


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _ConnectToTransport(httpx.AsyncBaseTransport):
    """Connects rerouted requests to their target; the URL's host stays the Host header, SNI and TLS name.

    Each original (scheme, host, port) gets its own connection pool: a connection whose
    certificate was checked for one name is never reused for another name routed to
    the same address.
    """

    def __init__(
        self,
        routes: dict[tuple[str, int | None], tuple[str, int]],
        make: Callable[[], httpx.AsyncHTTPTransport],
    ) -> None:
        self._routes = routes
        self._make = make
        self._direct = make()
        self._pools: dict[tuple[str, str, int | None], httpx.AsyncHTTPTransport] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        target = _route(self._routes, url.scheme, url.host, url.port)
        if target is None:
            return await self._direct.handle_async_request(request)
        key = (url.scheme, url.host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = self._make()
        headers = httpx.Headers(request.headers)
        headers["Host"] = url.netloc.decode("ascii")
        rerouted = httpx.Request(
            request.method,
            url.copy_with(host=target[0], port=target[1]),
            headers=headers,
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": url.host},
        )
        return await pool.handle_async_request(rerouted)

    async def aclose(self) -> None:
        if self._closed:  # mounted once per rerouted host, so closed once per mount
            return
        self._closed = True
        for transport in (self._direct, *self._pools.values()):
            await transport.aclose()


# ---------------------------------------------------------------------------
# helpers (pure)


async def _single_flight(table: dict[Any, asyncio.Task[T]], key: Any, make: Callable[[], Awaitable[T]]) -> T:
    """Run ``make`` once per key; every caller gets its result or its failure."""
    task = table.get(key)
    if task is None or (task.done() and task.cancelled()):

        async def run() -> T:
            return await make()

        task = table[key] = asyncio.ensure_future(run())
    return await asyncio.shield(task)


async def _read_limited(response: httpx.Response, limit: int, host: str) -> bytes:
    if limit <= 0:
        return b""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _Failure(
                Outcome(OutcomeKind.REGISTRY_ERROR, f"{host} sent an answer larger than {limit} bytes")
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _basic(login: Login) -> str:
    assert login.credential is not None
    pair = f"{login.credential.username}:{login.credential.password}".encode("utf-8", "surrogateescape")
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _parse_token(body: bytes, host: str) -> Token:
    try:
        document = json.loads(body)
    except ValueError:
        raise _Failure(
            Outcome(OutcomeKind.REGISTRY_ERROR, f"the token server ({host}) sent no valid JSON")
        ) from None
    if not isinstance(document, dict):
        raise _Failure(Outcome(OutcomeKind.REGISTRY_ERROR, f"the token server ({host}) sent no JSON object"))
    value = document.get("token") or document.get("access_token")
    if not isinstance(value, str) or not value:
        raise _Failure(Outcome(OutcomeKind.REGISTRY_ERROR, f"the token server ({host}) sent no token"))
    lifetime = document.get("expires_in")
    seconds = lifetime if isinstance(lifetime, int) and lifetime > 0 else _DEFAULT_TOKEN_LIFETIME
    return Token(value, time.monotonic() + seconds)


_CHALLENGE_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_realm(realm: str) -> httpx.URL | None:
    """A Bearer challenge's realm as an absolute http(s) URL with a host and a valid port, or None.

    The realm is the registry's text: anything (`https://xn--/t`, `https://[::1/t`, port 99999)."""
    if not realm:
        return None
    try:
        url = httpx.URL(realm)
        scheme, host, port = url.scheme, url.host, url.port  # host IDNA-decodes: raises on a bad A-label
        url.netloc.decode("ascii")
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return None
    if scheme not in ("https", "http") or not host or (port is not None and not 0 < port < 65536):
        return None
    return url


def parse_challenge(values: list[str]) -> Challenge | None:
    """The first Bearer or Basic challenge of the WWW-Authenticate headers (Bearer preferred)."""
    found: list[Challenge] = []
    for value in values:
        scheme, _, rest = value.strip().partition(" ")
        scheme = scheme.lower()
        if scheme not in ("bearer", "basic"):
            continue
        params: dict[str, str] = {}
        for match in _CHALLENGE_PARAM.finditer(rest):
            quoted, plain = match.group(2), match.group(3)
            params[match.group(1).lower()] = (
                re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (plain or "")
            )
        found.append(Challenge(scheme, params))
    for challenge in found:
        if challenge.scheme == "bearer" and challenge.params.get("realm"):
            return challenge
    return next((c for c in found if c.scheme == "basic"), None)


def _rate_limit(headers: httpx.Headers) -> RateLimit | None:
    limit, remaining = headers.get("ratelimit-limit"), headers.get("ratelimit-remaining")
    reset, after = headers.get("ratelimit-reset"), headers.get("retry-after")
    if not any((limit, remaining, reset, after)):
        return None
    return RateLimit(limit, remaining, reset, after)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # `²` is a digit to str.isdigit, not to float
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):  # a year of 25 digits: a registry's text
        return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_outcome(host: str, error: httpx.HTTPError, options: ClientOptions) -> Outcome:
    """Name the transport problem: certificate, DNS, refused, timeout, protocol. Never the URL's secrets."""
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            problem = cause.verify_message or cause.reason or "certificate verification failed"
            return Outcome(OutcomeKind.TLS_ERROR, f"certificate of {host} not accepted: {problem}")
        if isinstance(cause, ssl.SSLError):
            reason = (cause.reason or type(cause).__name__).replace("_", " ").lower()
            return Outcome(OutcomeKind.TLS_ERROR, f"TLS handshake with {host} failed: {reason}")
        if isinstance(cause, socket.gaierror):
            return Outcome(OutcomeKind.UNREACHABLE, f"{host}: the name does not resolve ({cause.strerror})")
        if isinstance(cause, ConnectionRefusedError):
            return Outcome(OutcomeKind.UNREACHABLE, f"{host}: connection refused")
    if isinstance(error, httpx.ConnectTimeout):
        return Outcome(OutcomeKind.UNREACHABLE, f"{host}: no connection within {options.connect_timeout:g}s")
    if isinstance(error, httpx.TimeoutException):
        return Outcome(OutcomeKind.UNREACHABLE, f"{host} did not answer within {options.request_timeout:g}s")
    if isinstance(error, httpx.TooManyRedirects):
        return Outcome(
            OutcomeKind.REGISTRY_ERROR, f"{host}: more than {_MAX_REDIRECTS} redirects (a redirect loop?)"
        )
    if isinstance(error, httpx.ProxyError):
        return Outcome(OutcomeKind.UNREACHABLE, f"{host}: the proxy refused or failed the connection")
    if isinstance(error, httpx.ProtocolError | httpx.DecodingError):
        return Outcome(
            OutcomeKind.REGISTRY_ERROR, f"{host} sent a malformed HTTP answer ({type(error).__name__})"
        )
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Outcome(OutcomeKind.REGISTRY_ERROR, f"{host}: unsupported or invalid URL")
    return Outcome(OutcomeKind.UNREACHABLE, f"{host}: cannot connect ({type(error).__name__})")


def _refine_expired(outcome: Outcome, login: Login) -> Outcome:
    """A refused login whose token-shaped password says it has expired: call it expired."""
    if outcome.kind not in (OutcomeKind.UNAUTHORIZED, OutcomeKind.DENIED) or login.credential is None:
        return outcome
    expiry = credential_expiry(login.credential)
    if expiry is None or expiry > time.time():
        return outcome
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expiry))
    return Outcome(
        OutcomeKind.EXPIRED, f"{outcome.detail}; the credential expired at {when}", None, outcome.status
    )
