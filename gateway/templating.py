"""The console's templates, one environment for every page, with the filters they share.

`local`: an instant (a datetime, or an ISO 8601 string with its offset) as the district's local
time (govops.localtime; the zone of this gateway's settings), e.g. `{{ a.starts_at|local }}`,
`{{ r.at|local(SECOND) }}`, `{{ g.expires_at|local(DATE) }}`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from gateway.deps import get_zone
from govops.localtime import DATE, MINUTE, SECOND, shown

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


@pass_context
def _local(context: Any, value: datetime | str | None, fmt: str = MINUTE) -> str:
    request = context.get("request")
    return shown(value, get_zone(request) if request is not None else None, fmt)


templates.env.filters["local"] = _local
templates.env.globals.update(SECOND=SECOND, DATE=DATE)  # the formats pages pass; MINUTE is the default
