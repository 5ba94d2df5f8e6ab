"""The OpenAPI document states what every route can answer besides 200: problem details for
401, 403, 404, 409, 413, 422 and 503, and how a caller authenticates (session cookie, bearer)."""

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


def augment(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    schema["security"] = [{"sessionCookie": []}, {"bearerAuth": []}]
    public = {
        (route.path, method.lower())
        for _, route in versioning.api_routes(app)
        if _is_public(route)
        for method in route.methods or ()
    }
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            codes = ["422"] if (path, method) in public else list(ERRORS)
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
