"""Gather the compliance evidence from the rooms' stored state (monitoring may read them all)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govops.settings import Settings

PASS, FAIL, NOT_APPLIED, NOT_CONFIGURED = "pass", "fail", "configured, not applied", "not configured"
STATUSES = (PASS, FAIL, NOT_APPLIED, NOT_CONFIGURED)
# Which lines of the realm's drift (identity.realm.diff) touch which control.
DRIFT_WORDS = {
    "identity-password-policy": ("passwordpolicy",),
    "identity-lockout": ("bruteforce", "failurefactor", "lockout", "failurewait"),
    "identity-x509": ("x509", "browserflow", "directgrantflow"),
}
BACKUP_MAX_AGE = timedelta(hours=26)  # a daily schedule, with slack
DRILL_MAX_AGE = timedelta(days=92)  # a drill a quarter
AUDIT_RETENTION_DAYS = 180  # 网络安全法 第二十一条: logs kept ≥ 6 months


@dataclass(frozen=True)
class Control:
    id: str
    clause: str  # GB/T 22239-2019
    title: str
    subject: str  # host:<name> | subsystem:<name>
    status: str
    evidence: str
    taken_at: str
    reason: str | None = None  # why "configured, not applied" (e.g. container)

    @property
    def reading(self) -> str:
        return f"{self.status}: {self.reason}" if self.reason else self.status


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


def hosts(session: Session, now: datetime) -> list[Control]:
    """The baseline's evidence from each host's latest stored apply run (check runs say nothing
    about what holds)."""
    from infra.cluster.history import latest_per_host

    latest = latest_per_host(session, kind="apply")
    if not latest:
        return [
            Control(
                "host-baseline",
                "8.1.4",
                "主机安全基线 host baseline",
                "subsystem:cluster",
                NOT_CONFIGURED,
                "no baseline run stored: run `govops cluster apply`",
                _iso(now),
            )
        ]
    out: list[Control] = []
    for host, run in latest:
        at = _iso(run.finished_at or run.started_at)
        subject = f"host:{host.host}"
        if host.status in ("unreachable", "failed") or not host.controls:
            out.append(
                Control(
                    "host-baseline",
                    "8.1.4",
                    "主机安全基线 host baseline",
                    subject,
                    FAIL,
                    f"run #{run.id}: {host.failure or host.status}",
                    at,
                )
            )
            continue
        for c in host.controls.get("controls") or []:
            state = str(c.get("status", ""))
            status, reason = PASS, None
            if state.startswith("configured, not applied"):
                status, reason = NOT_APPLIED, state.partition(":")[2].strip() or None
            elif state.startswith("configured"):  # a scratch root: files written, no live host
                status, reason = NOT_APPLIED, "scratch root"
            elif state != "applied":
                status = FAIL
            out.append(
                Control(
                    str(c.get("id")),
                    str(c.get("clause", "")),
                    str(c.get("id")),
                    subject,
                    status,
                    f"run #{run.id}: {c.get('evidence', '')}",
                    at,
                    reason,
                )
            )
    return out


def identity(settings: Settings, realm: dict[str, Any] | None, now: datetime) -> list[Control]:
    """Keycloak's password, lockout and X.509 settings: the realm as code, and whether the live
    realm matches it (`realm` is identity.realm.reconcile.status(), or {"error": …})."""
    from identity.realm.document import BROWSER_FLOW, REALM_SETTINGS

    at = _iso(now)
    items = [
        ("identity-password-policy", "8.1.4.1 a", "口令复杂度 password policy", REALM_SETTINGS["passwordPolicy"]),
        (
            "identity-lockout",
            "8.1.4.1 b",
            "登录失败处理 login-failure lockout",
            f"bruteForceProtected, failureFactor={REALM_SETTINGS['failureFactor']}, "
            f"maxFailureWaitSeconds={REALM_SETTINGS['maxFailureWaitSeconds']}",
        ),
        ("identity-x509", "8.1.4.1 d", "双因素 X.509 certificate login", f"browser flow {BROWSER_FLOW}"),
    ]
    if not settings.keycloak_url:
        return [
            Control(i, c, t, "subsystem:identity", NOT_CONFIGURED, "GOVOPS_KEYCLOAK_URL unset: no SSO realm", at)
            for i, c, t, _ in items
        ]
    if realm is None or "error" in realm:
        why = (realm or {}).get("error", "realm status not read")
        return [
            Control(i, c, t, "subsystem:identity", FAIL, f"{e}; live realm unreadable: {why}", at)
            for i, c, t, e in items
        ]
    if not realm.get("exists"):
        return [
            Control(i, c, t, "subsystem:identity", NOT_APPLIED, f"{e}; realm {realm.get('realm')} absent", at, "realm")
            for i, c, t, e in items
        ]
    drift = [str(d) for d in realm.get("drift") or []]
    out = []
    for i, c, t, e in items:
        words = DRIFT_WORDS[i]
        mine = [d for d in drift if any(w in d.lower() for w in words)]
        status = NOT_APPLIED if mine else PASS
        evidence = f"{e}; live realm {realm.get('realm')} " + (
            "differs: " + "; ".join(mine)[:300] if mine else "matches"
        )
        out.append(Control(i, c, t, "subsystem:identity", status, evidence, at, "drift" if mine else None))
    return out


def tls(settings: Settings, now: datetime) -> list[Control]:
    at = _iso(now)
    out = []
    for cid, name, url in (
        ("tls-gateway", "gateway", settings.public_url),
        ("tls-identity", "identity", settings.keycloak_url),
    ):
        if not url:
            out.append(
                Control(
                    cid,
                    "8.1.3.1",
                    "通信传输加密 TLS",
                    f"subsystem:{name}",
                    NOT_CONFIGURED,
                    "no public URL configured (embedded default: loopback only)",
                    at,
                )
            )
        else:
            ok = url.lower().startswith("https://")
            out.append(Control(cid, "8.1.3.1", "通信传输加密 TLS", f"subsystem:{name}", PASS if ok else FAIL, url, at))
    return out


def separation(session: Session, settings: Settings, now: datetime) -> list[Control]:
    """三员分立: no signed-in principal holds two of ops-engineer / sec-admin / auditor."""
    from govops.sessions import SignInSession
    from identity.separation import HINT, conflicting, describe

    at = _iso(now)
    live = session.execute(
        select(SignInSession.subject, SignInSession.roles).where(SignInSession.expires_at > now)
    ).all()
    bad = sorted({f"{subject} ({describe(held)})" for subject, roles in live if (held := conflicting(roles or []))})
    title = "三员分立 three-role separation"
    if bad:
        return [
            Control(
                "three-role-separation",
                "8.1.10.2",
                title,
                "subsystem:identity",
                FAIL,
                f"{len(live)} active sign-in(s); " + "; ".join(bad)[:500] + f" — {HINT}",
                at,
            )
        ]
    return [
        Control(
            "three-role-separation",
            "8.1.10.2",
            title,
            "subsystem:identity",
            PASS,
            f"{len(live)} active sign-in(s) checked, none holds two of the three roles; the local accounts are "
            "three (系统/安全/审计管理员), and a session or token holding two is refused at the door",
            at,
        )
    ]


def audit_log(session: Session, now: datetime) -> list[Control]:
    from govops import audit

    report = audit.verify(session)
    oldest = session.scalar(select(func.min(audit.AuditRecord.at))) if hasattr(audit.AuditRecord, "at") else None
    at = _iso(now)
    chain = Control(
        "audit-chain",
        "8.1.4.3 c",
        "审计记录保护 audit chain",
        "subsystem:audit",
        PASS if report.ok else FAIL,
        (
            f"{report.records} records, hash chain intact"
            if report.ok
            else f"chain broken at record {report.first_bad_id}: {report.reason}"
        )[:500],
        at,
    )
    kept = f"oldest record {oldest.isoformat() if oldest else 'none'}; append-only, never pruned by govops"
    retention = Control(
        "audit-retention",
        "8.1.4.3 c",
        f"日志留存 ≥ {AUDIT_RETENTION_DAYS} 天 audit retention",
        "subsystem:audit",
        PASS if report.ok else FAIL,
        kept,
        at,
    )
    return [chain, retention]


def backups(backup_dir: Path, now: datetime, session: Session | None = None) -> list[Control]:
    from infra.cluster.backup import last_drill, newest_age_s
    from infra.cluster.backup_jobs import last_drill as audited_drill

    at = _iso(now)
    age = newest_age_s(backup_dir, now)
    if age is None:
        fresh = Control(
            "backup-freshness",
            "8.1.4.11 a",
            "数据备份 backup",
            "subsystem:backup",
            FAIL,
            f"no archive in {backup_dir}: run `govops cluster backup`",
            at,
        )
    else:
        ok = age <= BACKUP_MAX_AGE.total_seconds()
        fresh = Control(
            "backup-freshness",
            "8.1.4.11 a",
            "数据备份 backup",
            "subsystem:backup",
            PASS if ok else FAIL,
            f"newest archive {age / 3600:.1f} h old in {backup_dir} (limit {BACKUP_MAX_AGE})",
            at,
        )
    # the audit chain's record of the drill (tamper-evident), else the drill log beside the archives
    drill = audited_drill(session, backup_dir) if session is not None else last_drill(backup_dir)
    if drill is None:
        drilled = Control(
            "restore-drill",
            "8.1.4.11 a",
            "恢复演练 restore drill",
            "subsystem:backup",
            FAIL,
            "no successful restore drill recorded: run `govops cluster drill`",
            at,
        )
    else:
        when = datetime.fromisoformat(drill["at"])
        ok = now - when <= DRILL_MAX_AGE
        drilled = Control(
            "restore-drill",
            "8.1.4.11 a",
            "恢复演练 restore drill",
            "subsystem:backup",
            PASS if ok else FAIL,
            f"last successful drill {drill['at']} of {drill.get('archive')}"
            + (f" ({drill['source']})" if drill.get("source") else ""),
            at,
        )
    return [fresh, drilled]


def tenants(session: Session, now: datetime) -> list[Control]:
    """The MLPS policy pack on the latest preview or up of the e-government cloud."""
    from infra.provisioning.models import CloudRun

    run = session.scalar(
        select(CloudRun)
        .where(CloudRun.kind.in_(("preview", "up")), CloudRun.finished_at.is_not(None))
        .order_by(CloudRun.id.desc())
        .limit(1)
    )
    title = "云租户安全策略 tenants' policy pack"
    if run is None:
        return [
            Control(
                "tenant-policy-pack",
                "8.2.4",
                title,
                "subsystem:cloud",
                NOT_CONFIGURED,
                "no preview or up stored: run `govops cloud preview`",
                _iso(now),
            )
        ]
    at = _iso(run.finished_at or run.started_at)
    refused = "policy pack" in (run.error or "")
    status = FAIL if refused else (PASS if run.status == "succeeded" else FAIL)
    evidence = f"{run.kind} #{run.id} {run.status}" + (
        f": {run.error[:300]}" if run.error else ", no mandatory violation"
    )
    return [Control("tenant-policy-pack", "8.2.4", title, "subsystem:cloud", status, evidence, at)]


def gather(
    session: Session, settings: Settings, *, realm: dict[str, Any] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    backup_dir = settings.backup_dir or settings.data_dir / "backups"
    controls = [
        *hosts(session, now),
        *identity(settings, realm, now),
        *tls(settings, now),
        *separation(session, settings, now),
        *audit_log(session, now),
        *backups(backup_dir, now, session),
        *tenants(session, now),
    ]
    summary = {s: sum(1 for c in controls if c.status == s) for s in STATUSES}
    return {
        "standard": "GB/T 22239-2019 第三级 (MLPS 2.0 Level 3)",
        "generated_at": _iso(now),
        "summary": summary,
        "controls": [{**asdict(c), "reading": c.reading} for c in controls],
    }


def realm_status(session: Session, settings: Settings, keycloak: Any | None) -> dict[str, Any] | None:
    """The live realm against its definition, or {"error": …} in one line; None without Keycloak."""
    if keycloak is None or not settings.keycloak_url:
        return None
    from identity.realm.reconcile import status
    from identity.realm.source import spec_from_settings

    try:
        return status(keycloak, spec_from_settings(settings, session))
    except Exception as exc:  # the report still answers; the identity controls then read fail
        return {"error": " ".join(f"{type(exc).__name__}: {exc}".split())[:300]}


def build(session: Session, settings: Settings, keycloak: Any | None = None) -> dict[str, Any]:
    """The report the CLI, the console and the printable page show."""
    return gather(session, settings, realm=realm_status(session, settings, keycloak))
