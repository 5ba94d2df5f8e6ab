"""The video map in Chromium with 100,000 cameras: time to first render and frame time while panning.

    .venv/bin/python bench/gateway_map.py [--cameras 100000] [--pans 30]

The catalogue is bench/video_catalogue.py's district (2,000 grids with polygons, five departments),
bulk-loaded into SQLite; the gateway is the real app under uvicorn on loopback; the browser is
Debian's Chromium through Playwright. Baseline, measured in the same run: the same page over the
sample-sized catalogue (the first 1,000 cameras only, as a department admin sees them is not
comparable, so a second database with 1,000 cameras). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from video_catalogue import load

from gateway.app import create_app
from gateway.auth import SESSION_COOKIE
from gateway.runtime import Runtime
from govops.principal import LOCAL_SYSTEM_ADMIN
from govops.settings import load_settings
from tests.e2e.map_load import measure_map
from tools.components import system_binary
from tools.lab.process import free_port


def serve(rt: Runtime) -> tuple[str, Any, Any]:
    import uvicorn

    app = create_app(rt)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", app, server


def case(browser: Any, n: int, pans: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="govops-map-") as d:
        rt = Runtime.build(load_settings(data_dir=Path(d), environment="test"))
        rt.migrate()
        t = time.perf_counter()
        info = load(rt, n)
        load_s = time.perf_counter() - t
        url, app, server = serve(rt)
        try:
            cookie = {
                "name": SESSION_COOKIE,
                "value": app.state.local_login.open_session(LOCAL_SYSTEM_ADMIN),
                "url": url,
            }
            t = time.perf_counter()
            import httpx

            r = httpx.get(url + "/video/map/cameras.json", cookies={SESSION_COOKIE: cookie["value"]}, timeout=120)
            data_ms = (time.perf_counter() - t) * 1000
            m = measure_map(browser, url, cookie, pans=pans)
            m.pop("page")
            m.pop("context").close()
            return {
                "cameras_in_catalogue": n,
                "grids": info.get("grids"),
                "load_s": round(load_s, 1),
                "cameras_json_ms": round(data_ms, 1),
                "cameras_json_mib": round(len(r.content) / 2**20, 2),
                **m,
            }
        finally:
            server.should_exit = True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=100_000)
    ap.add_argument("--baseline", type=int, default=1_000)
    ap.add_argument("--pans", type=int, default=30)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = system_binary("chromium", "chromium", "/usr/bin/chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox"])
        try:
            baseline = case(browser, args.baseline, args.pans)
            big = case(browser, args.cameras, args.pans)
        finally:
            browser.close()
    print(
        json.dumps(
            {
                "bench": "gateway_map",
                "cameras": big,
                "baseline": baseline,
                "ratio_first_render_to_baseline": round(big["first_render_ms"] / baseline["first_render_ms"], 2),
                "ratio_pan_p95_to_baseline": round(big["pan_frame_ms_p95"] / max(baseline["pan_frame_ms_p95"], 0.1), 2),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
