"""The isolation matrix: every route the app serves × every role, against a table kept HERE.

The table says who may call each route; it is written from the duties (MLPS three-role
separation, a dept-admin's own department, security staff's own share platform), not read off
the code, so a route whose declared role drifts fails here. Allowed: any answer but 401/403
(and never a 5xx other than a 503 with a hint). Denied: 401 without a session, 403 with one.
Inside 200 lists, the rows are checked too: a department admin's list holds only the
department's cameras, security staff only cameras shared to their platform.

Path parameters are filled with real ids of the sample district, each caller with one it may
see (so a 404 cannot hide a wrong allow). Routes that would start real work (a Pulumi run)
are probed for their denials; their allowed cells are checked against the declared roles.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from govops.principal import (
    AUDITOR,
    CONTRACTOR,
    DEPT_ADMIN,
    LOCAL_AUDITOR,
    LOCAL_SECURITY_ADMIN,
    LOCAL_SYSTEM_ADMIN,
    OPS_ENGINEER,
    SEC_ADMIN,
    SECURITY_STAFF,
    Principal,
)
from tests.conftest import client_as
from tests.unit.test_gateway import _declared, _served

WHO: dict[str, Principal | None] = {
    "ops": LOCAL_SYSTEM_ADMIN,
    "sec": LOCAL_SECURITY_ADMIN,
    "aud": LOCAL_AUDITOR,
    "gaj": Principal("m-gaj", "公安局管理员", frozenset({DEPT_ADMIN}), department="gaj"),
    "cgj": Principal("m-cgj", "城管局管理员", frozenset({DEPT_ADMIN}), department="cgj"),
    "zz": Principal("m-zz", "综治值班员", frozenset({SECURITY_STAFF}), platform="zongzhi"),
    "ga": Principal("m-ga", "公安值班员", frozenset({SECURITY_STAFF}), platform="gongan"),
    "ctr": Principal("m-ctr", "运维单位", frozenset({CONTRACTOR}), contractor="c-tech"),
    "anon": None,
}
ROLE_OF = {"ops": OPS_ENGINEER, "sec": SEC_ADMIN, "aud": AUDITOR, "gaj": DEPT_ADMIN, "cgj": DEPT_ADMIN}
ROLE_OF |= {"zz": SECURITY_STAFF, "ga": SECURITY_STAFF, "ctr": CONTRACTOR}

# -- who may call what ------------------------------------------------------------------------
ALL = frozenset(WHO)
SIGNED = ALL - {"anon"}
OPS, SEC, AUD = frozenset({"ops"}), frozenset({"sec"}), frozenset({"aud"})
DEPT, STAFF = frozenset({"gaj", "cgj"}), frozenset({"zz", "ga"})
CTR = frozenset({"ctr"})
O_D, O_ST, O_S, O_C = OPS | DEPT, OPS | STAFF, OPS | SEC, OPS | CTR
VIEW = OPS | DEPT | STAFF  # the camera viewers: ops everything, the others scoped by the data

TABLE: dict[tuple[str, str], frozenset[str]] = {
    # sign-in, health, public keys
    ("GET", "/healthz"): ALL,
    ("GET", "/readyz"): ALL,
    ("GET", "/metrics"): ALL,
    ("GET", "/login"): ALL,
    ("GET", "/signin"): ALL,
    ("GET", "/login/sso"): ALL,
    ("GET", "/login/callback"): ALL,
    ("GET", "/docs"): ALL,
    ("GET", "/pki/issuing.crl"): ALL,
    ("GET", "/pki/{name}.crt"): ALL,
    ("GET", "/pki/chain.pem"): ALL,
    ("POST", "/logout"): SIGNED,
    ("GET", "/api/v1/whoami"): SIGNED,
    ("GET", "/"): SIGNED,
    # the audit log: the auditor only
    ("GET", "/api/v1/audit"): AUD,
    ("GET", "/api/v1/audit/verify"): AUD,
    ("GET", "/audit"): AUD,
    # CA and realm: the security admin only
    ("GET", "/api/v1/identity/ca"): SEC,
    ("GET", "/api/v1/identity/certificates"): SEC,
    ("POST", "/api/v1/identity/certificates"): SEC,
    ("POST", "/api/v1/identity/certificates/{serial}/revoke"): SEC,
    ("GET", "/api/v1/identity/realm/status"): SEC,
    ("GET", "/api/v1/identity/realm/diff"): SEC,
    ("POST", "/api/v1/identity/realm/apply"): SEC,
    # department apps: a dept-admin requests and collects; ops decide and rotate
    ("GET", "/api/v1/identity/apps"): O_D,
    ("POST", "/api/v1/identity/apps"): O_D,
    ("GET", "/api/v1/identity/apps/{app_id}"): O_D,
    ("POST", "/api/v1/identity/apps/{app_id}/approve"): OPS,
    ("POST", "/api/v1/identity/apps/{app_id}/reject"): OPS,
    ("POST", "/api/v1/identity/apps/{app_id}/secret"): DEPT,
    ("POST", "/api/v1/identity/apps/{app_id}/rotate-secret"): OPS,
    ("GET", "/identity/apps"): O_D,
    ("GET", "/identity"): O_S,
    # status board
    ("GET", "/api/v1/status"): O_S,
    ("GET", "/status"): O_S,
    ("GET", "/api/v1/reports/daily"): OPS,
    ("GET", "/reports/daily"): OPS,
    ("GET", "/api/v1/kpi/history"): O_ST,
    # cloud: ops; a dept-admin sees tenants and asks for quota
    ("GET", "/api/v1/cloud/tenants"): O_D,
    ("GET", "/api/v1/cloud/usage"): O_D,
    ("GET", "/api/v1/cloud/runs"): OPS,
    ("GET", "/api/v1/cloud/runs/{run_id}"): OPS,
    ("POST", "/api/v1/cloud/preview"): OPS,
    ("POST", "/api/v1/cloud/up"): OPS,
    ("POST", "/api/v1/cloud/refresh"): OPS,
    ("POST", "/api/v1/cloud/drift"): OPS,
    ("GET", "/api/v1/cloud/quota-requests"): O_D,
    ("POST", "/api/v1/cloud/quota-requests"): O_D,
    ("GET", "/api/v1/cloud/quota-requests/{request_id}"): O_D,
    ("POST", "/api/v1/cloud/quota-requests/{request_id}/preview"): OPS,
    ("POST", "/api/v1/cloud/quota-requests/{request_id}/approve"): OPS,
    ("POST", "/api/v1/cloud/quota-requests/{request_id}/reject"): OPS,
    ("GET", "/cloud/tenants"): OPS,
    ("GET", "/cloud/runs"): OPS,
    ("GET", "/cloud/runs/{run_id}"): OPS,
    ("GET", "/cloud/quota"): O_D,
    ("POST", "/cloud/quota"): O_D,
    ("POST", "/cloud/quota/{request_id}/preview"): OPS,
    ("POST", "/cloud/quota/{request_id}/approve"): OPS,
    ("POST", "/cloud/quota/{request_id}/reject"): OPS,
    ("GET", "/cluster"): OPS,
    ("GET", "/compliance"): OPS,
    ("GET", "/compliance/print"): OPS,
    # cluster runs (Ansible): ops only
    ("POST", "/api/v1/cluster/runs"): OPS,
    ("GET", "/api/v1/cluster/runs"): OPS,
    ("GET", "/api/v1/cluster/runs/{run_id}"): OPS,
    # alerts: viewers see their own; only ops silence and escalate
    ("POST", "/api/v1/alerts/alertmanager"): ALL,  # its own bearer token, checked in the route
    ("GET", "/api/v1/alerts"): VIEW,
    ("GET", "/api/v1/alerts/silences"): O_ST,
    ("POST", "/api/v1/alerts/silences"): OPS,
    ("DELETE", "/api/v1/alerts/silences/{silence_id}"): OPS,
    ("POST", "/api/v1/alerts/escalate"): OPS,
    ("GET", "/api/v1/alerts/{alert_id}"): VIEW,
    ("POST", "/api/v1/alerts/{alert_id}/claim"): VIEW,
    ("POST", "/api/v1/alerts/{alert_id}/ack"): VIEW,
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): VIEW,
    ("GET", "/alerts"): VIEW,
    ("GET", "/alerts/silences"): O_ST,
    ("POST", "/alerts/silences/{silence_id}/expire"): OPS,
    ("GET", "/alerts/{alert_id}"): VIEW,
    ("POST", "/alerts/{alert_id}/claim"): VIEW,
    ("POST", "/alerts/{alert_id}/ack"): VIEW,
    ("POST", "/alerts/{alert_id}/resolve"): VIEW,
    ("POST", "/alerts/{alert_id}/silence"): OPS,
    # cameras: viewers read, ops edit, ops and security staff operate (PTZ, diagnose)
    ("GET", "/api/v1/cameras"): VIEW,
    ("GET", "/api/v1/cameras/{camera_id}"): VIEW,
    ("GET", "/api/v1/cameras/{camera_id}/snapshot.jpg"): VIEW,
    ("PATCH", "/api/v1/cameras/{camera_id}"): OPS,
    ("POST", "/api/v1/cameras/{camera_id}/ptz/move"): O_ST,
    ("POST", "/api/v1/cameras/{camera_id}/ptz/stop"): O_ST,
    ("GET", "/api/v1/cameras/{camera_id}/ptz/presets"): O_ST,
    ("POST", "/api/v1/cameras/{camera_id}/ptz/presets"): O_ST,
    ("POST", "/api/v1/cameras/{camera_id}/ptz/presets/{token}/goto"): O_ST,
    ("GET", "/api/v1/cameras/{camera_id}/diagnoses"): VIEW,
    ("GET", "/api/v1/cameras/{camera_id}/diagnoses/{record_id}/picture.jpg"): VIEW,
    ("GET", "/api/v1/cameras/{camera_id}/diagnosis/reference.jpg"): VIEW,
    ("GET", "/api/v1/cameras/{camera_id}/diagnosis/baselines/{mode}/reference.jpg"): VIEW,
    ("POST", "/api/v1/cameras/{camera_id}/diagnose"): O_ST,
    ("POST", "/api/v1/cameras/{camera_id}/diagnosis/reference"): OPS,
    ("POST", "/api/v1/cameras/{camera_id}/diagnosis/accept"): OPS,
    ("PUT", "/api/v1/cameras/{camera_id}/diagnosis/thresholds"): OPS,
    # the catalogue: ops change it; viewers read their part
    ("POST", "/api/v1/video/discover"): OPS,
    ("POST", "/api/v1/video/onboard"): OPS,
    ("POST", "/api/v1/video/probe"): OPS,
    ("GET", "/api/v1/video/platforms"): VIEW,
    ("POST", "/api/v1/video/platforms"): OPS,
    ("GET", "/api/v1/video/shares"): O_ST,
    ("POST", "/api/v1/video/shares"): OPS,
    ("POST", "/api/v1/video/shares/{grant_id}/revoke"): OPS,
    ("GET", "/api/v1/video/groups"): VIEW,
    ("POST", "/api/v1/video/groups"): OPS,
    ("DELETE", "/api/v1/video/groups/{group_id}"): OPS,
    ("GET", "/api/v1/video/areas"): VIEW,
    ("POST", "/api/v1/video/areas/import"): OPS,
    ("POST", "/api/v1/video/import"): OPS,
    ("GET", "/api/v1/video/export.csv"): VIEW,
    ("GET", "/api/v1/video/export.geojson"): VIEW,
    ("GET", "/api/v1/video/catalog.xml"): VIEW,
    ("GET", "/api/v1/video/kpi"): VIEW,
    ("GET", "/api/v1/video/faults"): VIEW,
    ("GET", "/api/v1/video/patrol/rounds"): OPS,
    # the video console
    ("GET", "/video/cameras"): VIEW,
    ("GET", "/video/cameras/{camera_id}"): VIEW,
    ("POST", "/video/cameras/{camera_id}/ptz"): O_ST,
    ("GET", "/video/wall"): VIEW,
    ("GET", "/video/kpi"): VIEW,
    ("GET", "/video/faults"): VIEW,
    ("POST", "/video/cameras/{camera_id}/diagnose"): O_ST,
    ("POST", "/video/cameras/{camera_id}/reference"): OPS,
    ("POST", "/video/cameras/{camera_id}/accept"): OPS,
    ("GET", "/video/map"): VIEW,
    ("GET", "/video/map/areas.geojson"): VIEW,
    ("GET", "/video/map/cameras.json"): VIEW,
    ("GET", "/screen"): O_ST,
    # fault work orders: ops run them; a contractor sees and repairs its own; viewers follow theirs
    ("GET", "/api/v1/workorders"): VIEW | CTR,
    ("POST", "/api/v1/workorders/sync"): OPS,
    ("GET", "/api/v1/workorders/contractors"): OPS,
    ("POST", "/api/v1/workorders/contractors"): OPS,
    ("DELETE", "/api/v1/workorders/contractors/{code}"): OPS,
    ("POST", "/api/v1/workorders/contractors/{code}/areas"): OPS,
    ("DELETE", "/api/v1/workorders/areas/{area}"): OPS,
    ("GET", "/api/v1/workorders/report"): O_C,
    ("GET", "/api/v1/workorders/{order_id}"): VIEW | CTR,
    ("POST", "/api/v1/workorders/{order_id}/dispatch"): OPS,
    ("POST", "/api/v1/workorders/{order_id}/repair"): O_C,
    ("GET", "/api/v1/workorders/{order_id}/photo"): VIEW | CTR,
    ("POST", "/api/v1/workorders/{order_id}/verify"): OPS,
    ("POST", "/api/v1/workorders/{order_id}/close"): OPS,
    ("GET", "/workorders"): VIEW | CTR,
    ("GET", "/workorders/report"): O_C,
    ("GET", "/workorders/{order_id}"): VIEW | CTR,
    ("POST", "/workorders/{order_id}/action"): OPS,
    ("POST", "/workorders/{order_id}/repair"): O_C,
}
# The routes the app serves today; more is fine (and must be added to TABLE), fewer means the
# walk lost some.
KNOWN_ROUTES = 144
# Would start real work (a Pulumi run in a thread) when allowed: denials probed, allows read
# off the declared roles.
NOT_CALLED_WHEN_ALLOWED = {
    ("POST", "/api/v1/cloud/preview"),
    ("POST", "/api/v1/cloud/up"),
    ("POST", "/api/v1/cloud/refresh"),
    ("POST", "/api/v1/cloud/drift"),
}
# Public, and 401 by design: the sign-in page (not signed in yet) and the Alertmanager receiver
# (its own bearer token, which the probe does not send).
ANSWERS_401 = {("GET", "/signin"), ("POST", "/api/v1/alerts/alertmanager")}
MISSING = "999999"  # an id that does not exist: an allowed caller gets a 404, never a 401/403


def _routes(app: Any) -> list[tuple[str, str, APIRoute]]:
    found = []
    for served, original in _served(app.routes):
        if isinstance(original, APIRoute):
            for method in sorted(served.methods - {"HEAD"}):
                found.append((method, served.path, served))
    return found


def _visible(app: Any) -> dict[str, set[str]]:
    """Which cameras each caller may see, worked out from ops' view of the data (departments
    and the share grants), not from the code that scopes the queries."""
    ops = client_as(app, WHO["ops"])
    cameras = ops.get("/api/v1/cameras", params={"limit": 500}).json()["items"]
    grants = [g for g in ops.get("/api/v1/video/shares").json()["items"] if g["revoked_at"] is None]
    assert grants and all(g["subject_kind"] == "camera" for g in grants)  # the sample shares cameras only
    seen = {"ops": {c["id"] for c in cameras}}
    for who in DEPT:
        seen[who] = {c["id"] for c in cameras if c["department"] == WHO[who].department}  # type: ignore[union-attr]
    for who in STAFF:
        seen[who] = {g["subject_id"] for g in grants if g["platform"] == WHO[who].platform}  # type: ignore[union-attr]
    assert len(seen["ops"]) == 8 and all(seen[w] for w in DEPT | STAFF)
    assert not seen["gaj"] & seen["cgj"] and seen["zz"] != seen["ga"]
    return seen


def _fill(path: str, who: str, seen: dict[str, set[str]]) -> str:
    camera = sorted(seen.get(who) or seen["ops"])[0]  # one the caller may see
    values = {"camera_id": camera, "name": "issuing", "token": "p1", "serial": "01", "mode": "day"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), MISSING), path)


def test_the_table_covers_every_served_route(app):
    served = {(m, p) for m, p, _ in _routes(app)}
    assert len(served) >= KNOWN_ROUTES
    assert sorted(served - TABLE.keys()) == []  # a new route: add it to TABLE with who may call it
    assert sorted(TABLE.keys() - served) == []  # a route the table names is gone


@pytest.mark.parametrize("who", list(WHO))
def test_isolation_matrix(app, who):
    seen = _visible(app)
    wrong, probed = [], 0
    for method, path, route in _routes(app):
        allowed = who in TABLE[(method, path)]
        if allowed and (method, path) in NOT_CALLED_WHEN_ALLOWED:
            (declared,) = _declared(route)
            if not (declared.public or declared.roles & {ROLE_OF[who]}):
                wrong.append((method, path, "declared roles refuse it"))
            probed += 1
            continue
        client = client_as(app, WHO[who])  # a session per call: POST /logout ends its own
        r = client.request(method, _fill(path, who, seen), follow_redirects=False)
        probed += 1
        if allowed:
            refused = r.status_code == 403 or (r.status_code == 401 and (method, path) not in ANSWERS_401)
            bad = refused or (r.status_code >= 500 and r.status_code != 503)
        else:
            bad = r.status_code != (401 if WHO[who] is None else 403)
        if bad:
            wrong.append((method, path, r.status_code))
    assert probed == len(TABLE)
    assert wrong == [], f"{who}: leaks or over-denials: {wrong}"


def _ids_in(client: TestClient, path: str) -> set[str]:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    if path.startswith("/api/v1/cameras"):
        return {c["id"] for c in r.json()["items"]}
    if path == "/video/map/cameras.json":
        return {row[0] for row in r.json()["rows"]}
    if path.endswith(".csv"):
        return {row["id"] for row in csv.DictReader(io.StringIO(r.text))}
    if path.endswith(".geojson"):
        return {f["properties"].get("id") or f["id"] for f in r.json()["features"]}
    if path.endswith(".xml"):  # GB/T 28181 device ids whose type code is a camera (131/132)
        return {d for d in re.findall(r"<DeviceID>(\d{20})</DeviceID>", r.text) if d[10:13] in ("131", "132")}
    raise AssertionError(path)


LISTS = [
    "/api/v1/cameras?limit=500",
    "/video/map/cameras.json",
    "/api/v1/video/export.csv",
    "/api/v1/video/export.geojson",
    "/api/v1/video/catalog.xml",
]


@pytest.mark.parametrize("who", sorted(VIEW))
def test_lists_hold_only_what_the_caller_may_see(app, who):
    seen = _visible(app)
    client = client_as(app, WHO[who])
    for path in LISTS:
        assert _ids_in(client, path) == seen[who], path
    others = seen["ops"] - seen[who]
    for camera in sorted(others):  # another department's or platform's camera does not exist for you
        assert client.get(f"/api/v1/cameras/{camera}").status_code == 404
        assert client.get(f"/api/v1/cameras/{camera}/snapshot.jpg").status_code == 404
    if who in STAFF:
        grants = client.get("/api/v1/video/shares").json()["items"]
        assert grants and {g["platform"] for g in grants} == {WHO[who].platform}  # type: ignore[union-attr]
    assert who == "ops" or others  # the scoped callers were really scoped
