"""Hysteresis: a camera's stable verdict changes only after the same new verdict repeats.

A camera that turns faulty for one round and back (a passing truck, a wiper, a network hiccup)
makes no alert; a camera that flaps between rounds keeps one alert open instead of a storm,
because clearing takes `clear_after` good rounds in a row just as raising takes `raise_after`
bad ones. A person's own request (re-diagnose on demand) is believed at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from video.diagnosis import DiagnosisResult


def verdict_of(result: DiagnosisResult) -> str:
    """ok, faulty (the picture has a fault) or offline (no picture at all)."""
    if result.error is not None or "signal_loss" in result.codes:
        return "offline" if result.error is not None else "faulty"
    return "faulty" if result.faults else "ok"


@dataclass(frozen=True)
class Step:
    """What one observation did: the new stable verdict, and whether it changed."""

    stable: str
    pending: str | None
    streak: int
    changed: bool
    previous: str


def observe(
    stable: str,
    pending: str | None,
    streak: int,
    verdict: str,
    *,
    raise_after: int,
    clear_after: int,
    confirmed: bool = False,
) -> Step:
    """Feed one verdict to a camera whose stable verdict is `stable`, with `streak` earlier
    observations of `pending` in a row."""
    if verdict == stable:
        return Step(stable, None, 0, False, stable)
    streak = streak + 1 if verdict == pending else 1
    needed = clear_after if verdict == "ok" else raise_after
    if confirmed or streak >= needed:
        return Step(verdict, None, 0, True, stable)
    return Step(stable, verdict, streak, False, stable)
