"""Video quality diagnosis (视频质量诊断).

    from video.diagnosis import CameraSettings, Thresholds, diagnose_source
    settings = CameraSettings(Thresholds(), reference=..., baselines={"day": ..., "night": ...})
    result = diagnose_source("rtsp://cam-17/stream1", settings)
    result.codes          # ["blur"]
    result.as_dict()      # {"source", "faults": [{"code", "score"}], "metrics", "elapsed_ms"}

Ten fault codes (`FAULT_CODES`), each with a score in [0, 1] (0.5 is the threshold). A camera
is judged against its own baseline (建档, `Baseline`) for the picture's mode (day or IR night);
without one, against the absolute thresholds. Thresholds come from GOVOPS_VQD_* settings, read
once by the caller, and can be overridden per camera with `thresholds_for`.
`diagnose_frames` judges pictures that were decoded elsewhere; `commissioned_on` gives the
settings of a camera commissioned on a reference picture (`govops video diagnose --reference`).
"""

from video.diagnosis.baseline import Baseline, CameraSettings, picture_mode
from video.diagnosis.checks.scene import Reference
from video.diagnosis.diagnose import (
    commissioned_on,
    diagnose_frames,
    diagnose_sample,
    diagnose_source,
    load_reference,
)
from video.diagnosis.result import FAULT_CODES, DiagnosisResult, Fault
from video.diagnosis.sampling import SourceError
from video.diagnosis.thresholds import Thresholds, thresholds_for

__all__ = [
    "FAULT_CODES",
    "Baseline",
    "CameraSettings",
    "DiagnosisResult",
    "Fault",
    "Reference",
    "SourceError",
    "Thresholds",
    "commissioned_on",
    "diagnose_frames",
    "diagnose_sample",
    "diagnose_source",
    "load_reference",
    "picture_mode",
    "thresholds_for",
]
