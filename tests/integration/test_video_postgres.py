"""The catalogue on PostgreSQL: migrations, visibility (array parameters), sharing, KPIs, I/O."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from gateway.runtime import Runtime
from govops.principal import DEPT_ADMIN, SECURITY_STAFF, SYSTEM, Principal
from govops.settings import load_settings
from video.catalogue import io as cio
from video.catalogue import sharing
from video.catalogue.models import Camera
from video.catalogue.queries import CameraFilter, camera_query, list_cameras
from video.coverage import Coverage

pytestmark = pytest.mark.integration
ZZ = Principal("zz", "综治", frozenset({SECURITY_STAFF}), platform="zongzhi")
CGJ = Principal("cg", "城管", frozenset({DEPT_ADMIN}), department="cgj")


@pytest.fixture
def pg_district(postgres, tmp_path: Path, sample_clips: Path) -> Runtime:
    # A database of its own: the server is shared by the whole test session.
    name = f"video_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    rt = Runtime.build(
        load_settings(
            data_dir=tmp_path / "data", environment="test", database_url=postgres.url.rsplit("/", 1)[0] + f"/{name}"
        )
    )
    rt.migrate()
    rt.settings.ensure_data_dir()
    rt.clips_dir.symlink_to(sample_clips, target_is_directory=True)
    rt.load_sample_district()
    yield rt
    rt.engine.dispose()


def ids(s, p, **f) -> set[str]:
    return {c.id for c in list_cameras(s, p, CameraFilter(**f), limit=500)}


def test_visibility_sharing_and_kpis_on_postgres(pg_district):
    rt = pg_district
    with rt.transaction() as s:
        everything = ids(s, SYSTEM)
        assert len(everything) == 8
        zz = ids(s, ZZ)
        parking = s.scalar(select(Camera.id).where(Camera.name == "金山卫城东停车场"))
        assert zz and parking not in zz
        assert {c.department_code for c in list_cameras(s, CGJ, limit=500)} == {"cgj"}
        g = sharing.grant(
            s,
            platform="zongzhi",
            subject_kind="area",
            subject_id="310116109",
            reason="金山卫镇综治",
            actor="it",
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        assert parking in ids(s, ZZ) and parking in ids(s, ZZ, area="310116109")
        sharing.revoke(s, g.id, reason="综治工作结束", actor="it")
        assert parking not in ids(s, ZZ)
        [district, *_] = Coverage(s, rt.video).by_area()
        assert district.cameras == 8 and district.key_grids == 4
        platforms = {k.key: k.cameras for k in Coverage(s, rt.video).by_platform()}
        assert platforms["310116-master"] == 8 and platforms["gongan"] == 3
        # The list page's compiled statements (array parameters, booleans, LIKE escaping, keyset)
        # select what the ORM statement of the same conditions selects.
        for p in (SYSTEM, ZZ, CGJ):
            for f in (
                {},
                {"area": "310116109"},
                {"status": "online", "key_place": False},
                {"q": "停车"},
                {"q": "%_"},
                {"platform": "gongan"},
            ):
                expected = [c.id for c in s.scalars(camera_query(s, p, CameraFilter(**f)).order_by(Camera.id))]
                rows = list_cameras(s, p, CameraFilter(**f), limit=500)
                assert [c.id for c in rows] == expected, (p.name, f)
                if len(expected) > 2:
                    page = list_cameras(s, p, CameraFilter(**f), after=expected[1], limit=1)
                    assert [c.id for c in page] == expected[2:3]
        row = list_cameras(s, SYSTEM, limit=1)[0]
        assert row.as_dict() == s.get(Camera, row.id).as_dict()


def test_import_export_on_postgres(pg_district):
    rt = pg_district
    with rt.transaction() as s:
        text_csv = "".join(cio.export_csv(s, SYSTEM))
        report = cio.import_cameras(s, cio.read_csv(text_csv), actor="it")
        assert report.ok and report.updated == 8
        doc = json.loads("".join(cio.export_geojson(s, ZZ)))
        assert {f["id"] for f in doc["features"]} == ids(s, ZZ)
        body = cio.export_catalog_xml(s, SYSTEM, rt.video, platform="gongan")
        assert body.decode("gb2312").count("<Item>") == 4


def test_the_daily_report_on_postgres(pg_district):
    """运维日报 on PostgreSQL (timestamptz, JSON faults): the same day, the same counts as on SQLite."""
    from monitoring.reports.daily import daily
    from tests.unit.test_daily_report import DAY, SHANGHAI, check_the_first, seed

    seed(pg_district)
    with pg_district.sessions() as s:
        check_the_first(daily(s, pg_district.settings, pg_district.video, day=DAY, zone=SHANGHAI))
