"""Onboarding N simulated ONVIF devices, concurrently, against a serial loop.

    .venv/bin/python bench/video_onboarding.py [--devices 500] [--concurrency 64]
                                               [--latency-ms 20] [--serial-sample 60]

The devices are tools/lab/fake_onvif (one asyncio process, one loopback port per device, the
same SOAP as ipycam plus MAC and events, WS-Security digests checked) in a child process, so the
devices and govops do not share a CPU core's event loop. `--latency-ms` is how long a device
takes to answer each request (embedded camera web servers take tens of ms); 0 makes it CPU-bound.

The concurrent run is the real thing: `device_service.onboard` into a SQLite catalogue (inspect every
device, then store cameras with encrypted passwords and audit records); `inspect_s` and
`store_s` split its time. The serial loop
inspects `--serial-sample` devices one after another with the same code and is extrapolated to
N. The WSDLs are parsed before either clock starts. Prints one JSON object; goal: N=500 in
≤ 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.runtime import Runtime
from gateway.sample_district import DEPARTMENTS
from govops.org import Department
from govops.settings import load_settings
from tools.lab.process import ManagedProcess
from video.catalogue.registry import Placement
from video.onvif import Credentials
from video.onvif import service as device_service
from video.onvif.onboarding import inspect_one
from video.onvif.transport import warm_up


def start_fleet(workdir: Path, count: int, latency_ms: float, password: str) -> tuple[ManagedProcess, list[str]]:
    proc = ManagedProcess(
        "fake-onvif",
        [sys.executable, "-m", "tools.lab.fake_onvif", "serve", "--count", str(count), "--latency-ms", str(latency_ms)],
        workdir / "fleet.log",
        env={"FAKE_ONVIF_PASSWORD": password},
        cwd=Path(__file__).resolve().parents[1],
    )
    ports: list[int] = []

    def ready() -> bool:
        for line in proc.log_path.read_text().splitlines():
            if line.startswith("{"):
                ports.extend(json.loads(line)["ports"])
                return True
        return False

    proc.wait_until(ready, 120, "the fleet's port list")
    return proc, [f"127.0.0.1:{p}" for p in ports]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--serial-sample", type=int, default=60)
    args = ap.parse_args()
    password = secrets.token_urlsafe(12)
    result: dict[str, Any] = {
        "benchmark": "video_onboarding",
        "devices": args.devices,
        "concurrency": args.concurrency,
        "device_latency_ms": args.latency_ms,
        "goal": "500 devices in <= 60 s",
    }
    with tempfile.TemporaryDirectory(prefix="govops-bench-onboard-") as d:
        work = Path(d)
        fleet, addresses = start_fleet(work, args.devices, args.latency_ms, password)
        try:
            rt = Runtime.build(load_settings(data_dir=work / "data", environment="test"))
            rt.migrate()
            with rt.transaction() as s:
                for code, name, zone in DEPARTMENTS:
                    s.add(Department(code=code, name=name, sso_group=f"/310116/{code}", zone=zone))
            asyncio.run(warm_up())

            last_result = [0.0]

            def on_result(_r: Any) -> None:
                last_result[0] = time.perf_counter()

            t0 = time.perf_counter()
            with rt.transaction() as s:
                report = device_service.onboard(
                    s,
                    addresses,
                    user="admin",
                    password=password,
                    placement=Placement(department="gaj"),
                    box=rt.box,
                    settings=rt.video,
                    actor="bench",
                    concurrency=args.concurrency,
                    device_timeout_s=60,
                    on_result=on_result,
                )
            elapsed = time.perf_counter() - t0
            inspect_s = last_result[0] - t0
            per_device = [r["elapsed_ms"] for r in report["results"]]
            result.update(
                {
                    "onboarded": report["onboarded"],
                    "failed": report["failed"],
                    "elapsed_s": round(elapsed, 2),
                    "devices_per_s": round(args.devices / elapsed, 1),
                    "inspect_s": round(inspect_s, 2),
                    "store_s": round(elapsed - inspect_s, 2),
                    "per_device_p50_ms": round(statistics.median(per_device), 1),
                    "per_device_p95_ms": round(sorted(per_device)[int(0.95 * (len(per_device) - 1))], 1),
                }
            )

            async def serial() -> list[float]:
                times = []
                creds = Credentials("admin", password)
                for target in addresses[: args.serial_sample]:
                    t = time.perf_counter()
                    r = await inspect_one(target, creds, device_timeout_s=60, request_timeout_s=8)
                    assert r.ok, r.error
                    times.append(time.perf_counter() - t)
                return times

            serial_times = asyncio.run(serial())
            serial_per_device = statistics.mean(serial_times)
            result.update(
                {
                    "serial_sample": len(serial_times),
                    "serial_per_device_ms": round(serial_per_device * 1000, 1),
                    "serial_devices_per_s": round(1 / serial_per_device, 1),
                    "serial_extrapolated_s": round(serial_per_device * args.devices, 1),
                    "speedup_vs_serial": round(serial_per_device * args.devices / elapsed, 1),
                    "inspect_speedup_vs_serial": round(serial_per_device * args.devices / inspect_s, 1),
                    "meets_goal": report["onboarded"] == args.devices and elapsed <= 60 * args.devices / 500,
                }
            )
            rt.engine.dispose()
        finally:
            fleet.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
