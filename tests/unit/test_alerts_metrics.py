"""Metrics for every subsystem: collectors describe() themselves (registering runs no query),
read state at scrape time, keep labels bounded; /metrics needs its token outside the default."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, update

from gateway.app import create_app
from govops import audit
from govops.settings import load_settings
from identity.models import IssuedCertificate, PublishedCrl
from infra.provisioning.models import CloudRun
from monitoring.collectors import KeycloakProbe, register_collectors
from monitoring.workorders.models import WorkOrder
from tests.conftest import client_as
from video.catalogue.models import Camera


def _samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def _value(samples: list, **labels: str) -> float:
    matching = [s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(matching) == 1, (labels, samples)
    return matching[0]


def test_registering_the_collectors_runs_no_query(district):
    statements: list[str] = []
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(district.engine, "before_cursor_execute", listener)
    try:
        create_app(district)
        registry = CollectorRegistry(auto_describe=True)
        register_collectors(registry, district.sessions, district.settings, district.video)
        assert statements == []
        generate_latest(registry)
        assert statements  # the scrape itself reads the database
    finally:
        event.remove(district.engine, "before_cursor_execute", listener)


def test_every_subsystem_is_exported_with_bounded_labels(app, district):
    now = datetime.now(UTC)
    with district.transaction() as s:
        s.execute(update(Camera).where(Camera.area_code.like("310116101%")).values(status="offline"))
        s.add(CloudRun(stack="lab", kind="up", status="failed", actor="t", started_at=now, finished_at=now))
        s.add(
            CloudRun(
                stack="lab",
                kind="drift",  # a refresh preview: three resources changed outside Pulumi
                status="succeeded",
                actor="t",
                started_at=now,
                finished_at=now,
                summary={"same": 10, "update": 2, "delete": 1},
                changes=[{"urn": f"u{i}", "op": "update"} for i in range(3)],
            )
        )
        for serial, days in (("A1", 5), ("A2", 200), ("A3", 29)):
            s.add(
                IssuedCertificate(
                    serial=serial,
                    kind="civil_servant",
                    common_name=serial,
                    subject=f"CN={serial}",
                    not_before=now - timedelta(days=1),
                    not_after=now + timedelta(days=days),
                    fingerprint_sha256=serial * 10,
                    pem="",
                    issued_by="t",
                    issued_at=now,
                )
            )
        s.add(
            PublishedCrl(
                number=1,
                this_update=now - timedelta(hours=30),
                next_update=now - timedelta(hours=6),
                revoked_count=0,
                der=b"",
            )
        )
        audit.append(s, actor="u1", action="identity.login.certificate", target="u1", result="failure")
        audit.append(s, actor="u1", action="identity.login.certificate", target="u1", result="success")
        for state, due in (("open", -1), ("dispatched", 5), ("closed", -9)):
            s.add(
                WorkOrder(
                    camera_id="31011600001326000001",
                    camera_name="cam",
                    contractor_code="c1",
                    state=state,
                    fault="offline",
                    verdict="offline",
                    sla_hours=24,
                    opened_at=now - timedelta(hours=30),
                    due_at=now + timedelta(hours=due),
                )
            )
    client = client_as(app, None)
    client.get("/healthz")
    text = client.get("/metrics").text
    m = _samples(text)
    # cameras by status and area (streets): 朱泾镇 310116101 has three cameras, all offline now
    assert _value(m["govops_video_area_cameras_by_status"], area="310116101", status="offline") == 3
    assert _value(m["govops_video_area_cameras_by_status"], area="310116001", status="online") == 3
    assert {s.labels["area"] for s in m["govops_video_area_cameras_by_status"]} == {
        "310116001",
        "310116101",
        "310116109",
    }
    assert _value(m["govops_cloud_runs_total"], kind="up", status="failed") == 1
    assert _value(m["govops_cloud_drift_resources"]) == 3
    assert _value(m["govops_ca_certificates_expiring"], kind="civil_servant") == 2
    assert _value(m["govops_ca_certificates_valid"], kind="civil_servant") == 3
    assert 29 * 3600 < _value(m["govops_ca_crl_age_seconds"]) < 31 * 3600
    assert _value(m["govops_login_failures_total"], action="identity.login.certificate") == 1
    assert _value(m["govops_cluster_run_history_available"]) == 1  # runs are stored (none yet: no host series)
    assert "govops_cluster_host_reachable" in text  # described (HELP/TYPE), no samples yet
    assert _value(m["govops_keycloak_configured"]) == 0
    # the backup schedule BackupTooOld compares with (GOVOPS_ALERTS_BACKUP_MAX_AGE_H, 26 h)
    assert [s.value for s in m["govops_backup_max_age_seconds"]] == [26 * 3600]
    # work orders by state and contractor; the open one past its due time is overdue
    assert _value(m["govops_workorders"], state="open", contractor="c1") == 1
    assert _value(m["govops_workorders"], state="closed", contractor="c1") == 1
    assert _value(m["govops_workorders_overdue"], contractor="c1") == 1
    assert "govops_http_requests_total" in m and "govops_http_request_seconds_bucket" in m
    # bounded: no label carries a camera id
    assert "31011600001326" not in text


def test_keycloak_probe_is_cached_and_never_blocks_a_scrape():
    release = threading.Event()
    calls: list[str] = []

    def slow_get(url, **kw):  # type: ignore[no-untyped-def]
        calls.append(url)
        release.wait(30)

        class R:
            status_code = 200

        return R()

    probe = KeycloakProbe("https://kc.example", "civil-servants", every_s=3600, get=slow_get)
    registry = CollectorRegistry(auto_describe=True)
    registry.register(probe)
    first = _samples(generate_latest(registry).decode())  # starts the probe; does not wait for it
    assert "govops_keycloak_up" not in first
    generate_latest(registry)  # a probe is in flight: no second one
    release.set()
    for _ in range(200):
        if probe.result is not None:
            break
        threading.Event().wait(0.05)
    assert probe.result is not None
    assert _value(_samples(generate_latest(registry).decode())["govops_keycloak_up"]) == 1
    assert calls == ["https://kc.example/realms/civil-servants/.well-known/openid-configuration"]


def test_keycloak_probe_reports_down_when_unreachable():
    def refused(url, **kw):  # type: ignore[no-untyped-def]
        raise OSError("connection refused")

    probe = KeycloakProbe("https://127.0.0.1:1", "r", get=refused)
    probe.probe()
    assert probe.result is not None and probe.result[0] == 0.0


def test_metrics_token_is_required_when_configured_and_in_production(district, tmp_path):
    district.settings = load_settings(
        data_dir=district.settings.data_dir, environment="test", metrics_token="s3cret-t0ken"
    )
    c = client_as(create_app(district), None)
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/metrics", headers={"Authorization": "Bearer s3cret-t0ken"}).status_code == 200
    key = "x" * 43 + "="
    district.settings = load_settings(data_dir=district.settings.data_dir, environment="production", secret_key=key)
    r = client_as(create_app(district), None).get("/metrics")
    assert r.status_code == 503 and "GOVOPS_METRICS_TOKEN" in r.json()["hint"]
