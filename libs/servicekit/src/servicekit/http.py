"""HTTP apps: a service alone (Kubernetes) or every service in one process (``prestaflow serve``).

Each service's API lives under ``/<service>``, in both cases, so one ingress routes by prefix.
"""

import gc
import logging
import time
from collections.abc import Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError

from servicekit.auth import (OPEN_PATHS, RIGHTS_UNAVAILABLE, UNAUTHENTICATED, Authenticator, Forbidden,
                             LocalAdministrator, RightsUnavailable, Unauthenticated, current_principal,
                             public_matcher)
from servicekit.body_limit import BodyLimit, BodyTooLarge, body_too_large
from servicekit import metrics, tracing
from servicekit.bus import Bus
from servicekit.errors import Conflict, NotFound, RefusedInput, french_validation_messages
from servicekit.limits import limits
from servicekit.runtime import ServiceRuntime, admin_router, event_log_router


log = logging.getLogger("servicekit.http")
_FROZEN: list[bool] = []


# Full collections run once the oldest generation's pending survivors pass a quarter of what the last
# full collection kept; with start-up frozen that is small, so an import, whose rows, staged records
# and events all live until its commit, set one off every 70,000 allocations, each walking every
# survivor so far: 0.4-0.7 s of CPU in a 10,000-row import. A hundred times fewer full collections still
# collect what cycles leave behind; the younger generations keep their defaults.
FULL_COLLECTION_THRESHOLD = 1000


def _freeze_start_up() -> None:
    """What the first start-up built (modules, models, compiled statements) lives as long as the
    process: out of the collector's way, a full collection during a large import costs a third.
    Once per process, after collecting, so that a process starting many apps (tests) freezes no garbage."""
    if not _FROZEN:
        _FROZEN.append(True)
        gc.collect()
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)


def status_of(exc: RefusedInput) -> int:
    """The HTTP status of a domain refusal."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return 422


def _unauthenticated() -> JSONResponse:
    return JSONResponse({"messages": [UNAUTHENTICATED]}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _rights_unavailable() -> JSONResponse:
    return JSONResponse({"messages": [RIGHTS_UNAVAILABLE]}, status_code=503, headers={"Retry-After": "5"})


DATA_REFUSED = ("Valeur refusée par la base de données : un nombre hors limites ou un caractère interdit "
                "(caractère nul).")


def data_exception(exc: BaseException) -> BaseException | None:
    """The database's *data exception* (SQLSTATE class 22: a number out of range, a NUL character in
    a text) behind a driver error, if that is what it is: the request's values, not the service, are
    at fault. PostgreSQL only; SQLite takes such values."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if str(getattr(exc, "sqlstate", "") or "").startswith("22"):
            return exc
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return None


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BodyTooLarge, body_too_large)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        """A value the database refuses as data (out of range, NUL) is a 422; anything else stays a 500."""
        cause = data_exception(exc)
        if cause is None:
            raise exc
        log.warning("data refused by the database", extra={"path": request.url.path, "reason": type(cause).__name__})
        return JSONResponse({"messages": [DATA_REFUSED]}, status_code=422)

    @app.exception_handler(RefusedInput)
    async def refused(_request: Request, exc: RefusedInput) -> JSONResponse:
        return JSONResponse({"messages": exc.messages}, status_code=status_of(exc))

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(_request: Request, _exc: Unauthenticated) -> JSONResponse:
        return _unauthenticated()

    @app.exception_handler(RightsUnavailable)
    async def rights_unavailable(_request: Request, _exc: RightsUnavailable) -> JSONResponse:
        return _rights_unavailable()

    @app.exception_handler(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"messages": exc.messages}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"messages": french_validation_messages(list(exc.errors()), exc.body)},
                            status_code=422)


def build_app(runtimes: Sequence[ServiceRuntime], bus: Bus, title: str, *, run_relays: bool = True,
              auth: Authenticator | None = None) -> FastAPI:
    """``auth``: who the callers are (SEC-01); by default the local administrator, for apps reached
    in-process only (the embedded default, tests). Whatever listens on a port passes
    ``servicekit.auth.authenticator_from_settings``."""
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        for runtime in runtimes:
            runtime.subscribe()
        for runtime in runtimes:
            await runtime.database.migrate()
        await bus.start()
        if run_relays:
            for runtime in runtimes:
                runtime.start_relay()
        _freeze_start_up()
        try:
            yield
        finally:
            await bus.stop()
            for runtime in runtimes:
                await runtime.stop()

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.auth = auth or LocalAdministrator()
    # Innermost, so that the body the routes read is the counted one (a BaseHTTPMiddleware between it
    # and the routes turns its refusal into a 400); a declared length is still refused before reading.
    app.add_middleware(BodyLimit, max_bytes=limits().request_bytes)  # every upload, before it is read

    public: list = []  # the routes declared ``public``, known once every router is included

    @app.middleware("http")
    async def authenticate_first(request: Request, call_next):
        """SEC-01: every request but health, metrics and the routes declared ``public`` is
        authenticated before its body is read; each route's ``right`` then checks what the caller may do."""
        if not public:
            public.append(public_matcher(app.routes))
        if request.url.path not in OPEN_PATHS and not public[0](request.method, request.url.path):
            try:
                await current_principal(request)
            except Unauthenticated:
                return _unauthenticated()
            except RightsUnavailable:
                return _rights_unavailable()
        return await call_next(request)
    install_handlers(app)
    services = {r.name for r in runtimes}

    @app.middleware("http")
    async def time_requests(request: Request, call_next):
        started = time.perf_counter()
        with tracing.serving(request.method, request.headers) as span:
            response = await call_next(request)
            # The route's template, never the raw path (ids would make series without bound).
            template = getattr(request.scope.get("route"), "path", None) or "unmatched"
            service = request.url.path.split("/")[1] if request.url.path.count("/") > 1 else ""
            if service in services and template.startswith("/") and not template.startswith(f"/{service}/"):
                template = f"/{service}{template}"  # the router's own path, under the service's prefix
            span.update_name(f"{request.method} {template}")
            span.set_attribute("http.response.status_code", response.status_code)
        metrics.HTTP_SECONDS.labels(service if service in services else "-", request.method, template,
                                    str(response.status_code)).observe(time.perf_counter() - started)
        return response
    for runtime in runtimes:
        app.include_router(runtime.router, prefix=f"/{runtime.name}")
        app.include_router(admin_router(runtime), prefix=f"/{runtime.name}")
        app.include_router(event_log_router(runtime), prefix=f"/{runtime.name}")

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"])
    async def ready() -> Response:
        checks = {f"{r.name}.database": await r.database.ping() for r in runtimes}
        checks["bus"] = await bus.ping()
        ok = all(checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    @app.get("/metrics", tags=["health"])
    async def prometheus_metrics() -> Response:
        await metrics.refresh(runtimes, bus)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
