"""A query parameter an API route does not take is a 422 naming it.

FastAPI ignores query parameters no route declares, so a typo in a filter was silently no filter:
`GET /api/v1/cameras?stauts=offline` answered every camera. The check runs with the route's role
check (gateway/auth.py `Allow`), after it: an anonymous caller still gets 401 and a caller
without the role 403, whatever the query says.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant

from govops.errors import ValidationFailed, did_you_mean


def declared(dependant: Dependant) -> frozenset[str]:
    """The query parameters a route (or a dependency) takes, its dependencies' included."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= declared(sub)
    return frozenset(names)


_ALLOWED: dict[int, frozenset[str] | None] = {}  # by route (routes compare by value: no hash)


def _allowed(route: object) -> frozenset[str] | None:
    if id(route) not in _ALLOWED:
        dependant = getattr(route, "dependant", None)
        _ALLOWED[id(route)] = declared(dependant) if isinstance(dependant, Dependant) else None
    return _ALLOWED[id(route)]


def refuse_unknown(request: Request) -> None:
    """Raise ValidationFailed when an API request names a query parameter its route does not take."""
    if not request.url.path.startswith("/api/") or not request.query_params:
        return
    allowed = _allowed(request.scope.get("route"))
    if allowed is None:
        return
    unknown = sorted(set(request.query_params) - allowed)
    if not unknown:
        return
    takes = f"it takes {', '.join(sorted(allowed))}" if allowed else "it takes none"
    raise ValidationFailed(
        f"unknown query parameter(s): {', '.join(unknown)}", hint=f"{did_you_mean(unknown, allowed)}{takes} (see /docs)"
    )
