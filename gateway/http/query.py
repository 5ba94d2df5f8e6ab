"""A query parameter an API route does not take is a 422 naming it.

FastAPI ignores query parameters no route declares, so a typo in a filter was silently no filter:
`GET /api/v1/cameras?stauts=offline` answered every camera. The check runs with the route's role
check (gateway/auth.py `Allow`), after it: an anonymous caller still gets 401 and a caller
without the role 403, whatever the query says.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from govops.errors import ValidationFailed, did_you_mean


def declared(dependant: Dependant) -> frozenset[str]:
    """The query parameters a route (or a dependency) takes, its dependencies' included."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= declared(sub)
    return frozenset(names)


_NAMES = "_govops_query_names"  # kept on the route itself: read once, gone with it


def _allowed(route: APIRoute) -> frozenset[str]:
    names: frozenset[str] | None = getattr(route, _NAMES, None)
    if names is None:
        names = declared(route.dependant)
        setattr(route, _NAMES, names)
    return names


def refuse_unknown(request: Request) -> None:
    """Raise ValidationFailed when an API request names a query parameter its route does not take."""
    if not request.url.path.startswith("/api/") or not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _allowed(route)
    unknown = sorted(set(request.query_params) - allowed)
    if not unknown:
        return
    takes = f"it takes {', '.join(sorted(allowed))}" if allowed else "it takes none"
    raise ValidationFailed(
        f"unknown query parameter(s): {', '.join(unknown)}", hint=f"{did_you_mean(unknown, allowed)}{takes} (see /docs)"
    )
