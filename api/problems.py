"""RFC 9457 problem details: every API error is ``application/problem+json`` with ``type, title, status, detail``.

Request validation errors add ``errors``: one ``{"field", "message"}`` per invalid field, the field written as
where it came from (``query.level``, ``body.horizon``, ``path.key``). Unexpected failures answer 500 with a
generic detail and are logged with their traceback (the client never sees internals).
"""
from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:sales-forecast:problem:"
log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: ``type`` (a URI naming the kind of problem), ``title``, ``status``, ``detail``."""
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Raise inside a route to answer with a problem document (``kind`` names its ``type``)."""

    def __init__(self, status: int, detail: str, kind: str | None = None, title: str | None = None,
                 errors: list[dict] | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.kind = int(status), detail, kind
        self.title = title or HTTPStatus(int(status)).phrase
        self.errors, self.headers = errors, headers


def not_found(detail: str) -> Problem:
    return Problem(404, detail, kind="not-found")


def bad_request(detail: str, field: str | None = None) -> Problem:
    """A 422 validation problem for one field (or a 400 when no field applies)."""
    if field is None:
        return Problem(400, detail, kind="bad-request")
    return Problem(422, detail, kind="validation", title="Invalid request",
                   errors=[{"field": field, "message": detail}])


def response(status: int, detail: str | None, kind: str | None = None, title: str | None = None,
             errors: list[dict] | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"type": TYPE_BASE + kind if kind else "about:blank",
            "title": title or HTTPStatus(int(status)).phrase, "status": int(status), "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=int(status), media_type=MEDIA_TYPE, headers=headers)


def _field(loc) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts) if parts else "request"


async def _on_problem(_request: Request, exc: Problem) -> JSONResponse:
    return response(exc.status, exc.detail, exc.kind, exc.title, exc.errors, exc.headers)


async def _on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else None
    return response(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid value")} for e in exc.errors()]
    first = errors[0] if errors else {"field": "request", "message": "invalid request"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return response(422, f"{first['field']}: {first['message']}{more}", "validation", "Invalid request", errors)


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return response(500, "internal error: the server log has the details", "internal")


def install(api: FastAPI) -> None:
    """Answer every error of ``api`` with a problem document."""
    api.add_exception_handler(Problem, _on_problem)
    api.add_exception_handler(StarletteHTTPException, _on_http)
    api.add_exception_handler(RequestValidationError, _on_validation)
    api.add_exception_handler(Exception, _on_error)


def _doc(description: str) -> dict:
    return {"model": ProblemDetails, "description": description,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}


READ_ERRORS = {401: _doc("No or invalid credentials (Bearer token)"), 403: _doc("The role is too small"),
               422: _doc("Invalid request: field-level errors")}
NOT_FOUND = {404: _doc("Unknown key, run or resource")}
CONFLICT = {409: _doc("Conflict with the current state")}
