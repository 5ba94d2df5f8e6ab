"""Careless input to the video room (#17 item 7, #15 items 11-13): a clean error or an empty
answer, never a 5xx, a traceback or a half-written record. Each test failed before its fix."""

from __future__ import annotations

from govops.principal import LOCAL_ADMIN
from tests.conftest import client_as
from video.catalogue.queries import CameraFilter, list_cameras


def test_unknown_area_or_group_gives_an_empty_list(app):
    ops = client_as(app, LOCAL_ADMIN)
    for params in ({"area": "0"}, {"area": "999999"}, {"group": "31011600002160000999"}):
        r = ops.get("/api/cameras", params=params)
        assert r.status_code == 200, (params, r.text)
        assert r.json()["items"] == []
    assert ops.get("/video/cameras", params={"area": "999999"}).status_code == 200


def test_empty_in_list_in_the_domain(district):
    with district.sessions() as s:
        assert list_cameras(s, LOCAL_ADMIN, CameraFilter(area="nosuch")) == []
        assert list_cameras(s, LOCAL_ADMIN, CameraFilter(group="31011600002160000999")) == []
