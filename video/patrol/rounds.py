"""One patrol round: diagnose every camera of a shard, many streams in flight, and write it down.

Streams mostly wait on the network, and PyAV releases the GIL while it opens, reads and decodes,
so one worker keeps `concurrency` cameras in flight on threads (200 by default). Each diagnosis
is bounded by the sampling deadline (open + read timeouts + the stream window); a camera that
still has not finished after `camera_timeout_s` is written down as offline ("no answer") and the
round moves on. Results are written by the round's own thread in small batches, so SQLite sees
one writer. A stop request (SIGTERM from Kubernetes) lets in-flight cameras finish and be
written, starts no new one, and ends the round as `stopped`.

A camera that publishes its own image analytics over ONVIF events (ImageTooBlurry, ImageTooDark,
ImageTooBright, GlobalSceneChange, Tamper) is asked for their current state in the same round;
what it reports is added to what its picture showed (video.onvif.events).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govops import memory
from govops.db import transaction
from govops.errors import ConfigError, ValidationFailed
from govops.secretbox import SecretBox
from video.catalogue.models import Camera
from video.diagnosis import (
    FAULT_CODES,
    CameraSettings,
    DiagnosisResult,
    Fault,
    Thresholds,
    diagnose_frames,
    diagnose_source,
)
from video.diagnosis.sources import redact
from video.onvif.errors import DeviceError
from video.onvif.events import camera_fault_states
from video.patrol.baselines import learn, rows_by_camera, settings_for
from video.patrol.ledger import Outcome, Policy, record, store_reference
from video.patrol.models import CameraBaseline, CameraWatch, PatrolRound
from video.snapshots import fetch_snapshot, same_host, with_credentials

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`i/n`, worker i (from 0) of n."""
        i, sep, n = text.partition("/")
        try:
            shard = cls(int(i), int(n)) if sep else None
        except ValueError:
            shard = None
        if shard is None or not 0 <= shard.index < shard.count:
            raise ValidationFailed(f"bad shard {text!r}", hint="write it as i/n with 0 ≤ i < n, e.g. 0/4")
        return shard

    @classmethod
    def from_pod_name(cls, pod_name: str | None, shards: str | None, job_index: str | None = None) -> Shard:
        """A StatefulSet pod `<name>-<ordinal>`, or an Indexed Job pod (JOB_COMPLETION_INDEX), with
        GOVOPS_PATROL_SHARDS=n is shard ordinal/n."""
        ordinal = job_index if job_index is not None else (pod_name or "").rpartition("-")[2]
        if not ordinal.isdigit():
            raise ConfigError(
                f"cannot read a shard ordinal from the pod name {pod_name!r}",
                hint="run in a StatefulSet (pod name ends in -<ordinal>) or an Indexed Job, or pass --shard i/n",
            )
        if not (shards or "").isdigit() or int(shards or 0) < 1:
            raise ConfigError(
                f"GOVOPS_PATROL_SHARDS must be a positive number, not {shards!r}",
                hint="set it to the StatefulSet's replicas or the Indexed Job's completions",
            )
        return cls.parse(f"{int(ordinal)}/{int(shards or 1)}")

    def owns(self, camera_id: str) -> bool:
        return self.count == 1 or zlib.crc32(camera_id.encode()) % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class Target:
    """What the patrol needs of one camera, read up front so threads never touch the session."""

    camera_id: str
    # Stream URL (with credentials) or snapshot URL; None: nothing to read. Never printed.
    source: str | None = field(repr=False)
    snapshot: bool
    user: str | None
    password: str | None = field(repr=False)  # decrypted for this round only; never printed
    settings: CameraSettings  # thresholds, scene reference and baselines: what it is judged with
    problem: str | None = None  # why the camera cannot be read at all
    events_address: str | None = None  # ONVIF address when the camera publishes its own faults

    @property
    def thresholds(self) -> Thresholds:
        return self.settings.thresholds


@dataclass
class RoundReport:
    round_id: int
    shard: Shard
    cameras: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "faulty": 0, "offline": 0})
    timed_out: int = 0
    alerts_raised: int = 0
    alerts_cleared: int = 0
    status: str = "running"
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mib: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "round": self.round_id,
            "shard": str(self.shard),
            "status": self.status,
            "cameras": self.cameras,
            **self.counts,
            "timed_out": self.timed_out,
            "alerts_raised": self.alerts_raised,
            "alerts_cleared": self.alerts_cleared,
            "faults": dict(sorted(self.faults.items())),
            "elapsed_s": round(self.elapsed_s, 2),
            "cpu_s": round(self.cpu_s, 2),
            "peak_rss_mib": round(self.peak_rss_mib, 1),
        }


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def target_for(
    cam: Camera, watch: CameraWatch | None, box: SecretBox, base: Thresholds, baselines: list[CameraBaseline]
) -> Target:
    """How to read a camera: its stream first (the freeze window needs motion), else its snapshot
    URI. A device-chosen URI must stay on the host of its ONVIF address (no SSRF)."""
    password = box.decrypt(cam.password_enc) if cam.password_enc else None
    settings, problem = settings_for(watch, baselines, base)
    for url, snapshot in ((cam.stream_url, False), (cam.snapshot_url, True)):
        if not url:
            continue
        if "://" in url and not same_host(url, cam.onvif_address):
            problem = problem or "the device's URI points at another host than the camera; refused"
            continue
        source = url if snapshot else with_credentials(url, cam.username, password)
        events = cam.onvif_address if (cam.capabilities or {}).get("events") else None
        return Target(cam.id, source, snapshot, cam.username, password, settings, problem, events)
    return Target(
        cam.id, None, False, None, None, settings, problem or "the camera has neither a stream nor a snapshot URI"
    )


def _lost(target: Target, error: str, started: float) -> DiagnosisResult:
    return DiagnosisResult(
        redact(target.source or target.camera_id),
        [Fault("signal_loss", 1.0)],
        {},
        (time.perf_counter() - started) * 1000,
        error=error[:500],
    )


def diagnose_target(target: Target) -> DiagnosisResult:
    """Never raises: an unreadable camera is a signal_loss finding with an error text."""
    started = time.perf_counter()
    try:
        return _diagnose(target, started)
    except Exception as exc:  # a library failure on one camera must not end the round
        log.warning("patrol camera=%s diagnosis failed error=%r", target.camera_id, redact(str(exc)))
        return _lost(target, f"diagnosis failed: {type(exc).__name__}: {redact(str(exc))}", started)


def _diagnose(target: Target, started: float) -> DiagnosisResult:
    if target.source is None:
        return _lost(target, target.problem or "nothing to read", started)
    if not target.snapshot:
        result = diagnose_source(target.source, target.settings)
    else:
        try:
            image = fetch_snapshot(target.source, target.user, target.password, target.thresholds.read_timeout_s)
        except Exception as exc:  # an unreachable or hostile device is a finding, not a crash
            return _lost(target, f"snapshot URI: {getattr(exc, 'message', None) or exc}", started)
        result = diagnose_frames([image], target.settings, redact(target.source))
    return with_camera_events(target, result)


def with_camera_events(target: Target, result: DiagnosisResult) -> DiagnosisResult:
    """Add the faults the camera reports itself (ONVIF events) to what the picture showed.
    A camera that gives no picture has nothing to add; one whose events fail keeps its picture
    diagnosis, with the reason in the metrics."""
    if target.events_address is None or result.error is not None or "signal_loss" in result.codes:
        return result
    t = target.thresholds
    try:
        states = asyncio.run(
            camera_fault_states(
                target.events_address, target.user, target.password, request_timeout_s=min(t.read_timeout_s, 8.0)
            )
        )
    except DeviceError as err:
        result.metrics["camera_events_error"] = f"{err.step}: {err.message}"[:300]
        return result
    result.metrics["camera_events"] = states
    seen = set(result.codes)
    added = [Fault(code, 1.0) for code, active in states.items() if active and code not in seen]
    if added:
        order = {code: i for i, code in enumerate(FAULT_CODES)}
        result.faults = sorted([*result.faults, *added], key=lambda f: order[f.code])
    return result


def load_targets(
    session: Session, shard: Shard, box: SecretBox, base: Thresholds, camera_ids: list[str] | None = None
) -> list[Target]:
    stmt = select(Camera).order_by(Camera.id)
    if camera_ids is not None:
        stmt = stmt.where(Camera.id.in_(camera_ids))
    cams = [c for c in session.scalars(stmt) if shard.owns(c.id)]
    watches = (
        {
            w.camera_id: w
            for w in session.scalars(select(CameraWatch).where(CameraWatch.camera_id.in_([c.id for c in cams])))
        }
        if cams
        else {}
    )
    baselines = rows_by_camera(session, [c.id for c in cams])
    return [target_for(c, watches.get(c.id), box, base, baselines.get(c.id, [])) for c in cams]


class Patrol:
    """Rounds over the catalogue for one shard. `stop()` may be called from a signal handler."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        box: SecretBox,
        *,
        shard: Shard = Shard(),
        concurrency: int = 200,
        camera_timeout_s: float = 30.0,
        thresholds: Thresholds,
        policy: Policy = Policy(),
        batch: int = 32,
    ) -> None:
        self.sessions, self.box, self.shard, self.policy = sessions, box, shard, policy
        self.concurrency, self.camera_timeout_s, self.batch = concurrency, camera_timeout_s, batch
        self.thresholds = thresholds
        self._stop = threading.Event()
        memory.tune_for_threads()  # hundreds of decoding threads: keep RSS near what is live

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep between rounds; True when woken by stop()."""
        return self._stop.wait(seconds)

    def run_round(
        self,
        camera_ids: list[str] | None = None,
        on_result: Callable[[str, DiagnosisResult, Outcome | None], None] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> RoundReport:
        started, cpu0 = time.monotonic(), time.process_time()
        with transaction(self.sessions) as session:
            rnd = PatrolRound(
                shard=self.shard.index,
                shards=self.shard.count,
                started_at=datetime.now(UTC),
                status="running",
                cameras=0,
                ok=0,
                faulty=0,
                offline=0,
                timed_out=0,
                alerts_raised=0,
                alerts_cleared=0,
            )
            session.add(rnd)
            session.flush()
            targets = load_targets(session, self.shard, self.box, self.thresholds, camera_ids)
            rnd.cameras = len(targets)
            round_id = rnd.id
        report = RoundReport(round_id, self.shard, cameras=len(targets))
        if on_start:
            on_start(len(targets))
        log.info("patrol round=%s shard=%s cameras=%d started", round_id, self.shard, len(targets))
        status = "done"
        try:
            for batch in self._results(targets):
                self._write(batch, report, on_result)
        except BaseException:
            status = "failed"
            raise
        finally:
            if status != "failed" and self.stopping:
                status = "stopped"
            report.status = status
            report.elapsed_s = time.monotonic() - started
            report.cpu_s = time.process_time() - cpu0
            report.peak_rss_mib = peak_rss_mib()
            self._finish(report)
        log.info(
            "patrol round=%s shard=%s status=%s cameras=%d ok=%d faulty=%d offline=%d elapsed_s=%.1f",
            round_id,
            self.shard,
            status,
            report.cameras,
            report.counts["ok"],
            report.counts["faulty"],
            report.counts["offline"],
            report.elapsed_s,
        )
        return report

    def _results(self, targets: list[Target]) -> Iterator[list[tuple[Target, DiagnosisResult, bool]]]:
        """Diagnose with at most `concurrency` in flight; yield finished results in batches."""
        pending = iter(targets)
        running: dict[Future[DiagnosisResult], tuple[Target, float]] = {}
        done_batch: list[tuple[Target, DiagnosisResult, bool]] = []
        last_flush = time.monotonic()
        pool = ThreadPoolExecutor(max(1, self.concurrency), thread_name_prefix="patrol")
        try:
            while True:
                while not self.stopping and len(running) < self.concurrency:
                    target = next(pending, None)
                    if target is None:
                        break
                    running[pool.submit(diagnose_target, target)] = (target, time.monotonic())
                if not running:
                    break
                finished, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
                now = time.monotonic()
                for fut in finished:
                    target, _t0 = running.pop(fut)
                    done_batch.append((target, fut.result(), False))
                for fut, (target, t0) in list(running.items()):
                    if now - t0 > self.camera_timeout_s:
                        running.pop(fut)  # the thread ends on its own deadline; its result is dropped
                        waited_since = time.perf_counter() - (now - t0)
                        error = f"no answer within {self.camera_timeout_s:.0f} s"
                        done_batch.append((target, _lost(target, error, waited_since), True))
                if done_batch and (len(done_batch) >= self.batch or now - last_flush > 1.0 or not running):
                    yield done_batch
                    done_batch, last_flush = [], now
            if done_batch:
                yield done_batch
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _write(
        self,
        batch: list[tuple[Target, DiagnosisResult, bool]],
        report: RoundReport,
        on_result: Callable[[str, DiagnosisResult, Outcome | None], None] | None,
    ) -> None:
        outcomes: list[tuple[str, DiagnosisResult, Outcome | None]] = []
        with transaction(self.sessions) as session:
            at = datetime.now(UTC)
            for target, result, timed_out in batch:
                cam = session.get(Camera, target.camera_id)
                if cam is None:  # removed from the catalogue during the round
                    outcomes.append((target.camera_id, result, None))
                    continue
                written = record(
                    session, cam, result, origin="patrol", policy=self.policy, round_id=report.round_id, at=at
                )
                if (
                    written.verdict == "ok"
                    and target.settings.reference is None
                    and result.frame is not None
                    and not target.snapshot
                ):
                    # The first healthy picture after onboarding becomes the scene reference.
                    store_reference(session, cam.id, result.frame, at)
                # Commission (建档) the picture's mode, or refine a young baseline.
                learn(session, cam.id, target.settings, result, at)
                report.counts[written.verdict] += 1
                report.timed_out += timed_out
                report.alerts_raised += written.raised
                report.alerts_cleared += written.cleared
                for code in result.codes:
                    report.faults[code] = report.faults.get(code, 0) + 1
                outcomes.append((target.camera_id, result, written))
        for camera_id, result, outcome in outcomes:
            if on_result:
                on_result(camera_id, result, outcome)

    def _finish(self, report: RoundReport) -> None:
        with transaction(self.sessions) as session:
            rnd = session.get(PatrolRound, report.round_id)
            if rnd is None:
                return
            rnd.status, rnd.finished_at = report.status, datetime.now(UTC)
            rnd.ok, rnd.faulty, rnd.offline = (report.counts[k] for k in ("ok", "faulty", "offline"))
            rnd.timed_out, rnd.alerts_raised, rnd.alerts_cleared = (
                report.timed_out,
                report.alerts_raised,
                report.alerts_cleared,
            )
            rnd.cpu_s, rnd.peak_rss_mib = round(report.cpu_s, 2), round(report.peak_rss_mib, 1)
