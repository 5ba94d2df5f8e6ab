from __future__ import annotations

import json
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


def test_a_log_level_typo_is_a_setting_error_not_a_bug(monkeypatch):
    from govops.settings import Settings

    monkeypatch.setenv("GOVOPS_LOG_LEVEL", "verbose")
    with pytest.raises(ConfigError, match="GOVOPS_LOG_LEVEL") as caught:
        load_or_explain(Settings)
    assert "'DEBUG', 'INFO', 'WARNING'" in caught.value.message
    monkeypatch.setenv("GOVOPS_LOG_LEVEL", "warning")  # as logging spells it, in either case
    assert load_settings().log_level == "WARNING"


def test_a_public_url_without_its_scheme_is_a_setting_error(monkeypatch):
    # The console's origin check compares a browser's Origin with it: "govops.local" alone would
    # refuse every form the console posts.
    from govops.settings import Settings

    monkeypatch.setenv("GOVOPS_PUBLIC_URL", "govops.jinshan.gov.cn")
    with pytest.raises(ConfigError, match="GOVOPS_PUBLIC_URL") as caught:
        load_or_explain(Settings)
    assert "is no http(s) URL" in caught.value.message
    monkeypatch.setenv("GOVOPS_PUBLIC_URL", "https://govops.jinshan.gov.cn/")
    assert load_settings().public_url == "https://govops.jinshan.gov.cn"


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


def test_component_paths_are_kernel_settings(tmp_path, monkeypatch):
    explicit = load_settings(data_dir=tmp_path, pulumi_bin_dir=tmp_path / "p", pulumi_provider_dir=tmp_path / "k")
    assert (explicit.pulumi_bin_dir, explicit.pulumi_provider_dir) == (tmp_path / "p", tmp_path / "k")
    assert load_settings(data_dir=tmp_path, components_dir=tmp_path / "cache").components_dir == tmp_path / "cache"
    monkeypatch.setenv("GOVOPS_CACHE", str(tmp_path / "c"))  # what tools/bootstrap.sh reads
    monkeypatch.setenv("GOVOPS_PULUMI_KUBERNETES_BIN_DIR", str(tmp_path / "old-name"))  # the former name
    s = load_settings(data_dir=tmp_path)
    assert (s.components_dir, s.pulumi_provider_dir) == (tmp_path / "c", tmp_path / "old-name")


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


def test_every_zoned_column_stores_compares_and_returns_utc_on_sqlite(runtime):
    """A plain DateTime(timezone=True) column (alerts, share grants…) on SQLite: a value or a filter
    given in 北京时间 means the same instant as on PostgreSQL, not the same wall-clock digits."""
    from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert

    table = Table(
        "zoned_probe", MetaData(), Column("id", Integer, primary_key=True), Column("at", DateTime(timezone=True))
    )
    table.create(runtime.engine)
    shanghai = timezone(timedelta(hours=8))
    with runtime.transaction() as s:
        s.execute(insert(table), [{"id": 1, "at": datetime(2026, 12, 7, 9, 0, tzinfo=shanghai)}])  # 01:00 UTC
        s.execute(insert(table), [{"id": 2, "at": datetime(2026, 12, 7, 3, 0, tzinfo=UTC)}])  # 11:00 北京时间
        got = dict(s.execute(select(table.c.id, table.c.at)).all())
        after_ten = s.scalars(select(table.c.id).where(table.c.at >= datetime(2026, 12, 7, 10, 0, tzinfo=shanghai)))
        assert list(after_ten) == [2]
    assert got == {1: datetime(2026, 12, 7, 1, 0, tzinfo=UTC), 2: datetime(2026, 12, 7, 3, 0, tzinfo=UTC)}


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


# --- the audit log cannot lose its tail (#15 items 4 and 14) ------------------------------------


def _append(runtime, n, action="camera.update"):  # type: ignore[no-untyped-def]
    for i in range(n):
        with runtime.transaction() as s:
            audit.append(s, actor="ops", action=action, target=f"cam-{i}")


def test_audit_keyed_chain_detects_a_deleted_tail(runtime):
    _append(runtime, 4)
    with runtime.sessions() as s:
        assert audit.verify(s).ok and audit.verify(s).checkpoint_id == 4
        s.execute(text("DELETE FROM audit_records WHERE id = 4"))
        s.commit()
        report = audit.verify(s)
    assert not report.ok and report.first_bad_id == 4 and "missing" in (report.reason or "")


def test_audit_chain_rewritten_without_the_key_is_caught(runtime):
    """Whoever writes the database can recompute a keyless chain; not the keyed one."""
    _append(runtime, 3)
    with runtime.sessions() as s:
        rows = s.scalars(select(audit.AuditRecord).order_by(audit.AuditRecord.id)).all()
        prev = audit.GENESIS
        for r in rows:  # rewrite every record with the keyless rule, as a forger could
            r.actor = "mallory"
            r.prev_hash = prev
            r.hash = audit.record_hash(prev, r.at, r.actor, r.action, r.target, r.result, r.detail)
            prev = r.hash
            s.flush()
        s.commit()
        report = audit.verify(s)
    assert len(rows) == 3
    assert not report.ok and "rewritten" in (report.reason or "")


def test_audit_restore_of_an_older_database_is_caught(runtime, tmp_path):
    import shutil

    _append(runtime, 2)
    db = runtime.settings.data_dir / "govops.db"
    runtime.engine.dispose()
    shutil.copy(db, tmp_path / "old.db")
    _append(runtime, 2)
    runtime.engine.dispose()
    for suffix in ("-wal", "-shm"):
        (runtime.settings.data_dir / f"govops.db{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.db", db)
    with runtime.sessions() as s:
        report = audit.verify(s)
    assert not report.ok and "older copy" in (report.reason or "")


def test_audit_records_before_keyed_chaining_keep_verifying(runtime):
    """Records hashed with the v1 (keyless) rule verify with it, up to the first keyed one."""
    from datetime import UTC, datetime

    with runtime.transaction() as s:
        prev = audit.GENESIS
        for i in range(3):
            at = datetime.now(UTC)
            h = audit.record_hash(prev, at, "ops", "legacy", f"t{i}", "success", {"i": i})
            s.add(
                audit.AuditRecord(
                    at=at,
                    actor="ops",
                    action="legacy",
                    target=f"t{i}",
                    result="success",
                    detail={"i": i},
                    prev_hash=prev,
                    hash=h,
                )
            )
            prev = h
    with runtime.sessions() as s:
        before = audit.verify(s)
    assert before.ok and before.records == 3 and before.keyed_from is None
    _append(runtime, 2)
    with runtime.sessions() as s:
        after = audit.verify(s)
        assert after.ok and after.records == 5 and after.keyed_from == 4
        # a keyless record after the keyed ones is a forgery
        last = s.scalars(select(audit.AuditRecord).order_by(audit.AuditRecord.id.desc())).first()
        at = last.at
        s.add(
            audit.AuditRecord(
                at=at,
                actor="x",
                action="forged",
                target="t",
                result="success",
                detail={},
                prev_hash=last.hash,
                hash=audit.record_hash(last.hash, at, "x", "forged", "t", "success", {}),
            )
        )
        s.commit()
        forged = audit.verify(s)
    assert not forged.ok and forged.first_bad_id == 6


@pytest.mark.parametrize(
    "column, raw",
    [("detail", "{not json"), ("at", "yesterday at noon"), ("detail", "[1, 2]")],
)
def test_audit_verify_on_a_broken_row_is_a_tamper_report(runtime, column, raw):
    _append(runtime, 3)
    with runtime.sessions() as s:
        s.execute(text(f"UPDATE audit_records SET {column} = :raw WHERE id = 2"), {"raw": raw})
        s.commit()
        report = audit.verify(s)
    assert not report.ok and report.first_bad_id == 2 and "altered" in (report.reason or "")


def test_audit_checkpoint_is_signed(runtime):
    _append(runtime, 2)
    path = runtime.settings.data_dir / "audit.checkpoint"
    doc = json.loads(path.read_text())
    doc["last_id"] = 1  # roll the anchor back by hand
    path.write_text(json.dumps(doc))
    with runtime.sessions() as s:
        report = audit.verify(s)
    assert not report.ok and "not genuine" in (report.reason or "")


def test_audit_key_lives_outside_the_database_with_mode_0600(runtime):
    _append(runtime, 1)
    key = runtime.settings.data_dir / "audit.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with runtime.engine.connect() as conn:
        dump = "\n".join(str(r) for r in conn.execute(text("SELECT * FROM audit_records")))
    assert key.read_text().strip() not in dump


def test_audit_rolled_back_append_does_not_move_the_checkpoint(runtime):
    _append(runtime, 1)
    with pytest.raises(RuntimeError), runtime.transaction() as s:
        audit.append(s, actor="ops", action="x", target="y")
        raise RuntimeError("the audited change failed")
    with runtime.sessions() as s:
        report = audit.verify(s)
    assert report.ok and report.checkpoint_id == 1


def test_audit_export_verifies_offline_and_catches_edits(runtime):
    _append(runtime, 5)
    with runtime.sessions() as s:
        doc = audit.export(s, 2, 4)
        public = audit.public_key_of(s)
    doc = json.loads(json.dumps(doc))  # as written to a file and read on another machine
    assert [r["id"] for r in doc["records"]] == [2, 3, 4]
    good = audit.verify_export(doc, public)
    assert good.ok and good.trusted_key and good.records == 3
    edited = json.loads(json.dumps(doc))
    edited["records"][1]["actor"] = "mallory"
    assert not audit.verify_export(edited, public).ok
    dropped = json.loads(json.dumps(doc))
    del dropped["records"][1]
    assert not audit.verify_export(dropped, public).ok
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    assert not audit.verify_export(doc, other).ok


def test_sqlite_write_units_take_the_write_lock_at_begin(runtime):
    """Two writers that both read first must not fail with 'database is locked' (#15 item 11):
    a unit of work that writes holds the write lock from BEGIN, so the second one waits."""
    import sqlite3

    from govops.db import transaction

    probe = sqlite3.connect(runtime.settings.data_dir / "govops.db", timeout=0, isolation_level=None)
    try:
        with runtime.sessions.begin() as s:
            s.execute(text("SELECT 1"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                probe.execute("BEGIN IMMEDIATE")
        with transaction(runtime.sessions, write=True), pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("BEGIN IMMEDIATE")
        with transaction(runtime.sessions) as s:  # a read-only unit stays deferred
            s.execute(text("SELECT 1"))
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
    finally:
        probe.close()


def test_sqlite_timestamps_come_back_aware_utc(runtime):
    with runtime.transaction() as s:
        rec = audit.append(s, actor="ops", action="x", target="y")
        rid = rec.id
    with runtime.sessions() as s:
        at = s.get(audit.AuditRecord, rid).at
    assert at.tzinfo is not None and at.utcoffset().total_seconds() == 0


def test_a_misspelt_variable_under_a_settings_prefix_is_named_not_ignored(monkeypatch):
    """GOVOPS_VQD_BLUR_EFECT used to leave the default in force, silently."""
    from video.catalogue.settings import VideoSettings
    from video.diagnosis.thresholds import Thresholds

    monkeypatch.setenv("GOVOPS_VQD_BLUR_EFECT", "0.5")
    with pytest.raises(ConfigError, match="GOVOPS_VQD_BLUR_EFECT") as caught:
        load_or_explain(Thresholds)
    assert caught.value.hint and "did you mean GOVOPS_VQD_BLUR_EFFECT?" in caught.value.hint
    monkeypatch.delenv("GOVOPS_VQD_BLUR_EFECT")
    monkeypatch.setenv("GOVOPS_VQD_BLUR_EFFECT", "0.5")
    assert load_or_explain(Thresholds).blur_effect == 0.5
    monkeypatch.setenv("govops_video_patrol_intervl_s", "60")  # the variables are read in any case
    with pytest.raises(ConfigError, match="govops_video_patrol_intervl_s"):
        load_or_explain(VideoSettings)
    monkeypatch.delenv("govops_video_patrol_intervl_s")
    monkeypatch.setenv("GOVOPS_NOT_A_SETTING_OF_THIS_CLASS", "1")  # the shared prefix: other classes' too
    assert load_settings().log_level
