"""The maintenance contractor's code (运维单位) in platform tokens: the realm declares it (a user
attribute only admins edit, mapped into the token by the govops-contractor scope), the gateway
takes it only from a verified token of a contractor, and a contractor without it sees no work
orders (deny, never all). Local keys; the real Keycloak is in tests/integration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from gateway.app import create_app
from govops.errors import Unauthenticated
from govops.principal import CONTRACTOR, DEPT_ADMIN
from identity.realm import CONTRACTOR_ATTRIBUTE, CONTRACTOR_CODE_PATTERN, KUBERNETES_CLIENT, build_spec
from identity.tokens import JwksTokenVerifier, contractor_code
from monitoring.workorders import contractors
from monitoring.workorders.models import WorkOrder
from tests.conftest import client_as
from tests.unit.test_identity_tokens import AUDIENCE, ISSUER, Realm, _b64

CAMERA = "31011600001326000001"


@pytest.fixture
def realm() -> Realm:
    return Realm()


@pytest.fixture
def verifier(realm: Realm) -> JwksTokenVerifier:
    return JwksTokenVerifier(issuer=ISSUER, audience=AUDIENCE, fetch_keys=realm.jwks, min_refetch_interval=0.0)


def _contractor_token(realm: Realm, **claims) -> str:
    return realm.token(realm_access={"roles": [CONTRACTOR]}, groups=None, **claims)


def test_the_realm_declares_the_attribute_its_mapper_and_admin_only_edits():
    spec = build_spec(realm="civil-servants", departments=[], crl_url=None, gateway_redirect_uris=[])
    attr = next(a for a in spec.profile_attributes if a["name"] == CONTRACTOR_ATTRIBUTE)
    assert attr["permissions"]["edit"] == ["admin"]  # a contractor cannot name itself another
    assert attr["validations"]["pattern"]["pattern"] == CONTRACTOR_CODE_PATTERN == contractors.CODE.pattern
    scope = next(s for s in spec.client_scopes if s["name"] == "govops-contractor")
    [mapper] = scope["protocolMappers"]
    assert mapper["protocolMapper"] == "oidc-usermodel-attribute-mapper"
    assert mapper["config"]["user.attribute"] == mapper["config"]["claim.name"] == CONTRACTOR_ATTRIBUTE
    assert mapper["config"]["access.token.claim"] == "true"
    platform = [c for c in spec.clients if c["clientId"] != KUBERNETES_CLIENT]
    assert len(platform) == 2  # the gateway and the CLI carry it; kubectl's client and department apps do not
    for client in platform:
        assert "govops-contractor" in client["defaultClientScopes"]
    [kube] = [c for c in spec.clients if c["clientId"] == KUBERNETES_CLIENT]
    assert "govops-contractor" not in kube["defaultClientScopes"]
    assert "govops-contractor" not in spec.default_default_scopes


def test_a_contractor_token_maps_its_code(verifier, realm):
    p = verifier.verify(_contractor_token(realm, contractor="c1"))
    assert p.roles == frozenset({CONTRACTOR}) and p.contractor == "c1"


@pytest.mark.parametrize(
    "claim",
    [None, "", "C1", "c1' OR '1'='1", ["c1"], ["c1", "c2"], 7, {"code": "c1"}, "x" * 60],
    ids=["absent", "empty", "upper-case", "injection", "list", "two", "number", "object", "too long"],
)
def test_an_absent_or_malformed_claim_is_no_code(verifier, realm, claim):
    assert verifier.verify(_contractor_token(realm, contractor=claim)).contractor is None
    assert contractor_code({"contractor": claim}) is None


def test_the_claim_counts_only_for_the_contractor_role(verifier, realm):
    p = verifier.verify(realm.token(contractor="c1"))  # a dept-admin's token with the claim
    assert p.roles == frozenset({DEPT_ADMIN}) and p.contractor is None


def test_a_forged_contractor_claim_is_refused(verifier, realm):
    good = _contractor_token(realm, contractor="c1")
    header, _payload, sig = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = f"{header}.{_b64({**claims, 'contractor': 'c2'})}.{sig}"
    with pytest.raises(Unauthenticated):
        verifier.verify(forged)


def test_through_the_api_own_orders_only_and_none_without_the_claim(district, verifier, realm):
    now = datetime.now(UTC)
    with district.transaction() as s:
        for code in ("c1", "c2"):
            contractors.add_contractor(s, code, f"运维单位 {code}", None, actor="test")
        for i in range(6):
            s.add(
                WorkOrder(
                    camera_id=CAMERA,
                    camera_name="cam",
                    area_code="310116001",
                    contractor_code="c1" if i % 2 else "c2",
                    state="open",
                    fault="offline",
                    verdict="offline",
                    sla_hours=48,
                    opened_at=now,
                    due_at=now + timedelta(hours=48),
                )
            )
    app = create_app(district)
    app.state.token_verifier = verifier
    c = client_as(app, None)

    def orders(token: str) -> list[dict]:
        r = c.get("/api/v1/workorders", headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()["items"]

    mine = orders(_contractor_token(realm, contractor="c1"))
    assert len(mine) == 3 and {o["contractor"] for o in mine} == {"c1"}
    assert orders(_contractor_token(realm)) == []  # no claim: nothing, not everything
    assert orders(_contractor_token(realm, contractor=["c1", "c2"])) == []
    forged = _contractor_token(realm, contractor="c1").split(".")
    forged[1] = _b64({**jwt.decode(".".join(forged), options={"verify_signature": False}), "contractor": "c2"})
    r = c.get("/api/v1/workorders", headers={"authorization": f"Bearer {'.'.join(forged)}"})
    assert r.status_code == 401
