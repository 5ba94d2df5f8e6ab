"""Unified identity (统一身份认证): the civil-servant CA, Keycloak realm as code, X.509 single
sign-on, directory import, department app onboarding and the gateway's token verifier.

Only `identity.keycloak_adapter` talks to Keycloak; everything else talks to the adapter.
"""

from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
