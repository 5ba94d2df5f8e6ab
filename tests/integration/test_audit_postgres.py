"""The keyed audit chain and its checkpoint on PostgreSQL (rows come back typed by the driver)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gateway.runtime import Runtime
from govops import audit
from govops.settings import load_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_runtime(postgres, tmp_path: Path) -> Runtime:  # type: ignore[no-untyped-def]
    name = f"audit_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    rt = Runtime.build(load_settings(data_dir=tmp_path / "data", environment="test", database_url=url))
    rt.migrate()
    return rt


def test_keyed_chain_checkpoint_and_export_on_postgres(pg_runtime: Runtime) -> None:
    for i in range(4):
        with pg_runtime.transaction() as s:
            audit.append(s, actor="ops", action="camera.update", target=f"cam-{i}", detail={"名称": "卫零路", "i": i})
    with pg_runtime.sessions() as s:
        report = audit.verify(s)
        assert report.ok and report.records == 4 and report.keyed_from == 1 and report.checkpoint_id == 4
        at = s.get(audit.AuditRecord, 1).at  # type: ignore[union-attr]
        assert at.utcoffset() is not None and at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        doc = audit.export(s, 1, 4)
        assert audit.verify_export(doc, audit.public_key_of(s)).ok
        s.execute(text("DELETE FROM audit_records WHERE id = 4"))
        s.commit()
        broken = audit.verify(s)
    assert not broken.ok and broken.first_bad_id == 4
