"""Who calls, and may they (SEC-01, SEC-02): OpenID Connect bearer tokens and *profils de droit*.

Every route declares the right it needs with one dependency, on the route itself::

    @router.get("/actions", dependencies=[right("planning", "read")])

``right`` authenticates the caller (the app's :class:`Authenticator`, in ``app.state.auth``),
answers 401 without a valid token and 403 without the right, in French, before the route runs.
Health and metrics are the only routes without a right (``OPEN_PATHS``); a route a person opens
without any account (a personal link sent by mail) declares it with ``public("why")`` instead, and
no token is asked for it. A test enumerates every route of every service to prove it, and lists the
public ones.

Tokens are checked by PyJWT against the provider's JWKS (fetched and cached by ``PyJWKClient``; an
unknown ``kid`` refetches it, at most once per cooldown, so a rotated key is picked up): signature,
issuer, audience, expiry; the algorithm is pinned to asymmetric ones (``none`` and HMAC never, so
a public key can't be used as an HMAC secret).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.routing import APIRoute

from servicekit.errors import NotFound
from servicekit.settings import ServiceSettings
from servicekit.uow import current_actor

log = logging.getLogger("servicekit.auth")

MODULES = ("planning", "import", "affectation", "parcours", "facturation", "notifications",
           "administration", "audit")
Access = Literal["read", "write"]
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
OPEN_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})
LOCAL_ADMINISTRATOR = "administrateur-local"

UNAUTHENTICATED = "Authentification requise : jeton d'accès absent, invalide ou expiré."
FORBIDDEN = "Accès refusé : votre profil ne donne pas le droit « {access} » sur le module « {module} »."
SERVICES_ONLY = "Accès refusé : réservé aux services de Prestaflow."
SERVICE_NOT_ALLOWED = "Accès refusé : le service « {service} » n'a pas le droit {what}."


class Unauthenticated(Exception):
    """401: no token, or a token that isn't valid."""


class Forbidden(Exception):
    """403: authenticated, without the right."""

    def __init__(self, message: str):
        super().__init__(message)
        self.messages = [message]


class RightsUnavailable(Exception):
    """503: the service that knows people's rights (planning) did not answer."""


RIGHTS_UNAVAILABLE = "Droits d'accès momentanément indisponibles : réessayez dans un instant."


class AuthNotConfigured(RuntimeError):
    """A service started alone without OIDC settings and without ``PRESTAFLOW_AUTH=off``."""


@dataclass(frozen=True)
class Principal:
    """The caller: a person (``subject`` from the token) or a service (client credentials)."""

    subject: str
    rights: frozenset[tuple[str, str]] = frozenset()
    antennes: frozenset[str] | None = None  # None: every antenne
    service: str | None = None  # the calling service's name, for client-credentials tokens
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def may(self, module: str, access: str) -> bool:
        """Write implies read."""
        return (module, access) in self.rights or (access == "read" and (module, "write") in self.rights)

    def covers(self, antenne: str | None) -> bool:
        return self.antennes is None or antenne in self.antennes


async def covered(principal: Principal, entries: Callable[[], Awaitable[Iterable[tuple[str, str]]]]) -> set[str] | None:
    """SEC-02 antenne scope: the codes (sites, ressources...) among ``entries()`` — pairs (code,
    antenne) — whose antenne the caller's profiles cover; None when they cover every antenne."""
    if principal.antennes is None:
        return None
    return {code for code, antenne in await entries() if antenne in principal.antennes}


OUT_OF_SCOPE = "Accès refusé : {what} « {code} » relève d'une antenne que votre profil ne couvre pas."
ALL_ANTENNES = "Accès refusé : {action} porte sur toutes les antennes et votre profil n'en couvre que certaines."


@dataclass(frozen=True)
class Scope:
    """SEC-02 antenne scope of one caller over one kind of code (the sites, or the ressources, of the
    antennes their profiles cover; ``codes`` None: every antenne). One way across services: lists keep
    what is covered, reading another antenne's record answers 404 as if it did not exist, changing it
    answers 403 naming the code."""

    codes: frozenset[str] | None
    what: str = "le site"

    def covers(self, *codes: str | None) -> bool:
        """Any of ``codes`` covered (a record of several sites or ressources is seen through any)."""
        return self.codes is None or any(code in self.codes for code in codes)

    def keep(self, rows: Iterable[Any], code: str | Callable[[Any], str | Iterable[str] | None]) -> list[Any]:
        """The rows whose code is covered: a key of each row, or a function of it giving its code or
        its codes (then any of them)."""
        if self.codes is None:
            return list(rows)
        of = (lambda row: row[code]) if isinstance(code, str) else code
        return [row for row in rows if self.covers(*_codes(of(row)))]

    def only(self, asked: Iterable[str]) -> list[str] | None:
        """A search's codes: those asked and covered (none asked: every covered one); None when
        nothing is left, so the search finds nothing."""
        asked = list(asked)
        if self.codes is None:
            return asked
        kept = [code for code in asked if code in self.codes] if asked else sorted(self.codes)
        return kept or None

    def readable(self, *codes: str | None, not_found: str) -> None:
        """404 (``not_found``, as if the record did not exist) unless one of ``codes`` is covered."""
        if not self.covers(*codes):
            raise NotFound([not_found])

    def every_antenne(self, action: str) -> None:
        """403 unless the caller covers every antenne: ``action`` (the night's Chorus Pro run, the
        sending of every due message) acts on all of them at once."""
        if self.codes is not None:
            raise Forbidden(ALL_ANTENNES.format(action=action))

    def changeable(self, *codes: str | None) -> None:
        """403 naming the first code not covered (each must be: a record and the new site it goes to)."""
        for code in codes:
            if not self.covers(code):
                raise Forbidden(OUT_OF_SCOPE.format(what=self.what, code=code or "aucun"))


def _codes(found: str | Iterable[str] | None) -> tuple[str | None, ...]:
    return (found,) if found is None or isinstance(found, str) else tuple(found)


async def scope_of(principal: Principal, entries: Callable[[], Awaitable[Iterable[tuple[str, str]]]],
                   what: str = "le site") -> Scope:
    """The caller's :class:`Scope` over ``entries()``, pairs (code, antenne), read only when needed."""
    codes = await covered(principal, entries)
    return Scope(None if codes is None else frozenset(codes), what)


def scope(entries: Callable[[], Awaitable[Iterable[tuple[str, str]]]], what: str = "le site") -> Any:
    """A route's dependency giving the caller's :class:`Scope`: ``sites: Scope = scope(site_antennes)``."""

    async def caller_scope(request: Request) -> Scope:
        return await scope_of(await current_principal(request), entries, what)

    return Depends(caller_scope)


def every_right() -> frozenset[tuple[str, str]]:
    return frozenset((module, access) for module in MODULES for access in ("read", "write"))


ADMINISTRATOR = Principal(LOCAL_ADMINISTRATOR, every_right(), None)


class Directory(Protocol):
    """Rights of a person, found by the token's subject (the referential's users and profiles)."""

    async def principal(self, subject: str, claims: Mapping[str, Any]) -> Principal: ...


class NoRights:
    """A directory that knows nobody: every authenticated person gets no right (403 everywhere)."""

    async def principal(self, subject: str, claims: Mapping[str, Any]) -> Principal:
        return Principal(subject, claims=claims)


class StaticDirectory:
    """Rights given by a mapping subject → (rights, antennes); tests and small set-ups."""

    def __init__(self, people: Mapping[str, tuple[Iterable[tuple[str, str]], Iterable[str] | None]]):
        self.people = {s: (frozenset(r), None if a is None else frozenset(a)) for s, (r, a) in people.items()}

    async def principal(self, subject: str, claims: Mapping[str, Any]) -> Principal:
        rights, antennes = self.people.get(subject, (frozenset(), frozenset()))
        return Principal(subject, rights, antennes, claims=claims)


class WithAdministrators:
    """The settings' administrators (``PRESTAFLOW_ADMINISTRATORS``: who loads the first referential)
    have every right on every antenne; everyone else is found in ``people``."""

    def __init__(self, administrators: Iterable[str], people: Directory | None = None):
        self.administrators = frozenset(administrators)
        self.people: Directory = people or NoRights()

    async def principal(self, subject: str, claims: Mapping[str, Any]) -> Principal:
        if subject in self.administrators:
            return Principal(subject, every_right(), None, claims=claims)
        return await self.people.principal(subject, claims)


def principal_of(subject: str, access: Mapping[str, Any], claims: Mapping[str, Any]) -> Principal:
    """A person from their access as the referential gives it: ``{"rights": {module: "read"|"write"},
    "antennes": [...] | None}``."""
    return Principal(subject, frozenset(access["rights"].items()),
                     None if access["antennes"] is None else frozenset(access["antennes"]), claims=claims)


class HttpDirectory:
    """People's rights as the referential's owner (planning) serves them (``GET /planning/access/{sub}``),
    asked with the service's own credentials and kept ``ttl`` seconds. ``transport``: in-process."""

    def __init__(self, base_url: str | None, auth: httpx.Auth | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, ttl: float = 60):
        self.base_url = (base_url or "http://planning").rstrip("/")
        self.auth, self.transport, self.ttl = auth, transport, ttl
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def principal(self, subject: str, claims: Mapping[str, Any]) -> Principal:
        cached = self._cache.get(subject)
        if cached and cached[0] > time.monotonic():
            return replace(cached[1], claims=claims)
        try:
            async with httpx.AsyncClient(base_url=self.base_url, transport=self.transport, auth=self.auth,
                                         timeout=10) as client:
                response = await client.get(f"/planning/access/{quote(subject, safe='')}")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("rights lookup failed", extra={"reason": type(exc).__name__})
            raise RightsUnavailable() from exc
        principal = principal_of(subject, response.json(), claims)
        self._cache[subject] = (time.monotonic() + self.ttl, principal)
        return principal


class Authenticator(Protocol):
    async def authenticate(self, request: Request) -> Principal | None: ...


class LocalAdministrator:
    """The embedded default (no open port) and ``PRESTAFLOW_AUTH=off`` (loopback only): every
    caller is the local administrator, unless the in-process caller names another user
    (``X-Prestaflow-User``, only to act with *fewer* rights, as the demo does)."""

    def __init__(self, directory: Directory | None = None):
        self.directory = directory

    async def authenticate(self, request: Request) -> Principal | None:
        user = request.headers.get("x-prestaflow-user")
        if user and self.directory is not None and user != LOCAL_ADMINISTRATOR:
            return await self.directory.principal(user, {"sub": user})
        return ADMINISTRATOR


class OidcAuthenticator:
    """Bearer tokens of one OpenID Connect provider. ``services``: client id → service name, the
    clients whose client-credentials tokens are services' (SEC-03)."""

    def __init__(self, issuer: str, audience: str, jwks_url: str, directory: Directory | None = None,
                 algorithms: Iterable[str] = ("RS256", "ES256"), services: Mapping[str, str] | None = None,
                 jwks_lifespan: float = 300, jwks_cooldown: float = 30, leeway: float = 30):
        self.algorithms = list(algorithms)
        refused = [a for a in self.algorithms if a not in ALLOWED_ALGORITHMS]
        if refused or not self.algorithms:
            raise AuthNotConfigured(f"algorithmes refusés : {refused or 'aucun'} (asymétriques seulement)")
        self.issuer, self.audience = issuer, audience
        self.jwks = jwt.PyJWKClient(jwks_url, cache_jwk_set=True, lifespan=jwks_lifespan,
                                    cooldown_duration=jwks_cooldown, timeout=10)
        self.directory: Directory = directory or NoRights()
        self.services = dict(services or {})
        self.leeway = leeway

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or ``jwt.PyJWTError``. Blocking (may fetch the JWKS)."""
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in self.algorithms:
            raise jwt.InvalidAlgorithmError(f"alg {header.get('alg')!r} not allowed")
        key = self.jwks.get_signing_key_from_jwt(token)
        if key.algorithm_name not in self.algorithms or key.algorithm_name != header["alg"]:
            raise jwt.InvalidAlgorithmError("the key's algorithm is not the token's")
        return jwt.decode(token, key=key, algorithms=self.algorithms, audience=self.audience,
                          issuer=self.issuer, leeway=self.leeway,
                          options={"require": ["exp", "iat", "iss", "aud", "sub"]})

    async def authenticate(self, request: Request) -> Principal | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            claims = await asyncio.to_thread(self.verify, token.strip())
        except (jwt.PyJWTError, ValueError) as exc:
            # The reason only (never the token): expired, wrong audience, bad signature...
            log.info("token refused", extra={"reason": type(exc).__name__})
            return None
        principal = await self.directory.principal(str(claims["sub"]), claims)
        client = claims.get("azp") or claims.get("client_id")
        if client in self.services:  # a service: opens the services-only routes, the rest as its account may
            return replace(principal, service=self.services[client])
        return principal


def authenticator_from_settings(settings: ServiceSettings, directory: Directory | None = None) -> Authenticator:
    """A service started on its own (``python -m <service>``, ``prestaflow serve``): OIDC, or
    ``PRESTAFLOW_AUTH=off`` explicitly, which binds loopback only and says so; anything else
    refuses to start."""
    if settings.auth == "off":
        if settings.http_host not in ("127.0.0.1", "::1", "localhost"):
            log.warning("PRESTAFLOW_AUTH=off: listening on loopback only", extra={"refused_host": settings.http_host})
        settings.http_host = "127.0.0.1"
        log.warning("PRESTAFLOW_AUTH=off: authentication disabled, every caller is the local administrator; "
                    "listening on 127.0.0.1 only")
        return LocalAdministrator(directory)
    missing = [name for name, value in (("PRESTAFLOW_OIDC_ISSUER", settings.oidc_issuer),
                                        ("PRESTAFLOW_OIDC_AUDIENCE", settings.oidc_audience),
                                        ("PRESTAFLOW_OIDC_JWKS_URL", settings.oidc_jwks_url)) if not value]
    if missing:
        raise AuthNotConfigured(
            f"Authentification non configurée : {', '.join(missing)} manquant(s). Renseignez le fournisseur "
            "OpenID Connect, ou PRESTAFLOW_AUTH=off pour un essai (écoute alors sur 127.0.0.1 seulement).")
    directory = WithAdministrators(settings.administrators, directory)
    return OidcAuthenticator(settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks_url, directory,
                             settings.oidc_algorithms, settings.service_clients,
                             jwks_cooldown=settings.oidc_jwks_cooldown_seconds)


async def current_principal(request: Request) -> Principal:
    """The authenticated caller, or 401. Used through :func:`right`."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    auth: Authenticator | None = getattr(request.app.state, "auth", None)
    principal = None if auth is None else await auth.authenticate(request)
    if principal is None:
        raise Unauthenticated()
    request.state.principal = principal
    return principal


@dataclass(frozen=True)
class Right:
    """What a route needs: ``module`` and ``access``, or ``service`` (only services' tokens; of
    those, only the ``services`` named, when given: what the route is for, ``what``)."""

    module: str
    access: str
    services_only: bool = False
    services: Callable[[], Iterable[str]] | None = field(default=None, compare=False)
    what: str = "d'appeler cette route"

    async def __call__(self, request: Request) -> Principal:
        principal = await current_principal(request)
        if principal.service is None:
            current_actor.set(principal.subject)  # SEC-04: the events this request causes name them
        if self.services_only:
            if principal.service is None and principal is not ADMINISTRATOR:
                raise Forbidden(SERVICES_ONLY)
            if principal.service is not None and self.services is not None \
                    and principal.service not in set(self.services()):
                log.warning("service refused", extra={"service": principal.service, "path": request.url.path})
                raise Forbidden(SERVICE_NOT_ALLOWED.format(service=principal.service, what=self.what))
            return principal
        if not principal.may(self.module, self.access):
            raise Forbidden(FORBIDDEN.format(access=_ACCESS_FR[self.access], module=self.module))
        return principal


_ACCESS_FR = {"read": "lecture", "write": "écriture"}


@dataclass(frozen=True)
class Public:
    """What a public route declares instead of a right: no token is asked (the authentication
    middleware lets it through), so the route proves who may act by itself (a signed, expiring,
    single-use link). ``reason`` says why it is open, for the route enumeration test."""

    reason: str

    async def __call__(self) -> None:
        return None


def public(reason: str) -> Any:
    """The dependency of a route anyone may open: ``dependencies=[public("lien personnel du mail RGPD")]``."""
    if not reason.strip():
        raise ValueError("a public route says why it is public")
    return Depends(Public(reason))


def right(module: str, access: Access) -> Any:
    """The one dependency a route declares: ``dependencies=[right("planning", "write")]``."""
    if module not in MODULES:
        raise ValueError(f"unknown module {module!r}")
    return Depends(Right(module, access))


def services_only(module: str, services: Callable[[], Iterable[str]] | None = None,
                  what: str = "d'appeler cette route") -> Any:
    """A route only services call (SEC-03), e.g. importer's keys; ``services`` (read at each call,
    from the settings): the only services it answers, the others get 403 saying they may not
    ``what`` (French, with its preposition: "de lire les clés..."). The local administrator
    (embedded default, ``PRESTAFLOW_AUTH=off``) is every service."""
    return Depends(Right(module, "read", services_only=True, services=services, what=what))


def api_routes(routes: Iterable[Any]) -> list[Any]:
    """Every API route of an app with its full path, routers included (FastAPI ≥ 0.16x includes
    routers lazily: ``iter_route_contexts`` gives each route as mounted)."""
    from fastapi import routing

    contexts = routing.iter_route_contexts(list(routes)) if hasattr(routing, "iter_route_contexts") else routes
    return [c for c in contexts if isinstance(getattr(c, "original_route", c), APIRoute)]


def declared_right(route: Any) -> Right | Public | None:
    """The right a route declared, or its ``public`` marker, if any (the route enumeration test)."""
    for dependant in route.dependant.dependencies:
        if isinstance(dependant.call, (Right, Public)):
            return dependant.call
    return None


def public_routes(routes: Iterable[Any]) -> list[str]:
    """``METHOD path`` of every API route declared ``public`` (opened without a token)."""
    return sorted(f"{','.join(sorted(r.methods))} {r.path}" for r in api_routes(routes)
                  if isinstance(declared_right(r), Public))


def public_matcher(routes: Iterable[Any]) -> Callable[[str, str], bool]:
    """Whether a request (method, path) is for a route declared ``public``: what the authentication
    middleware, which runs before routing, asks."""
    from starlette.routing import compile_path

    public = [(frozenset(r.methods), compile_path(r.path)[0]) for r in api_routes(routes)
              if isinstance(declared_right(r), Public)]

    def matches(method: str, path: str) -> bool:
        return any(method in methods and pattern.fullmatch(path) for methods, pattern in public)
    return matches


def routes_without_right(routes: Iterable[Any]) -> list[str]:
    """``METHOD path`` of every API route that declares no right, health and metrics aside."""
    return sorted(f"{','.join(sorted(r.methods))} {r.path}" for r in api_routes(routes)
                  if r.path not in OPEN_PATHS and declared_right(r) is None)
