"""monitoring.scope: both phrasings of a camera scope (the IDs inline, or a correlated EXISTS past
INLINE_CAMERAS) select the same rows, and an inbox page merged from several scopes pages like
one query (no duplicates, no gaps, newest first)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from govops import alerts
from govops.principal import CONTRACTOR, DEPT_ADMIN, SECURITY_STAFF, Principal
from monitoring import scope
from monitoring.inbox import queries
from monitoring.workorders import lifecycle
from monitoring.workorders.models import WorkOrder
from video.catalogue.models import AdminArea, Camera, ShareGrant

ZZ = Principal("u-zz", "综治值班员", frozenset({SECURITY_STAFF}), platform="zongzhi")
CGJ = Principal("u-cgj", "城管管理员", frozenset({DEPT_ADMIN}), department="cgj")
BOTH = Principal("u-2", "两个角色", frozenset({SECURITY_STAFF, DEPT_ADMIN}), platform="zongzhi", department="cgj")


@pytest.fixture
def seeded(district):
    """Every sample camera with three alerts and one order, an area grant for 综治, platform alerts."""
    now = datetime.now(UTC)
    with district.transaction() as s:
        cams = list(s.execute(select(Camera.id, Camera.area_code, Camera.department_code)))
        grid = s.scalar(select(AdminArea.code).where(AdminArea.level == "grid").order_by(AdminArea.code))
        s.add(
            ShareGrant(
                platform_code="zongzhi",
                subject_kind="area",
                subject_id=grid,
                reason="test",
                granted_by="test",
                created_at=now,
            )
        )
        for round_ in range(3):
            for cam in cams:
                alerts.raise_alert(
                    s,
                    fingerprint=f"cam:{cam.id}:{round_}",
                    source="video.diagnosis",
                    summary=f"{cam.id} fault",
                    labels={"camera": cam.id, "department": cam.department_code, "area": cam.area_code},
                )
            alerts.raise_alert(
                s, fingerprint=f"plat:{round_}", source="alertmanager", summary="p", labels={"platform": "zongzhi"}
            )
            alerts.raise_alert(s, fingerprint=f"kc:{round_}", source="alertmanager", summary="kc", labels={})
        for i, cam in enumerate(cams):
            s.add(
                WorkOrder(
                    camera_id=cam.id,
                    camera_name=cam.id,
                    area_code=cam.area_code,
                    contractor_code="c1" if i % 2 else "c2",
                    state="open",
                    fault="offline",
                    verdict="offline",
                    sla_hours=48,
                    opened_at=now,
                    due_at=now,
                )
            )
    return district


def _all_pages(session, principal, limit: int) -> list[int]:
    got: list[int] = []
    cursor = None
    for _ in range(100):
        page = queries.list_alerts(session, principal, queries.AlertFilter(), cursor=cursor, limit=limit)
        got += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return got
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("who", [ZZ, CGJ, BOTH], ids=["security", "dept-admin", "both"])
def test_inline_and_exists_select_the_same_alerts_and_orders(seeded, monkeypatch, who):
    with seeded.sessions() as s:
        inline = _all_pages(s, who, 500)
        orders_inline = [o.id for o in lifecycle.list_orders(s, who, limit=500)[0]]
        monkeypatch.setattr(scope, "INLINE_CAMERAS", 0)  # every scope past the limit: EXISTS
        assert _all_pages(s, who, 500) == inline
        assert [o.id for o in lifecycle.list_orders(s, who, limit=500)[0]] == orders_inline
        everything = list(s.scalars(select(alerts.Alert)))
        expected = {
            a.id
            for a in everything
            if s.scalar(select(alerts.Alert.id).where(alerts.Alert.id == a.id, queries.visible(s, who)))
        }
    assert inline and orders_inline
    assert set(inline) == expected
    assert inline == sorted(inline, reverse=True)


def test_scopes_merged_page_like_one_query(seeded):
    with seeded.sessions() as s:
        whole = _all_pages(s, BOTH, 500)
        for limit in (1, 2, 3, 7):
            assert _all_pages(s, BOTH, limit) == whole  # no duplicates, no gaps across pages
        security = set(_all_pages(s, ZZ, 500))
        dept = set(_all_pages(s, CGJ, 500))
    assert set(whole) == security | dept and security - dept and dept - security
    assert len(whole) == len(set(whole))


def test_a_contractor_without_its_code_sees_no_orders(seeded):
    with seeded.sessions() as s:
        assert lifecycle.list_orders(s, Principal("c", "c", frozenset({CONTRACTOR})))[0] == []
        mine = lifecycle.list_orders(s, Principal("c", "c", frozenset({CONTRACTOR}), contractor="c1"))[0]
    assert mine and {o.contractor_code for o in mine} == {"c1"}
