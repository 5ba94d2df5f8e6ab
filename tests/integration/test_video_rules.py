"""The video KPI alert rules fire against the metric shapes the collector exports (promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools.components import ComponentMissing, system_binary

pytestmark = pytest.mark.integration
RULES = Path(__file__).resolve().parents[2] / "monitoring" / "rules" / "video-kpi.yml"

TEST = """
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


def test_video_kpi_rules_fire_where_targets_are_missed(tmp_path):
    try:
        promtool = system_binary("prometheus", "promtool", "/usr/bin/promtool")
    except ComponentMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    spec = tmp_path / "video-kpi-test.yml"
    spec.write_text(TEST.format(rules=RULES), encoding="utf-8")
    out = subprocess.run([str(promtool), "test", "rules", str(spec)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
