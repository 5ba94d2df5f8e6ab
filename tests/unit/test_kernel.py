from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from govops import alerts, audit
from govops.db import make_engine, migrate
from govops.errors import ConfigError, GovopsError, ServiceUnavailable
from govops.logs import KeyValueFormatter, redact
from govops.secretbox import SecretBox, load_or_create_key_file
from govops.settings import load_or_explain, load_settings


def test_settings_read_prefixed_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GOVOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOVOPS_PORT", "9099")
    s = load_settings()
    assert s.data_dir == tmp_path and s.port == 9099
    assert s.sqlalchemy_url == f"sqlite:///{tmp_path / 'govops.db'}"


def test_production_refuses_placeholder_secret(monkeypatch):
    monkeypatch.setenv("GOVOPS_ENVIRONMENT", "production")
    monkeypatch.setenv("GOVOPS_SECRET_KEY", "changeme")
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings()


def test_bad_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("GOVOPS_PORT", "eighty")
    with pytest.raises(ConfigError, match="GOVOPS_PORT"):
        load_settings()


def test_unwritable_data_dir_is_a_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.geteuid() == 0:
        target = tmp_path / "file-not-dir"
        target.write_text("x")
        s = load_settings(data_dir=target / "sub")
    else:
        s = load_settings(data_dir=ro / "sub")
    with pytest.raises(ConfigError, match="not writable"):
        s.ensure_data_dir()


def test_bad_database_url_is_a_config_error(tmp_path):
    s = load_settings(data_dir=tmp_path, database_url="nosuchdb://x/y")
    with pytest.raises(ConfigError, match="GOVOPS_DATABASE_URL"):
        make_engine(s)


def test_unreachable_postgres_hides_password(tmp_path):
    s = load_settings(data_dir=tmp_path, database_url="postgresql+psycopg://u:hunter2@127.0.0.1:1/db?connect_timeout=2")
    with pytest.raises(ServiceUnavailable) as exc:
        migrate(make_engine(s))
    assert "hunter2" not in str(exc.value) and "127.0.0.1" in str(exc.value)


def test_audit_chain_detects_edit_and_delete(runtime):
    with runtime.transaction() as s:
        for i in range(5):
            audit.append(s, actor="ops", action="camera.update", target=f"cam-{i}")
    with runtime.sessions() as s:
        assert audit.verify(s).ok and audit.verify(s).records == 5
    with runtime.transaction() as s:
        s.execute(update(audit.AuditRecord).where(audit.AuditRecord.id == 3).values(actor="mallory"))
    with runtime.sessions() as s:
        report = audit.verify(s)
    assert not report.ok and report.first_bad_id == 3 and "changed" in report.reason
    with runtime.transaction() as s:
        s.execute(update(audit.AuditRecord).where(audit.AuditRecord.id == 3).values(actor="ops"))
        s.execute(text("DELETE FROM audit_records WHERE id = 2"))
    with runtime.sessions() as s:
        report = audit.verify(s)
    assert not report.ok and report.first_bad_id == 3 and "removed" in report.reason


def test_audit_append_rolls_back_with_its_transaction(runtime):
    with pytest.raises(RuntimeError), runtime.transaction() as s:
        audit.append(s, actor="ops", action="x", target="y")
        raise RuntimeError("the audited change failed")
    with runtime.sessions() as s:
        assert s.scalars(select(audit.AuditRecord)).all() == []


def test_secret_box_round_trip_and_key_file_mode(settings):
    box = SecretBox.from_settings(settings)
    token = box.encrypt("camera-pass-123")
    assert "camera-pass-123" not in token and box.decrypt(token) == "camera-pass-123"
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    assert SecretBox.from_settings(settings).decrypt(token) == "camera-pass-123"


def test_secret_box_wrong_key_and_loose_key_file(tmp_path, settings):
    token = SecretBox.from_settings(settings).encrypt("s3cret")
    other = SecretBox([load_or_create_key_file(tmp_path / "other.key")])
    with pytest.raises(GovopsError, match="cannot be decrypted"):
        other.decrypt(token)
    (tmp_path / "other.key").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_key_file(tmp_path / "other.key")


def _at_once(n: int, fn) -> list:
    """Run fn in n threads released together; their results, or the first exception raised."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    start = threading.Barrier(n)

    def run(_):
        start.wait()
        return fn()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_data_dir_check_and_key_file_are_safe_from_many_threads(tmp_path):
    """The first requests of a fresh gateway open the secret box from several threads at once."""
    s = load_settings(data_dir=tmp_path / "data")
    _at_once(16, lambda: [s.ensure_data_dir() for _ in range(50)])
    keys = _at_once(16, lambda: load_or_create_key_file(tmp_path / "race.key"))
    assert len(set(keys)) == 1 and SecretBox(keys[:1]).decrypt(SecretBox(keys[:1]).encrypt("x")) == "x"
    assert stat.S_IMODE((tmp_path / "race.key").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "race.key"]  # no probe or key left aside
    assert list((tmp_path / "data").iterdir()) == []


def test_alert_dedupes_by_fingerprint(runtime):
    with runtime.transaction() as s:
        a1 = alerts.raise_alert(s, fingerprint="camera:1:faulty", source="video", summary="blur")
        a2 = alerts.raise_alert(s, fingerprint="camera:1:faulty", source="video", summary="blur again")
        assert a1.id == a2.id
        alerts.resolve_alert(s, "camera:1:faulty")
        a3 = alerts.raise_alert(s, fingerprint="camera:1:faulty", source="video", summary="blur")
        assert a3.id != a1.id


def test_logs_never_carry_secrets():
    import logging

    rec = logging.LogRecord(
        "t", logging.INFO, "f", 1, "connect rtsp://admin:pa55@10.1.1.1/ch1 password=xyz", None, None
    )
    rec.fields = {"client_secret": "abc", "camera": "c1"}
    line = KeyValueFormatter().format(rec)
    assert "pa55" not in line and "xyz" not in line and "abc" not in line and "camera=c1" in line
    assert redact("token=abc&x=1") == "token=***&x=1"


def test_migrations_are_idempotent(runtime):
    runtime.migrate()
    with runtime.transaction() as s:
        assert s.execute(text("SELECT count(*) FROM cameras")).scalar() == 0


def test_one_settings_translator_names_the_prefixed_variable(monkeypatch):
    from video.catalogue.settings import VideoSettings

    monkeypatch.setenv("GOVOPS_VIDEO_DIVISION", "31011")
    with pytest.raises(ConfigError, match="GOVOPS_VIDEO_DIVISION") as caught:
        load_or_explain(VideoSettings)
    assert caught.value.hint and "environment" in caught.value.hint
    monkeypatch.setenv("GOVOPS_COMPONENTS_DIR", "/opt/govops-components")
    assert load_settings().components_dir == Path("/opt/govops-components")


def test_pulumi_binaries_come_from_settings(tmp_path):
    from importlib.metadata import version

    explicit = load_settings(data_dir=tmp_path, pulumi_bin_dir=tmp_path / "p", pulumi_kubernetes_bin_dir=tmp_path / "k")
    assert explicit.pulumi_bin_dirs == [tmp_path / "p", tmp_path / "k"]
    cached = load_settings(data_dir=tmp_path, components_dir=tmp_path / "cache")
    assert cached.pulumi_bin_dirs == [
        tmp_path / "cache" / f"pulumi-{version('pulumi')}" / "bin",
        tmp_path / "cache" / f"pulumi-kubernetes-{version('pulumi_kubernetes')}" / "bin",
    ]


def test_utc_column_stores_and_returns_aware_utc(runtime):
    from sqlalchemy import Column, Integer, MetaData, Table, insert

    from govops.db import UtcDateTime

    table = Table("utc_probe", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
    table.create(runtime.engine)
    shanghai = timezone(timedelta(hours=8))
    with runtime.transaction() as s:
        s.execute(insert(table), [{"id": 1, "at": datetime(2026, 12, 5, 16, 0, tzinfo=shanghai)}])
        s.execute(insert(table), [{"id": 2, "at": datetime(2026, 12, 5, 8, 0)}])  # naive: taken as UTC
        s.execute(insert(table), [{"id": 3, "at": None}])
        got = dict(s.execute(select(table.c.id, table.c.at)).all())
    assert got[1] == got[2] == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert got[1].tzinfo is UTC and got[2].tzinfo is UTC and got[3] is None


def test_sign_in_sessions_expire_and_close(runtime):
    from govops.principal import LOCAL_SYSTEM_ADMIN
    from govops.sessions import SessionStore, SignInSession

    store = SessionStore(runtime.sessions)
    sid = store.open(LOCAL_SYSTEM_ADMIN)
    assert store.lookup(sid) == LOCAL_SYSTEM_ADMIN
    assert store.lookup(sid + "x") is None
    store.close(sid)
    assert store.lookup(sid) is None
    stale = SessionStore(runtime.sessions, ttl=-1).open(LOCAL_SYSTEM_ADMIN)
    assert store.lookup(stale) is None  # expired, and swept on the way
    store.open(LOCAL_SYSTEM_ADMIN)
    with runtime.transaction() as s:
        assert len(s.scalars(select(SignInSession)).all()) == 1


def test_sign_in_sessions_on_an_unmigrated_database_are_a_clean_503(settings):
    from govops.db import make_sessionmaker
    from govops.principal import LOCAL_SYSTEM_ADMIN
    from govops.sessions import SessionStore

    engine = make_engine(settings)
    with pytest.raises(ServiceUnavailable, match="sign-in sessions") as caught:
        SessionStore(make_sessionmaker(engine)).open(LOCAL_SYSTEM_ADMIN)
    assert "govops db upgrade" in (caught.value.hint or "")


def test_cli_acts_as_cli_user(monkeypatch):
    from govops.principal import AUDITOR, OPS_ENGINEER, cli_principal

    monkeypatch.setattr("getpass.getuser", lambda: "zhangwei")
    who = cli_principal()
    assert who.subject == "cli:zhangwei" and who.roles == frozenset({OPS_ENGINEER})  # one role only: 三员分立
    assert cli_principal(AUDITOR).roles == frozenset({AUDITOR})
