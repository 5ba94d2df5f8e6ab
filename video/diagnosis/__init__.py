"""Video quality diagnosis (视频质量诊断).

    from video.diagnosis import diagnose_source
    result = diagnose_source("rtsp://cam-17/stream1", reference="refs/cam-17.jpg")
    result.codes          # ["blur"]
    result.as_dict()      # {"source", "faults": [{"code", "score"}], "metrics", "elapsed_ms"}

Ten fault codes (`FAULT_CODES`), each with a score in [0, 1] (0.5 is the threshold); the
thresholds come from GOVOPS_VQD_* settings and can be overridden per camera with
`thresholds_for`. `diagnose_frames` judges pictures that were decoded elsewhere.
"""

from video.diagnosis.checks.scene import Reference
from video.diagnosis.diagnose import (
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
    "DiagnosisResult",
    "Fault",
    "Reference",
    "SourceError",
    "Thresholds",
    "diagnose_frames",
    "diagnose_sample",
    "diagnose_source",
    "load_reference",
    "thresholds_for",
]
