"""What a diagnosis says: the faults found, each with a score, and the measurements behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# 视频质量诊断 fault codes, in the order they are reported.
FAULT_CODES = (
    "signal_loss",
    "freeze",
    "blur",
    "too_dark",
    "too_bright",
    "color_cast",
    "noise",
    "occlusion",
    "stripes",
    "scene_change",
)


@dataclass(frozen=True)
class Fault:
    code: str
    score: float  # 0 … 1; 0.5 is the threshold, 1 is far past it

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "score": round(self.score, 3)}


@dataclass
class DiagnosisResult:
    source: str
    faults: list[Fault]
    metrics: dict[str, Any]
    elapsed_ms: float
    error: str | None = None
    # The judged picture at the analysis size (BGR), for thumbnails; None when nothing decoded.
    frame: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.faults]

    @property
    def healthy(self) -> bool:
        return not self.faults

    @property
    def without_baseline(self) -> bool:
        """Judged on the absolute thresholds (no baseline for the picture's mode): a guess for the
        codes a baseline makes relative, which a person may refuse."""
        return self.metrics.get("basis") == "absolute"

    def score(self, code: str) -> float:
        return next((f.score for f in self.faults if f.code == code), 0.0)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "source": self.source,
            "faults": [f.as_dict() for f in self.faults],
            "metrics": self.metrics,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }
        if self.error is not None:
            body["error"] = self.error
        return body
