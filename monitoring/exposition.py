"""Who may scrape /metrics.

The embedded default (development or test, on one machine) leaves /metrics open so that a local
Prometheus scrapes it without set-up. Outside it (GOVOPS_ENVIRONMENT=production) a scrape needs
the bearer token GOVOPS_METRICS_TOKEN; with no token configured the endpoint refuses every scrape
rather than publish the platform's state. A configured token is always required.
"""

from __future__ import annotations

import hmac

from govops.errors import ServiceUnavailable, Unauthenticated
from govops.settings import Settings


def check_scrape(settings: Settings, authorization: str) -> None:
    token = settings.metrics_token
    if token is None:
        if settings.environment == "production":
            raise ServiceUnavailable(
                "/metrics is closed: no scrape token is configured",
                hint="set GOVOPS_METRICS_TOKEN and give Prometheus the same bearer token",
            )
        return
    offered = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    if not offered or not hmac.compare_digest(offered.encode(), token.get_secret_value().encode()):
        raise Unauthenticated("metrics need the scrape bearer token", hint="set bearer_token in the scrape config")
