"""The OpenAPI document states what every route can answer besides 200: problem details for
400 (a body that does not parse), 401, 403, 404, 409, 413, 422 and 503, and how a caller
authenticates (session cookie, bearer)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from gateway.auth import SESSION_COOKIE
from gateway.http import versioning
from gateway.http.guard import UNSAFE, _is_public
from govops.errors import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `error` and `message` repeat the code and the detail.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "error", "message"],
    "properties": {
        "type": {"type": "string", "description": "urn:govops:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "hint": {"type": ["string", "null"], "description": "what to do next"},
        "request_id": {"type": ["string", "null"], "description": "also in the X-Request-ID header"},
        "instance": {"type": "string"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
ERRORS = {
    "400": "The body does not parse (not JSON, or not the declared media type)",
    "401": "Not signed in, or the token was refused",
    "403": "Signed in without the role this needs, or a cross-site request",
    "404": "No such resource (or not visible to the caller)",
    "409": "Conflicts with the current state",
    "422": "The request is not valid",
    "503": "A service this needs is not configured or not answering",
}
SECURITY_SCHEMES = {
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "the console's session (one-time login URL or single sign-on)",
    },
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "a Keycloak access token"},
}


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def problems(*codes: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a public route that can still refuse: its problem+json answers, documented
    (a route behind the guard gets every code of ERRORS without asking)."""
    return {code: _problem_response(ERRORS[code]) for code in codes}


def media(*types: str, description: str = "The file") -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that answers a file (CSV, GeoJSON, XML, DER …), not JSON: with
    `response_class=Response`, the only media types documented for 200 are these (with the default
    JSON response class, these come next to application/json)."""

    def schema(media_type: str) -> dict[str, str]:
        return {"type": "object"} if media_type.endswith("json") else {"type": "string"}

    return {200: {"description": description, "content": {t: {"schema": schema(t)} for t in types}}}


def augment(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    schema["security"] = [{"sessionCookie": []}, {"bearerAuth": []}]
    # Public to the session and bearer guard; a route that checks a credential of its own (the
    # Alertmanager webhook's token) says so with `x-own-auth` and documents every problem.
    public = {
        (route.path, method.lower())
        for _, route in versioning.api_routes(app)
        if _is_public(route) and not (route.openapi_extra or {}).get("x-own-auth")
        for method in route.methods or ()
    }
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            codes = ["422"] if (path, method) in public else [c for c in ERRORS if c != "400"]
            if "requestBody" in operation:  # FastAPI answers 400 to a body it cannot parse
                codes.append("400")
            if method.upper() in UNSAFE:
                codes.append("413")
            for code in codes:
                responses[code] = _problem_response(ERRORS.get(code, "The body is over this route's limit"))
            if (path, method) in public:
                operation["security"] = []
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        versioning.ensure(app)
        schema = FastAPI.openapi(app)
        if not schema.get("x-govops-problems"):
            augment(app, schema)
            schema["x-govops-problems"] = True
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
