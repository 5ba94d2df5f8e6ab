"""The video alert rules (KPIs, patrol) fire on the metric shapes the collectors export (promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools.components import ComponentMissing, system_binary

pytestmark = pytest.mark.integration
RULES_DIR = Path(__file__).resolve().parents[2] / "monitoring" / "rules"

KPI_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'govops_video_intact_key_place_ratio{{area="310116001"}}'
        values: '0.90x60'
      - series: 'govops_video_intact_key_place_ratio{{area="310116101"}}'
        values: '0.99x60'
      - series: 'govops_video_key_place_coverage_ratio{{area="310116109"}}'
        values: '0.75x60'
      - series: 'govops_video_platform_online_ratio{{platform="gongan"}}'
        values: '0.97x60'
      - series: 'govops_video_kpi_target{{kpi="intact_key_place"}}'
        values: '0.98x60'
      - series: 'govops_video_kpi_target{{kpi="key_place_coverage"}}'
        values: '1x60'
      - series: 'govops_video_kpi_target{{kpi="online"}}'
        values: '0.95x60'
    alert_rule_test:
      - eval_time: 40m
        alertname: VideoIntactRateKeyPlacesBelowTarget
        exp_alerts:
          - exp_labels: {{severity: warning, area: "310116001"}}
            exp_annotations:
              summary: "完好率 of key-place cameras in 310116001 is 90%"
              runbook: "govops video kpi --by area; open /video/map?colour=intact to find the grids"
      - eval_time: 20m
        alertname: VideoKeyPlaceNotCovered
        exp_alerts:
          - exp_labels: {{severity: warning, area: "310116109"}}
            exp_annotations:
              summary: "key places of 310116109 covered at 75%"
              runbook: "/video/kpi?level=grid lists the key grids without an online camera"
      - eval_time: 40m
        alertname: VideoPlatformOnlineRateLow
        exp_alerts: []
"""


PATROL_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # shard 0/2 finished a round at t=0 and then stopped; shard 1/2 finishes every 15 min
      - series: 'govops_video_patrol_last_round_timestamp_seconds{{shard="0/2"}}'
        values: '0x120'
      - series: 'govops_video_patrol_last_round_timestamp_seconds{{shard="1/2"}}'
        values: '0x14 900x14 1800x14 2700x14 3600x14 4500x14 5400x14 6300x14 7200x14'
      - series: 'govops_video_patrol_interval_seconds'
        values: '900x120'
      - series: 'govops_video_patrol_round_cameras{{shard="0/2", verdict="ok"}}'
        values: '90x120'
      - series: 'govops_video_patrol_round_cameras{{shard="0/2", verdict="offline"}}'
        values: '10x120'
      - series: 'govops_video_patrol_round_cameras{{shard="1/2", verdict="ok"}}'
        values: '60x120'
      - series: 'govops_video_patrol_round_cameras{{shard="1/2", verdict="offline"}}'
        values: '40x120'
      - series: 'govops_video_false_alarms_accepted{{code="color_cast"}}'
        values: '2x10 6x110'
      - series: 'govops_video_false_alarms_accepted{{code="blur"}}'
        values: '4x120'
    alert_rule_test:
      - eval_time: 40m
        alertname: VideoPatrolStale
        exp_alerts: []
      - eval_time: 60m
        alertname: VideoPatrolStale
        exp_alerts:
          - exp_labels: {{severity: warning, shard: "0/2"}}
            exp_annotations:
              summary: "patrol shard 0/2 has not finished a round for 1h 0m 0s"
              runbook: "govops video rounds; check the govops-diagnosis pod of that ordinal"
      - eval_time: 20m
        alertname: VideoPatrolManyOffline
        exp_alerts:
          - exp_labels: {{severity: critical, shard: "1/2"}}
            exp_annotations:
              summary: "40% of the cameras of patrol shard 1/2 are offline"
              runbook: "shared cause likely: check the video network (视频专网) and sub-platform; govops video rounds"
      - eval_time: 30m
        alertname: VideoDiagnosisCriesWolf
        exp_alerts: []
      - eval_time: 60m
        alertname: VideoDiagnosisCriesWolf
        exp_alerts:
          - exp_labels: {{severity: warning, code: "color_cast"}}
            exp_annotations:
              summary: "6 color_cast alarms accepted as false in 7 days"
              runbook: "audit action video.baseline.accept names the cameras; govops video thresholds"
"""


def _promtool_test(spec: str, rules: str, tmp_path: Path) -> None:
    try:
        promtool = system_binary("prometheus", "promtool", "/usr/bin/promtool")
    except ComponentMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    path = tmp_path / f"{rules}-test.yml"
    path.write_text(spec.format(rules=RULES_DIR / rules), encoding="utf-8")
    out = subprocess.run([str(promtool), "test", "rules", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_video_kpi_rules_fire_where_targets_are_missed(tmp_path: Path) -> None:
    _promtool_test(KPI_TEST, "video-kpi.yml", tmp_path)


def test_patrol_rules_fire_on_a_stale_shard_a_mass_outage_and_a_check_that_cries_wolf(tmp_path: Path) -> None:
    _promtool_test(PATROL_TEST, "video-patrol.yml", tmp_path)
