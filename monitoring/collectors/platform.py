"""Collectors for the rest of the platform: the cloud (Pulumi runs and drift), the data-centre
cluster, identity (the CA, the CRL, login failures) and the alert loop's channels.

All read stored state at scrape time with a handful of grouped queries; labels are bounded
(run kind × status, certificate kind, CA name).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govops.audit import AuditRecord
from identity.models import IssuedCertificate, PublishedCrl
from infra.provisioning.models import CloudRun
from monitoring.collectors.base import ScrapeCollector

EXPIRY_WINDOW = timedelta(days=30)
# Audit actions that record a sign-in; failures are those with result failure/denied.
LOGIN_ACTIONS = ("auth.login", "identity.login", "identity.login.certificate", "identity.login.sso")


def _ts(at: datetime | None) -> float | None:
    if at is None:
        return None
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at).timestamp()


class CloudCollector(ScrapeCollector):
    """Pulumi runs (preview, up, refresh, destroy-tenant) and drift from the latest refresh."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def families(self) -> dict[str, Metric]:
        return {
            "runs": CounterMetricFamily(
                "govops_cloud_runs", "Pulumi runs stored, by kind and final status", labels=["kind", "status"]
            ),
            "last": GaugeMetricFamily(
                "govops_cloud_last_run_timestamp_seconds",
                "When the latest run of the kind with the status finished (Unix time)",
                labels=["kind", "status"],
            ),
            "drift": GaugeMetricFamily(
                "govops_cloud_drift_resources",
                "Resources the latest successful refresh found changed outside govops (drift)",
            ),
            "refreshed": GaugeMetricFamily(
                "govops_cloud_last_refresh_timestamp_seconds", "When the latest successful refresh finished"
            ),
        }

    def fill(self, fams: dict[str, Any]) -> None:
        with self._sessions() as session:
            for kind, status, n, last in session.execute(
                select(CloudRun.kind, CloudRun.status, func.count(), func.max(CloudRun.finished_at)).group_by(
                    CloudRun.kind, CloudRun.status
                )
            ):
                fams["runs"].add_metric([kind, status], n)
                if (t := _ts(last)) is not None:
                    fams["last"].add_metric([kind, status], t)
            refresh = session.scalar(  # the latest drift check (a refresh preview) or accepted refresh
                select(CloudRun)
                .where(CloudRun.kind.in_(("drift", "refresh")), CloudRun.status == "succeeded")
                .order_by(CloudRun.id.desc())
                .limit(1)
            )
            if refresh is not None:
                fams["drift"].add_metric([], len(refresh.changes or []) if refresh.kind == "drift" else 0)
                if (t := _ts(refresh.finished_at)) is not None:
                    fams["refreshed"].add_metric([], t)


class ClusterCollector(ScrapeCollector):
    """The data-centre cluster's hosts, from each host's latest stored run (`govops cluster
    apply|check`), and the backup directory's newest archive."""

    def __init__(
        self,
        sessions: Callable[[], Session] | None = None,
        backup_dir: Path | None = None,
        backup_max_age_s: float | None = None,
    ) -> None:
        self._sessions = sessions
        self._backup_dir = backup_dir
        self._backup_max_age_s = backup_max_age_s

    def families(self) -> dict[str, Metric]:
        return {
            "available": GaugeMetricFamily(
                "govops_cluster_run_history_available", "1 when playbook runs are stored and the series below are real"
            ),
            "reachable": GaugeMetricFamily(
                "govops_cluster_host_reachable", "1 if the host answered the latest playbook run", labels=["host"]
            ),
            "last": GaugeMetricFamily(
                "govops_cluster_host_last_run_timestamp_seconds", "When the host's latest run ended", labels=["host"]
            ),
            "failing": GaugeMetricFamily(
                "govops_cluster_baseline_controls_failing",
                "MLPS baseline controls failing on the host in the latest run",
                labels=["host"],
            ),
            "backup": GaugeMetricFamily(
                "govops_backup_last_success_timestamp_seconds",
                "When the target's newest backup archive was written",
                labels=["target"],
            ),
            "backup_max": GaugeMetricFamily(
                "govops_backup_max_age_seconds", "How old the target's backup may be (its schedule)", labels=["target"]
            ),
        }

    def fill(self, fams: dict[str, Any]) -> None:
        from infra.cluster.backup import list_backups
        from infra.cluster.history import latest_per_host

        if self._sessions is None:
            fams["available"].add_metric([], 0)
            return
        fams["available"].add_metric([], 1)
        with self._sessions() as session:
            for host, run in latest_per_host(session):
                fams["reachable"].add_metric([host.host], 0 if host.status == "unreachable" else 1)
                if (t := _ts(run.finished_at)) is not None:
                    fams["last"].add_metric([host.host], t)
                controls = (host.controls or {}).get("controls") or []
                failing = sum(1 for c in controls if not str(c.get("status", "")).startswith(("applied", "configured")))
                fams["failing"].add_metric([host.host], failing)
        newest = next(iter(list_backups(self._backup_dir)), None) if self._backup_dir else None
        if newest is not None:
            fams["backup"].add_metric([str(self._backup_dir)], newest.stat().st_mtime)
        if self._backup_dir is not None and self._backup_max_age_s is not None:
            # the schedule, which BackupTooOld compares with the newest archive's time
            fams["backup_max"].add_metric([str(self._backup_dir)], self._backup_max_age_s)


class IdentityCollector(ScrapeCollector):
    """The government CA: certificates close to expiry, the CA certificates themselves, the CRL's
    age; and sign-in failures from the audit log."""

    def __init__(self, sessions: Callable[[], Session], ca_dir: Path) -> None:
        self._sessions = sessions
        self._ca_dir = ca_dir
        self._ca_cache: dict[str, tuple[float, float]] = {}  # which -> (mtime, not_after ts)

    def families(self) -> dict[str, Metric]:
        return {
            "expiring": GaugeMetricFamily(
                "govops_ca_certificates_expiring",
                "Valid, unrevoked certificates that expire within 30 days, by kind",
                labels=["kind"],
            ),
            "valid": GaugeMetricFamily(
                "govops_ca_certificates_valid", "Valid, unrevoked certificates, by kind", labels=["kind"]
            ),
            "ca_expiry": GaugeMetricFamily(
                "govops_ca_certificate_expiry_timestamp_seconds",
                "When the CA's own certificate expires (Unix time)",
                labels=["ca"],
            ),
            "crl_age": GaugeMetricFamily("govops_ca_crl_age_seconds", "Seconds since the newest CRL was signed"),
            "crl_next": GaugeMetricFamily(
                "govops_ca_crl_next_update_timestamp_seconds", "The newest CRL's nextUpdate (Unix time)"
            ),
            "logins": CounterMetricFamily(
                "govops_login_failures", "Sign-in failures recorded in the audit log", labels=["action"]
            ),
        }

    def _ca_not_after(self, which: str) -> float | None:
        path = self._ca_dir / f"{which}.crt.pem"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._ca_cache.get(which)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            return None
        value = cert.not_valid_after_utc.timestamp()
        self._ca_cache[which] = (mtime, value)
        return value

    def fill(self, fams: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        for which in ("root", "issuing"):
            if (t := self._ca_not_after(which)) is not None:
                fams["ca_expiry"].add_metric([which], t)
        with self._sessions() as session:
            live = (
                IssuedCertificate.revoked_at.is_(None),
                IssuedCertificate.not_after > now,
                IssuedCertificate.not_before <= now,
            )
            for kind, n in session.execute(
                select(IssuedCertificate.kind, func.count()).where(*live).group_by(IssuedCertificate.kind)
            ):
                fams["valid"].add_metric([kind], n)
            for kind, n in session.execute(
                select(IssuedCertificate.kind, func.count())
                .where(*live, IssuedCertificate.not_after <= now + EXPIRY_WINDOW)
                .group_by(IssuedCertificate.kind)
            ):
                fams["expiring"].add_metric([kind], n)
            crl = session.execute(
                select(PublishedCrl.this_update, PublishedCrl.next_update).order_by(PublishedCrl.number.desc()).limit(1)
            ).first()
            if crl is not None:
                fams["crl_age"].add_metric([], max(0.0, now.timestamp() - (_ts(crl[0]) or 0)))
                fams["crl_next"].add_metric([], _ts(crl[1]) or 0)
            counts = dict.fromkeys(LOGIN_ACTIONS, 0)
            for action, n in session.execute(
                select(AuditRecord.action, func.count())
                .where(AuditRecord.action.in_(LOGIN_ACTIONS), AuditRecord.result.in_(("failure", "denied")))
                .group_by(AuditRecord.action)
            ):
                counts[action] = n
            for action, n in counts.items():
                fams["logins"].add_metric([action], n)


class KeycloakProbe(ScrapeCollector):
    """Keycloak reachability, probed in the background and cached: a scrape never waits on it.

    A scrape that finds the cached result older than `every_s` starts one probe thread (with a
    timeout) and exports what it knew; the next scrape sees the new result."""

    def __init__(
        self,
        url: str | None,
        realm: str,
        *,
        every_s: float = 15.0,
        timeout_s: float = 5.0,
        verify: bool | str = True,
        get: Callable[..., Any] | None = None,
    ) -> None:
        self.url = url.rstrip("/") if url else None
        self.realm = realm
        self.every_s = every_s
        self.timeout_s = timeout_s
        self.verify = verify
        self._get = get
        self._lock = threading.Lock()
        self._running = False
        self.result: tuple[float, float, float] | None = None  # (up, seconds, probed at)

    def families(self) -> dict[str, Metric]:
        return {
            "configured": GaugeMetricFamily("govops_keycloak_configured", "1 if GOVOPS_KEYCLOAK_URL is set"),
            "up": GaugeMetricFamily("govops_keycloak_up", "1 if Keycloak's realm answered the latest probe"),
            "seconds": GaugeMetricFamily("govops_keycloak_probe_seconds", "How long the latest probe took"),
            "at": GaugeMetricFamily("govops_keycloak_probe_timestamp_seconds", "When the latest probe ran"),
        }

    def probe(self) -> None:
        import time

        import httpx

        started = time.monotonic()
        get = self._get or httpx.get
        try:
            r = get(
                f"{self.url}/realms/{self.realm}/.well-known/openid-configuration",
                timeout=self.timeout_s,
                verify=self.verify,
            )
            up = 1.0 if r.status_code == 200 else 0.0
        except Exception:  # any failure to answer is "down"
            up = 0.0
        self.result = (up, time.monotonic() - started, datetime.now(UTC).timestamp())
        with self._lock:
            self._running = False

    def _maybe_start(self) -> None:
        now = datetime.now(UTC).timestamp()
        with self._lock:
            if self._running or (self.result is not None and now - self.result[2] < self.every_s):
                return
            self._running = True
        threading.Thread(target=self.probe, name="govops-keycloak-probe", daemon=True).start()

    def fill(self, fams: dict[str, Any]) -> None:
        fams["configured"].add_metric([], 1 if self.url else 0)
        if not self.url:
            return
        self._maybe_start()
        if self.result is not None:
            up, seconds, at = self.result
            fams["up"].add_metric([], up)
            fams["seconds"].add_metric([], seconds)
            fams["at"].add_metric([], at)
