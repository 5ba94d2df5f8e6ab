"""A large catalogue for the map: N cameras spread over the sample district's grids, each with a
direction and field of view. Shared by the e2e map test and bench/gateway_map.py."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

STATUSES = ("online",) * 90 + ("offline",) * 5 + ("faulty",) * 4 + ("unknown",)


def _bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    lons = [p[0] for poly in polys for ring in poly for p in ring]
    lats = [p[1] for poly in polys for ring in poly for p in ring]
    return min(lons), min(lats), max(lons), max(lats)


def seed_cameras(runtime: Any, n: int, *, seed: int = 7, batch: int = 10_000) -> int:
    from video.catalogue.models import AdminArea, Camera

    rng = random.Random(seed)
    now = datetime.now(UTC)
    with runtime.transaction() as s:
        grids = [a for a in s.scalars(select(AdminArea).where(AdminArea.level == "grid")) if a.geometry]
        departments = ["gaj", "zzb", "cgj", "dsjj"]
        assert grids, "the sample district has no grid polygons"
        boxes = [(g.code, _bbox(g.geometry)) for g in grids]  # type: ignore[arg-type]
    made = 0
    while made < n:
        rows = []
        for i in range(made, min(n, made + batch)):
            code, (x0, y0, x1, y1) = boxes[i % len(boxes)]
            rows.append(
                {
                    "id": f"31011699001320{i:06d}",
                    "name": f"压测点位 {i}",
                    "department_code": departments[i % len(departments)],
                    "area_code": code,
                    "lat": rng.uniform(y0, y1),
                    "lon": rng.uniform(x0, x1),
                    "status": rng.choice(STATUSES),
                    "key_place": i % 17 == 0,
                    "networked": True,
                    "created_at": now,
                    "profiles": [],
                    "capabilities": {"azimuth": rng.randrange(0, 360), "fov": rng.choice((45, 60, 90))},
                    "presets": [],
                }
            )
        with runtime.transaction() as s:
            s.execute(insert(Camera), rows)
        made += len(rows)
    return made


# What the browser does: wait for the first render, then pan in steps and time each frame.
PAN_SCRIPT = """async ([steps]) => {
  const map = window.govopsLeaflet;
  const frames = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    map.panBy(i % 2 ? [-240, -120] : [240, 120], {animate: false});  // there and back: the view stays on the cameras
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    frames.push(performance.now() - t0);
  }
  return frames;
}"""


def measure_map(browser: Any, url: str, cookie: dict[str, Any], *, pans: int = 20) -> dict[str, Any]:
    """Open /video/map, wait for the first render, pan; timings in ms."""
    import statistics
    import time

    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    ctx.add_cookies([cookie])
    page = ctx.new_page()
    try:
        started = time.perf_counter()
        page.goto(url + "/video/map")
        el = page.wait_for_selector("[data-testid=map][data-ready=true]", timeout=180_000)
        first = (time.perf_counter() - started) * 1000
        cameras, drawn = int(el.get_attribute("data-cameras") or 0), int(el.get_attribute("data-drawn") or 0)
        frames = sorted(page.evaluate(PAN_SCRIPT, [pans]))
        return {
            "cameras": cameras,
            "drawn_after_first_render": drawn,
            "first_render_ms": round(first, 1),
            "first_render_in_page_ms": float(el.get_attribute("data-first-render-ms") or 0),
            "pan_frames": len(frames),
            "pan_frame_ms_p50": round(statistics.median(frames), 1),
            "pan_frame_ms_p95": round(frames[max(0, int(len(frames) * 0.95) - 1)], 1),
            "pan_frame_ms_max": round(frames[-1], 1),
            "page": page,
            "context": ctx,
        }
    except BaseException:
        ctx.close()
        raise
