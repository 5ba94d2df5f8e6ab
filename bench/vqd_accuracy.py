"""Accuracy of video quality diagnosis on a generated, labelled set of clips.

    .venv/bin/python bench/vqd_accuracy.py [--strengths 0,0.5,1] [--seed-offset 0] [--workers 2]

The thresholds were tuned on the default set; `--strengths 0.25,0.75 --seed-offset 100` gives a
held-out set (other strengths, stripe periods, cast directions, occluder shapes and layouts).

Every condition of `video.diagnosis.synthetic` (healthy hard cases and faults) over the eight
street scenes, at strengths from the mildest case meant to be caught (0) to severe (1); every
fourth clip is 720p and every eighth 1080p, every third is mpeg4 instead of libx264, and every
fifth libx264 clip has its rate capped like a camera's main stream (1, 2, 4 Mbit/s at 360p,
720p, 1080p), where snow and fine detail turn into compression artefacts. Each clip
is diagnosed twice: without a reference picture (the CLI without --reference) and with the
camera's reference picture (the patrol, which stores one at onboarding). scene_change can only
be judged with a reference, so `moved` clips count only in that mode.

A clip is labelled with one code (or none, for the healthy hard cases). Per code: precision
and recall over all clips; false alarms: the share of healthy clips with any fault. Prints one
JSON object, with every clip whose result differs from its label.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from video.clips import SCENES
from video.diagnosis import FAULT_CODES, diagnose_source, load_reference
from video.diagnosis.synthetic import (
    CONDITIONS,
    HEALTHY,
    ClipSpec,
    reference_picture,
    write_condition_clip,
)

CAMERA_KBPS = {640: 1024, 1280: 2048, 1920: 4096}


def labelled_set(strengths: list[float], seconds: float, seed_offset: int = 0) -> list[ClipSpec]:
    specs, i = [], 0
    for condition in CONDITIONS:
        for scene in SCENES:
            strength = strengths[i % len(strengths)]
            i += 1
            size = (1920, 1080) if i % 8 == 0 else (1280, 720) if i % 4 == 0 else (640, 360)
            codec = "mpeg4" if i % 3 == 0 else "libx264"
            cap = CAMERA_KBPS[size[0]] if codec == "libx264" and i % 5 == 0 else None
            specs.append(
                ClipSpec(
                    condition,
                    scene,
                    strength,
                    size[0],
                    size[1],
                    seconds=seconds,
                    seed=seed_offset + i % 12,
                    codec=codec,
                    max_kbps=cap,
                )
            )
    return specs


def judge(spec: ClipSpec, workdir: str) -> dict[str, Any]:
    clip = write_condition_clip(Path(workdir) / f"{spec.name}.mp4", spec)
    plain = diagnose_source(str(clip))
    with_ref = diagnose_source(str(clip), reference=load_reference(reference_picture(spec)))
    return {
        "clip": spec.name,
        "condition": spec.condition,
        "expected": spec.expected,
        "no_reference": plain.codes,
        "reference": with_ref.codes,
        "error": plain.error or with_ref.error,
    }


def score(rows: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    rows = [r for r in rows if mode == "reference" or r["expected"] != "scene_change"]
    tp, fp, fn = Counter(), Counter(), Counter()
    for r in rows:
        expected = {r["expected"]} if r["expected"] else set()
        got = set(r[mode])
        for code in got & expected:
            tp[code] += 1
        for code in got - expected:
            fp[code] += 1
        for code in expected - got:
            fn[code] += 1
    per_code = {}
    for code in FAULT_CODES:
        if mode == "no_reference" and code == "scene_change":
            continue
        p_den, r_den = tp[code] + fp[code], tp[code] + fn[code]
        per_code[code] = {
            "precision": round(tp[code] / p_den, 3) if p_den else None,
            "recall": round(tp[code] / r_den, 3) if r_den else None,
            "tp": tp[code],
            "fp": fp[code],
            "fn": fn[code],
        }
    healthy = [r for r in rows if r["expected"] is None]
    alarms = [r for r in healthy if r[mode]]
    faulty = [r for r in rows if r["expected"] is not None]
    exact = sum(1 for r in faulty if r[mode] == [r["expected"]])
    return {
        "clips": len(rows),
        "per_code": per_code,
        "healthy_clips": len(healthy),
        "false_alarm_rate": round(len(alarms) / len(healthy), 3) if healthy else None,
        "false_alarms_by_condition": dict(Counter(r["condition"] for r in alarms)),
        "false_alarm_codes": dict(Counter(c for r in alarms for c in r[mode])),
        "faulty_exactly_right": round(exact / len(faulty), 3) if faulty else None,
        "mismatches": [
            {"clip": r["clip"], "expected": r["expected"], "got": r[mode]}
            for r in rows
            if r[mode] != ([r["expected"]] if r["expected"] else [])
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strengths", default="0,0.5,1", help="strengths to cycle through")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seconds", type=float, default=1.0, help="clip length")
    ap.add_argument("--seed-offset", type=int, default=0, help="another set of layouts")
    args = ap.parse_args()
    specs = labelled_set([float(s) for s in args.strengths.split(",")], args.seconds, args.seed_offset)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vqd-acc-") as tmp, ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(judge, specs, [tmp] * len(specs)))
    report = {
        "bench": "vqd_accuracy",
        "labelled_set": {
            "clips": len(specs),
            "conditions": len(CONDITIONS),
            "healthy_conditions": list(HEALTHY),
            "scenes": len(SCENES),
            "strengths": args.strengths,
            "seed_offset": args.seed_offset,
            "seconds": args.seconds,
            "unreadable": sum(1 for r in rows if r["error"]),
        },
        "with_reference": score(rows, "reference"),
        "without_reference": score(rows, "no_reference"),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
