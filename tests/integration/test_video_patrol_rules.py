"""The patrol alert rules fire on the metric shapes PatrolCollector exports (promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools.components import ComponentMissing, system_binary

pytestmark = pytest.mark.integration
RULES = Path(__file__).resolve().parents[2] / "monitoring" / "rules" / "video-patrol.yml"

TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # shard 0/2 finished a round at t=0 and then stopped; shard 1/2 finishes every 15 min
      - series: 'govops_video_patrol_last_round_timestamp_seconds{{shard="0/2"}}'
        values: '0x120'
      - series: 'govops_video_patrol_last_round_timestamp_seconds{{shard="1/2"}}'
        values: '0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 900+0x14 1800+0x14 2700+0x14 3600+0x14 4500+0x14 5400+0x14 6300+0x14 7200+0x14'
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
              runbook: "a shared cause is likely: check the video private network (视频专网) and the sub-platform first"
"""


def test_patrol_rules_fire_on_a_stale_shard_and_a_mass_outage(tmp_path: Path) -> None:
    try:
        promtool = system_binary("prometheus", "promtool", "/usr/bin/promtool")
    except ComponentMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    spec = tmp_path / "video-patrol-test.yml"
    spec.write_text(TEST.format(rules=RULES), encoding="utf-8")
    out = subprocess.run([str(promtool), "test", "rules", str(spec)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
