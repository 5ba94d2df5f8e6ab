"""One probe per subsystem. Each takes the board's context, returns a Check and may raise; the
board turns an exception into a failing check and a slow probe into "unknown"."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, or_, select, text

from monitoring.status.model import Check, iso, utcnow

if TYPE_CHECKING:
    from monitoring.status.board import StatusContext


def _aware(t: Any) -> Any:
    from datetime import UTC

    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


# -- identity -------------------------------------------------------------------------------


def keycloak(ctx: StatusContext) -> Check:
    from identity.keycloak_adapter import OidcEndpoints, ping, tls_context
    from identity.models import IssuedCertificate

    title = "统一身份认证 Keycloak"
    s = ctx.settings
    facts: dict[str, Any] = {}
    with ctx.sessions() as session:  # certificate expiries are known from our own records
        soon = utcnow() + timedelta(days=ctx.status.status_cert_warn_days)
        live = (IssuedCertificate.revoked_at.is_(None), IssuedCertificate.not_after > utcnow())
        first = session.scalar(select(func.min(IssuedCertificate.not_after)).where(*live))
        facts["certificates_valid"] = session.scalar(select(func.count()).select_from(IssuedCertificate).where(*live))
        facts["certificates_expiring_30d"] = session.scalar(
            select(func.count()).select_from(IssuedCertificate).where(*live, IssuedCertificate.not_after < soon)
        )
        server = session.scalar(
            select(func.min(IssuedCertificate.not_after)).where(*live, IssuedCertificate.kind == "server")
        )
        facts["next_certificate_expiry"] = iso(_aware(first))
        facts["server_certificate_expiry"] = iso(_aware(server))
    if not s.keycloak_url:
        return Check(
            "keycloak",
            title,
            "not_configured",
            "未配置统一身份认证。Keycloak is not configured: the local admin login is the only way in.",
            hint="set GOVOPS_KEYCLOAK_URL (or start the lab with `govops lab up`), then `govops identity apply`",
            facts=facts,
        )
    verify: ssl.SSLContext | bool = tls_context(s.keycloak_ca_file) if s.keycloak_ca_file else True
    ping(OidcEndpoints(s.keycloak_url, s.keycloak_realm), verify=verify, timeout=ctx.timeout)
    facts.update({"url": s.keycloak_url, "realm": s.keycloak_realm, "reachable": True})
    state, summary, hint = "ok", f"realm {s.keycloak_realm} answers", None
    if s.keycloak_admin_user and s.keycloak_admin_password is not None:
        from identity import realm
        from identity.keycloak_adapter import KeycloakAdapter

        with ctx.sessions() as session:
            report = realm.status(KeycloakAdapter.from_settings(s), realm.spec_from_settings(s, session))
        drift = report.get("drift") or []
        facts["drift"] = drift[:20]
        facts["drift_count"] = len(drift)
        if not report.get("exists"):
            state, summary, hint = "failing", "the realm does not exist", "govops identity apply"
        elif drift:
            state, summary, hint = "warning", f"realm drift: {len(drift)} difference(s)", "govops identity diff"
        else:
            summary += "; in sync with its definition"
    else:
        facts["drift"] = None
        summary += "; drift not checked (no admin credentials)"
    if state == "ok" and facts["certificates_expiring_30d"]:
        state, summary = (
            "warning",
            summary + f"; {facts['certificates_expiring_30d']} certificate(s) expire within 30 days",
        )
    return Check("keycloak", title, state, summary, hint=hint, facts=facts)  # type: ignore[arg-type]


def ca(ctx: StatusContext) -> Check:
    from identity.models import PublishedCrl
    from identity.pki import CertificateAuthority

    title = "政务 CA Certificate authority"
    authority = CertificateAuthority.from_settings(ctx.settings, ctx.box)
    if not authority.exists():
        return Check(
            "ca",
            title,
            "not_configured",
            "尚未建立 CA。No CA has been created: civil servants cannot get certificates.",
            hint="govops ca init",
        )
    now = utcnow()
    root_days = (authority.root.not_valid_after_utc - now).days
    issuing_days = (authority.issuing.not_valid_after_utc - now).days
    with ctx.sessions() as session:
        crl = session.scalars(select(PublishedCrl).order_by(PublishedCrl.number.desc()).limit(1)).first()
    facts: dict[str, Any] = {"root_days_left": root_days, "issuing_days_left": issuing_days}
    if crl is None:
        return Check("ca", title, "warning", "no CRL published yet", hint="govops ca crl", facts=facts)
    age_h = (now - _aware(crl.this_update)).total_seconds() / 3600
    overdue = now > _aware(crl.next_update)
    facts.update({"crl_number": crl.number, "crl_age_hours": round(age_h, 1), "crl_next_update": iso(crl.next_update)})
    days = min(root_days, issuing_days)
    if overdue or days < 0:
        state, summary = "failing", ("the CRL is past its next update" if overdue else "a CA certificate has expired")
    elif days < ctx.status.status_cert_warn_days:
        state, summary = "warning", f"the CA expires in {days} days"
    else:
        state, summary = "ok", f"{days} days to expiry; CRL #{crl.number} is {age_h:.1f} h old"
    return Check("ca", title, state, summary, hint="govops ca crl" if overdue else None, facts=facts)  # type: ignore[arg-type]


# -- e-government cloud ----------------------------------------------------------------------


def _kubeconfig(ctx: StatusContext) -> Path:
    s = ctx.settings
    return Path(s.kubeconfig or (s.data_dir / "lab" / "kube" / "kubeconfig"))


def kubernetes(ctx: StatusContext) -> Check:
    from infra.provisioning.models import CloudRun
    from infra.provisioning.runs import Run

    title = "政务云 Kubernetes"
    with ctx.sessions() as session:
        last = session.scalars(select(CloudRun).order_by(CloudRun.id.desc()).limit(1)).first()
        last_up = session.scalars(
            select(CloudRun).where(CloudRun.kind == "up").order_by(CloudRun.id.desc()).limit(1)
        ).first()
    facts: dict[str, Any] = {
        "last_run": (
            {k: v for k, v in Run.of(last).as_dict().items() if k in ("id", "kind", "status", "finished_at", "summary")}
            if last
            else None
        ),
        "last_up_status": last_up.status if last_up else None,
    }
    kubeconfig = _kubeconfig(ctx)
    if not kubeconfig.is_file():
        return Check(
            "kubernetes",
            title,
            "not_configured",
            f"未配置集群。No kubeconfig at {kubeconfig}: the cloud has no cluster to provision into.",
            hint="set GOVOPS_KUBECONFIG, or start the lab with `govops lab up`",
            facts=facts,
        )
    api = kube_api(ctx, kubeconfig)
    nodes = api.list_node(_request_timeout=ctx.timeout).items
    ready = len([n for n in nodes if _node_ready(n)])
    namespaces = {n.metadata.name for n in api.list_namespace(_request_timeout=ctx.timeout).items if n.metadata}
    declared = _declared_namespaces(ctx)
    missing = sorted(declared - namespaces)
    facts.update({"nodes": len(nodes), "nodes_ready": ready, "tenants": len(declared), "tenants_missing": missing})
    problems = []
    if ready < len(nodes) or not nodes:
        problems.append(f"{ready}/{len(nodes)} nodes ready")
    if missing:
        problems.append(f"{len(missing)} tenant(s) not provisioned: {', '.join(missing[:5])}")
    if last is not None and last.status == "failed":
        problems.append(f"last Pulumi run #{last.id} ({last.kind}) failed")
    changes = {k: v for k, v in ((last.summary or {}) if last and last.kind == "preview" else {}).items() if v}
    if changes and set(changes) - {"same"}:
        problems.append(f"last preview shows drift: {changes}")
    summary = f"API up; {ready}/{len(nodes)} nodes ready; {len(declared) - len(missing)}/{len(declared)} tenants"
    if problems:
        return Check("kubernetes", title, "warning", summary + "; " + "; ".join(problems), "govops cloud up", facts)
    return Check("kubernetes", title, "ok", summary + " in sync", facts=facts)


def kube_api(ctx: StatusContext, kubeconfig: Path) -> Any:
    """A CoreV1Api per kubeconfig version: parsing it and building TLS per probe is slow."""
    from kubernetes import client, config

    key = f"kube:{kubeconfig}:{kubeconfig.stat().st_mtime_ns}"
    return ctx.cached(key, lambda: client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig))))


def _node_ready(node: Any) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _declared_namespaces(ctx: StatusContext) -> set[str]:
    from infra.model import load_cloud

    declared = ctx.settings.data_dir / "cloud" / "departments.yaml"
    if not declared.is_file():
        return set()
    return {d.namespace for d in load_cloud(declared).departments}


def cluster(ctx: StatusContext) -> Check:
    """Each host's outcome in its newest finished playbook run, as `govops cluster runs` keeps
    them: a host that failed or was unreachable, or that a check run found drifted from the
    baseline (a setting it would change), is a warning."""
    from infra.cluster.history import latest_per_host

    title = "数据中心集群 Cluster hosts"
    with ctx.sessions() as session:
        latest = latest_per_host(session)
    if not latest:
        return Check(
            "cluster",
            title,
            "not_configured",
            "没有集群运行记录。No Ansible run is recorded for the data-centre hosts.",
            hint="govops cluster harden --inventory FILE (its runs are kept: govops cluster runs)",
        )
    hosts = {
        h.host: {
            "status": h.status,
            "ok": h.ok,
            "changed": h.changed,
            "failures": h.failed,
            "dark": h.unreachable,
            "run": run.id,
            "kind": run.kind,
            "at": iso(run.finished_at),
        }
        for h, run in latest
    }
    facts = {"hosts": hosts, "newest_run": max(run.id for _, run in latest)}
    bad = sorted(h.host for h, _ in latest if h.status in ("failed", "unreachable") or h.failed or h.unreachable)
    drifted = sorted(h.host for h, run in latest if run.kind == "check" and h.changed and h.host not in bad)
    if bad:
        return Check("cluster", title, "warning", f"baseline failed on {', '.join(bad)}", "govops cluster runs", facts)
    if drifted:
        return Check(
            "cluster",
            title,
            "warning",
            f"drifted from the baseline on {', '.join(drifted)} (the last check would change settings)",
            "govops cluster harden (after reading the diff: govops cluster runs)",
            facts,
        )
    newest = max((run.finished_at for _, run in latest if run.finished_at), default=None)
    return Check("cluster", title, "ok", f"{len(hosts)} host(s) hold the baseline; last run {iso(newest)}", facts=facts)


# -- video -----------------------------------------------------------------------------------


def video(ctx: StatusContext) -> Check:
    from video.catalogue.models import Camera
    from video.coverage import Coverage
    from video.patrol.models import CameraWatch, PatrolRound

    title = "雪亮工程 Video network"
    with ctx.sessions() as session:
        cameras = session.scalar(select(func.count()).select_from(Camera)) or 0
        if not cameras:
            return Check(
                "video",
                title,
                "not_configured",
                "目录中没有摄像机。The catalogue has no cameras.",
                hint="govops video discover, then govops video onboard (or govops video import FILE)",
            )
        cov = Coverage(session, ctx.video)
        district = cov.by_area("district")[0] if cov.tree.at_level("district") else None
        faults = session.scalar(
            select(func.count())
            .select_from(Camera)
            .join(CameraWatch, CameraWatch.camera_id == Camera.id)
            .where(or_(CameraWatch.stable != "ok", Camera.picture_fault.is_(True)))
        )
        newest = select(func.max(PatrolRound.id)).group_by(PatrolRound.shard, PatrolRound.shards)
        rounds = session.scalars(select(PatrolRound).where(PatrolRound.id.in_(newest)).order_by(PatrolRound.shard))
        shards = [
            {
                "shard": f"{r.shard}/{r.shards}",
                "status": r.status,
                "finished_at": iso(r.finished_at),
                "cameras": r.cameras,
            }
            for r in rounds
        ]
    targets = cov.targets()
    online = district.online_rate if district else None
    intact = district.intact_rate if district else None
    facts = {
        "cameras": cameras,
        "online_rate": online,
        "intact_rate": intact,
        "target_online": targets["online"],
        "target_intact": targets["intact_other"],
        "faults_now": faults,
        "patrol_shards": shards,
    }
    summary = f"{cameras} 路; 在线率 {_pct(online)}; 完好率 {_pct(intact)}; {faults} 故障 faults now"
    below = (online is not None and online < targets["online"]) or (
        intact is not None and intact < targets["intact_other"]
    )
    if not shards:
        return Check("video", title, "warning", summary + "; no patrol round yet", "govops video patrol --once", facts)
    if below:
        return Check("video", title, "warning", summary + "; below target", "see /video/faults", facts)
    return Check("video", title, "ok", summary, facts=facts)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


# -- monitoring ------------------------------------------------------------------------------


def _get(ctx: StatusContext, url: str) -> httpx.Response:
    return ctx.http.get(url, timeout=ctx.timeout)


def prometheus(ctx: StatusContext) -> Check:
    title = "监控 Prometheus"
    url = ctx.status.prometheus_url
    if not url:
        return Check(
            "prometheus",
            title,
            "not_configured",
            "未配置 Prometheus。No Prometheus is set: nothing records the platform's metrics.",
            hint="set GOVOPS_PROMETHEUS_URL (the lab's: `govops lab status`)",
        )
    base = url.rstrip("/")
    ready = _get(ctx, base + "/-/ready")
    rules = _get(ctx, base + "/api/v1/rules").json().get("data", {}).get("groups", [])
    count = sum(len(g.get("rules", [])) for g in rules)
    unhealthy = [r["name"] for g in rules for r in g.get("rules", []) if r.get("health") not in (None, "ok", "unknown")]
    facts = {"url": base, "ready": ready.status_code == 200, "rule_groups": len(rules), "rules": count}
    if ready.status_code != 200:
        return Check("prometheus", title, "failing", f"not ready (HTTP {ready.status_code})", facts=facts)
    if not count:
        return Check("prometheus", title, "warning", "no alert rules loaded", "add monitoring/rules/*.yml", facts)
    if unhealthy:
        return Check("prometheus", title, "warning", f"rules failing: {', '.join(unhealthy[:5])}", facts=facts)
    return Check("prometheus", title, "ok", f"ready; {count} rules in {len(rules)} groups", facts=facts)


def alertmanager(ctx: StatusContext) -> Check:
    title = "告警 Alertmanager"
    url = ctx.status.alertmanager_url
    if not url:
        return Check(
            "alertmanager",
            title,
            "not_configured",
            "未配置 Alertmanager。No Alertmanager is set: alerts are not routed anywhere.",
            hint="set GOVOPS_ALERTS_ALERTMANAGER_URL (the lab's: `govops lab status`)",
        )
    base = url.rstrip("/")
    ready = _get(ctx, base + "/-/ready")
    status = _get(ctx, base + "/api/v2/status").json()
    receivers = len((status.get("config") or {}).get("original", "").split("- name:")) - 1
    facts = {"url": base, "ready": ready.status_code == 200, "cluster": (status.get("cluster") or {}).get("status")}
    facts["receivers"] = max(receivers, 0)
    if ready.status_code != 200:
        return Check("alertmanager", title, "failing", f"not ready (HTTP {ready.status_code})", facts=facts)
    return Check("alertmanager", title, "ok", f"ready; {facts['receivers']} receiver(s)", facts=facts)


# -- storage ---------------------------------------------------------------------------------


def database(ctx: StatusContext) -> Check:
    title = "数据库与数据目录 Database and data directory"
    with ctx.sessions() as session:
        session.execute(text("SELECT 1"))
    url = ctx.settings.sqlalchemy_url
    kind = url.split(":", 1)[0].split("+", 1)[0]
    data_dir = ctx.settings.data_dir
    usage = shutil.disk_usage(data_dir if data_dir.exists() else data_dir.parent)
    free_gib = usage.free / 2**30
    facts: dict[str, Any] = {
        "engine": kind,
        "data_dir": str(data_dir),
        "free_gib": round(free_gib, 2),
        "free_ratio": round(usage.free / usage.total, 3) if usage.total else None,
    }
    if kind == "sqlite":
        db = data_dir / "govops.db"
        facts["database_mib"] = round(db.stat().st_size / 2**20, 1) if db.exists() else None
    summary = f"{kind} answers; {free_gib:.1f} GiB free in {data_dir}"
    if free_gib < ctx.status.status_min_free_gib:
        return Check("database", title, "warning", summary + " (low)", "free space or move GOVOPS_DATA_DIR", facts)
    return Check("database", title, "ok", summary, facts=facts)


@dataclass(frozen=True)
class Probe:
    key: str
    title: str
    run: Callable[[StatusContext], Check]


PROBES: tuple[Probe, ...] = (
    Probe("keycloak", "统一身份认证 Keycloak", keycloak),
    Probe("ca", "政务 CA Certificate authority", ca),
    Probe("kubernetes", "政务云 Kubernetes", kubernetes),
    Probe("cluster", "数据中心集群 Cluster hosts", cluster),
    Probe("video", "雪亮工程 Video network", video),
    Probe("prometheus", "监控 Prometheus", prometheus),
    Probe("alertmanager", "告警 Alertmanager", alertmanager),
    Probe("database", "数据库与数据目录 Database and data directory", database),
)
