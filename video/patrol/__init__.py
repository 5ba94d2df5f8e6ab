"""The camera patrol (巡检): scheduled rounds of video quality diagnosis over the catalogue.

    patrol = Patrol(sessions, box, shard=Shard.parse("0/4"), concurrency=200)
    report = patrol.run_round()          # diagnose, store history, update status, raise/clear alerts

A round stores one history row per camera (faults, measurements, a thumbnail of the judged
picture), moves the camera's stable verdict with hysteresis (`verdict.observe`), sets the
catalogue's status / picture_fault (so 完好率 follows) and raises or resolves one alert per camera.
"""

from video.patrol.ledger import Policy
from video.patrol.rounds import Patrol, RoundReport, Shard

__all__ = ["Patrol", "Policy", "RoundReport", "Shard"]
