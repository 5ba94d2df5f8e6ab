"""The console's front door sends a role without cameras to its own first page, never to a 403."""

from __future__ import annotations

import pytest

from govops.principal import AUDITOR, CONTRACTOR, SEC_ADMIN, Principal
from tests.conftest import client_as


@pytest.mark.parametrize(("role", "home"), [(AUDITOR, "/audit"), (SEC_ADMIN, "/identity"), (CONTRACTOR, "/workorders")])
def test_home_redirects_to_a_page_the_role_may_open(app, role, home) -> None:  # type: ignore[no-untyped-def]
    extra = {"contractor": "c-01"} if role == CONTRACTOR else {}
    with client_as(app, Principal("u-1", "someone", frozenset({role}), **extra)) as c:
        r = c.get("/", headers={"accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == home
        assert c.get(home, headers={"accept": "text/html"}).status_code == 200
