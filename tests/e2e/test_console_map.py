"""The map with 100,000 cameras in Chromium: it renders, clusters and pans. Time to first render
and frame time are measured and saved (bench, not asserted; bench/gateway_map.py reports them)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import ROLES
from tests.e2e.map_load import measure_map, seed_cameras

pytestmark = pytest.mark.e2e
N = int(__import__("os").environ.get("GOVOPS_MAP_CAMERAS", "100000"))


@pytest.fixture(scope="module")
def big_map(console_server):  # type: ignore[no-untyped-def]
    seed_cameras(console_server.runtime, N)
    return console_server


def test_the_map_renders_100000_cameras(browser, big_map, artifacts):
    m = measure_map(browser, big_map.url, big_map.cookie_for(ROLES["ops-engineer"]))
    page, ctx = m.pop("page"), m.pop("context")
    try:
        assert m["cameras"] == N + 8  # the sample district's eight and the generated ones
        assert 0 < m["drawn_after_first_render"] < 2000, m  # clustered, not 100,000 markers
        assert m["pan_frames"] == 20
        page.screenshot(path=str(artifacts / "map_100k.png"))
        # zoom in on one cluster: individual cameras appear with their direction
        page.evaluate("() => { const c = window.govopsCameras[0]; window.govopsLeaflet.setView([c[1], c[2]], 17); }")
        page.wait_for_function("() => +document.querySelector('[data-testid=map]').dataset.drawn > 0")
        page.screenshot(path=str(artifacts / "map_100k_zoomed.png"))
        (artifacts / "map_100k.json").write_text(json.dumps(m, indent=1))
    finally:
        ctx.close()
