"""Every alert rule has a runbook and a `promtool test rules` case that makes it fire (and one
that keeps it quiet where the difference matters)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.integration.test_video_rules import KPI_TEST, PATROL_TEST, RULES_DIR, _promtool_test

pytestmark = pytest.mark.integration

PLATFORM_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{job="govops", instance="gw:8080"}}'
        values: '1 1 0x10'
      - series: 'govops_http_requests_total{{route="/api/v1/alerts", status="500", method="GET"}}'
        values: '0+10x20'
      - series: 'govops_http_requests_total{{route="/api/v1/alerts", status="200", method="GET"}}'
        values: '0+90x20'
      - series: 'govops_http_requests_total{{route="/healthz", status="200", method="GET"}}'
        values: '0+100x20'
      - series: 'govops_cameras{{status="online", department="cgj"}}'
        values: '9x20'
      - series: 'govops_cameras{{status="offline", department="cgj"}}'
        values: '1x20'
      - series: 'govops_cameras{{status="online", department="gaj"}}'
        values: '10x20'
    alert_rule_test:
      - eval_time: 5m
        alertname: GovopsGatewayDown
        exp_alerts:
          - exp_labels: {{severity: critical, job: govops, instance: "gw:8080"}}
            exp_annotations:
              summary: "govops gateway gw:8080 is not answering scrapes"
              runbook: "check `govops lab status` / the gateway pod; then /readyz"
      - eval_time: 15m
        alertname: GovopsHighErrorRate
        exp_alerts:
          - exp_labels: {{severity: warning, route: "/api/v1/alerts"}}
            exp_annotations:
              summary: "more than 5% of requests to /api/v1/alerts fail"
              runbook: "the gateway log (key=value, error=...) names the failing call; /readyz checks the database"
      - eval_time: 15m
        alertname: CamerasOfflineInDepartment
        exp_alerts:
          - exp_labels: {{severity: warning, department: cgj}}
            exp_annotations:
              summary: "online rate of cgj cameras is 90%"
              runbook: "govops video list --status offline; /video/faults lists the cameras"
"""

KPI_MORE_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'govops_video_intact_other_ratio{{area="310116101"}}'
        values: '0.80x60'
      - series: 'govops_video_networking_ratio{{area="310116109"}}'
        values: '0.50x90'
      - series: 'govops_video_kpi_target{{kpi="intact_other"}}'
        values: '0.95x90'
      - series: 'govops_video_kpi_target{{kpi="networking"}}'
        values: '1x90'
      - series: 'govops_video_platform_online_ratio{{platform="zongzhi"}}'
        values: '0.9x90'
      - series: 'govops_video_kpi_target{{kpi="online"}}'
        values: '0.95x90'
    alert_rule_test:
      - eval_time: 20m
        alertname: VideoPlatformOnlineRateLow
        exp_alerts:
          - exp_labels: {{severity: warning, platform: zongzhi}}
            exp_annotations:
              summary: "在线率 of cameras shared to zongzhi is 90%"
              runbook: "govops video kpi --by platform; govops video list --platform PLATFORM --status offline"
      - eval_time: 40m
        alertname: VideoIntactRateBelowTarget
        exp_alerts:
          - exp_labels: {{severity: warning, area: "310116101"}}
            exp_annotations:
              summary: "完好率 in 310116101 is 80%"
              runbook: "govops video kpi --by area; /video/faults lists the faulty cameras"
      - eval_time: 70m
        alertname: VideoNetworkingRateBelowTarget
        exp_alerts:
          - exp_labels: {{severity: info, area: "310116109"}}
            exp_annotations:
              summary: "联网率 in 310116109 is 50%"
              runbook: "govops video list --area AREA; check each camera's networked flag and the sharing platform link"
"""

FAULTS_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'govops_video_area_cameras_by_status{{area="310116101", status="online"}}'
        values: '6x30'
      - series: 'govops_video_area_cameras_by_status{{area="310116101", status="offline"}}'
        values: '3x30'
      - series: 'govops_video_area_cameras_by_status{{area="310116101", status="faulty"}}'
        values: '1x30'
      - series: 'govops_video_area_cameras_by_status{{area="310116001", status="online"}}'
        values: '99x30'
      - series: 'govops_video_area_cameras_by_status{{area="310116001", status="faulty"}}'
        values: '1x30'
      - series: 'govops_video_online_ratio{{area="310116101"}}'
        values: '0.7x30'
      - series: 'govops_video_online_ratio{{area="310116001"}}'
        values: '1x30'
      - series: 'govops_video_kpi_target{{kpi="online"}}'
        values: '0.95x30'
    alert_rule_test:
      - eval_time: 5m
        alertname: CameraFaultRateHigh
        exp_alerts: []
      - eval_time: 15m
        alertname: CameraFaultRateHigh
        exp_alerts:
          - exp_labels: {{severity: warning, area: "310116101"}}
            exp_annotations:
              summary: "40% of the cameras in 310116101 are faulty or offline"
              runbook: "/video/faults and /alerts?area=310116101; govops video faults --json"
      - eval_time: 20m
        alertname: VideoOnlineRateBelowTarget
        exp_alerts:
          - exp_labels: {{severity: warning, area: "310116101"}}
            exp_annotations:
              summary: "在线率 in 310116101 is 70%"
              runbook: "govops video kpi --by area; govops video list --area 310116101 --status offline"
"""

IDENTITY_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'govops_keycloak_up'
        values: '1 1 0x10'
      - series: 'govops_ca_certificates_expiring{{kind="civil_servant"}}'
        values: '2x90'
      - series: 'govops_ca_certificate_expiry_timestamp_seconds{{ca="issuing"}}'
        values: '864000x90'
      - series: 'govops_ca_certificate_expiry_timestamp_seconds{{ca="root"}}'
        values: '315360000x90'
      - series: 'govops_ca_crl_next_update_timestamp_seconds'
        values: '600x20'
      - series: 'govops_login_failures_total{{action="identity.login.certificate"}}'
        values: '0 0 0 10 20 30 40 50'
    alert_rule_test:
      - eval_time: 1m
        alertname: KeycloakDown
        exp_alerts: []
      - eval_time: 6m
        alertname: KeycloakDown
        exp_alerts:
          - exp_labels: {{severity: critical}}
            exp_annotations:
              summary: "Keycloak does not answer: civil servants cannot sign in"
              runbook: "govops identity status; govops lab status (keycloak); check GOVOPS_KEYCLOAK_URL"
      - eval_time: 70m
        alertname: CertificatesExpiringSoon
        exp_alerts:
          - exp_labels: {{severity: warning, kind: civil_servant}}
            exp_annotations:
              summary: "2 civil_servant certificate(s) expire within 30 days"
              runbook: "govops ca list --json (not_after); re-issue with govops ca issue / govops ca server-cert"
      - eval_time: 60m
        alertname: CACertificateExpiringSoon
        exp_alerts:
          - exp_labels: {{severity: critical, ca: issuing}}
            exp_annotations:
              summary: "the issuing CA certificate expires in 9d 23h 0m 0s"
              runbook: "govops ca check; plan the CA renewal before every certificate it signed stops verifying"
      - eval_time: 8m
        alertname: CrlStale
        exp_alerts: []
      - eval_time: 16m
        alertname: CrlStale
        exp_alerts:
          - exp_labels: {{severity: critical}}
            exp_annotations:
              summary: "the CRL is past its nextUpdate (1970-01-01 00:10:00 +0000 UTC)"
              runbook: "govops ca crl (signs and publishes a fresh CRL); then govops ca check"
      - eval_time: 7m
        alertname: LoginFailuresHigh
        exp_alerts:
          - exp_labels: {{severity: warning}}
            exp_annotations:
              summary: "50 sign-in failures in 10 minutes"
              runbook: "govops audit list --json (identity.login*); Keycloak's login events name the accounts"
"""

INFRA_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # an `up` that failed at t=10m and was not retried; a refresh that failed, then succeeded
      - series: 'govops_cloud_last_run_timestamp_seconds{{kind="up", status="failed"}}'
        values: '_x10 600x30'
      - series: 'govops_cloud_last_run_timestamp_seconds{{kind="up", status="succeeded"}}'
        values: '0x40'
      - series: 'govops_cloud_last_run_timestamp_seconds{{kind="refresh", status="failed"}}'
        values: '60x40'
      - series: 'govops_cloud_last_run_timestamp_seconds{{kind="refresh", status="succeeded"}}'
        values: '120x40'
      - series: 'govops_cloud_drift_resources'
        values: '0 0 3x20'
      - series: 'govops_cluster_host_reachable{{host="node-1"}}'
        values: '1x20'
      - series: 'govops_cluster_host_reachable{{host="node-2"}}'
        values: '0x20'
      - series: 'govops_cluster_baseline_controls_failing{{host="node-1"}}'
        values: '2x20'
      - series: 'govops_backup_last_success_timestamp_seconds{{target="postgres"}}'
        values: '0x30'
      - series: 'govops_backup_max_age_seconds{{target="postgres"}}'
        values: '600x30'
    alert_rule_test:
      - eval_time: 15m
        alertname: ProvisioningFailed
        exp_alerts:
          - exp_labels: {{severity: critical, kind: up, status: failed}}
            exp_annotations:
              summary: "the latest cloud up failed"
              runbook: "govops cloud runs --json (error of the latest run); /api/v1/cloud/runs; fix and govops cloud up"
      - eval_time: 10m
        alertname: DriftDetected
        exp_alerts:
          - exp_labels: {{severity: warning}}
            exp_annotations:
              summary: "3 cloud resource(s) changed outside govops (drift)"
              runbook: "govops cloud preview shows the difference; govops cloud up restores the declared state"
      - eval_time: 10m
        alertname: ClusterHostUnreachable
        exp_alerts:
          - exp_labels: {{severity: critical, host: node-2}}
            exp_annotations:
              summary: "cluster host node-2 did not answer the latest playbook run"
              runbook: "govops cluster harden --check --limit node-2; check the host's network and sshd"
      - eval_time: 10m
        alertname: BaselineControlFailing
        exp_alerts:
          - exp_labels: {{severity: warning, host: node-1}}
            exp_annotations:
              summary: "2 MLPS baseline control(s) fail on node-1"
              runbook: "govops cluster harden --check --limit node-1 --json lists them; then govops cluster harden"
      - eval_time: 25m
        alertname: BackupTooOld
        exp_alerts:
          - exp_labels: {{severity: critical, target: postgres}}
            exp_annotations:
              summary: "the latest good backup of postgres is 25m 0s old"
              runbook: "run the backup job of postgres by hand, restore-test it; govops db check"
"""

SPECS = {
    "platform.yml": [PLATFORM_TEST],
    "video-kpi.yml": [KPI_TEST, KPI_MORE_TEST],
    "video-patrol.yml": [PATROL_TEST],
    "video-faults.yml": [FAULTS_TEST],
    "identity.yml": [IDENTITY_TEST],
    "infra.yml": [INFRA_TEST],
}


def _rules() -> dict[str, list[dict]]:
    return {
        p.name: [r for g in yaml.safe_load(p.read_text())["groups"] for r in g["rules"] if "alert" in r]
        for p in sorted(RULES_DIR.glob("*.yml"))
    }


def test_every_rule_has_a_runbook_and_a_promtool_case():
    rules = _rules()
    assert set(rules) == set(SPECS)
    for name, specs in SPECS.items():
        tested = {m for spec in specs for m in re.findall(r"alertname: (\w+)", spec)}
        fire = {m for spec in specs for m in re.findall(r"alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels", spec)}
        declared = {r["alert"] for r in rules[name]}
        assert declared <= tested, f"{name}: no promtool case for {sorted(declared - tested)}"
        assert declared <= fire, f"{name}: no firing case for {sorted(declared - fire)}"
        for r in rules[name]:
            runbook = r.get("annotations", {}).get("runbook", "")
            assert re.search(r"govops |/\w", runbook), f"{r['alert']}: runbook names no command or page"


@pytest.mark.parametrize(("rules", "index"), [(n, i) for n, specs in SPECS.items() for i in range(len(specs))])
def test_promtool_rule_cases(rules: str, index: int, tmp_path: Path) -> None:
    _promtool_test(SPECS[rules][index], rules, tmp_path)
