"""Request bodies over PRESTAFLOW_LIMIT_* are answered 413 before being read whole (X-03).

An ASGI middleware in front of every service's routes (``build_app``): a declared ``Content-Length``
over the limit is answered at once, without reading the body; a body sent without one (chunked) is
counted as it arrives and refused as soon as it passes the limit, so a service never holds more
than the limit of one request.
"""

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from servicekit.limits import french_size


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit (FastAPI lets HTTPException through)."""

    def __init__(self, limit: int):
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return (f"Envoi trop volumineux : {french_size(limit)} au plus par envoi (PRESTAFLOW_LIMIT_IMPORT_BYTES "
            "pour un fichier). Vérifiez le fichier choisi.")


def too_large_response(limit: int) -> JSONResponse:
    return JSONResponse({"messages": [too_large_message(limit)]}, status_code=413)


async def body_too_large(_request: Request, exc: BodyTooLarge) -> JSONResponse:
    return JSONResponse({"messages": [exc.detail]}, status_code=413)


class BodyLimit:
    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await too_large_response(self.max_bytes)(scope, receive, send)
            return
        received = 0

        async def counted() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)
