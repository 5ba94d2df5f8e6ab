"""The district's wall clock: what people read.

Records, the API and `--json` keep UTC (ISO 8601 with its offset). What a person reads — the
console's pages and the CLI's tables and lines — is the district's local time (`GOVOPS_TIMEZONE`,
北京时间 Asia/Shanghai by default): an operator in 金山 reading an alert raised at 23:58 must not
see 15:58.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator

from govops.errors import ValidationFailed

MINUTE = "%Y-%m-%d %H:%M"
SECOND = "%Y-%m-%d %H:%M:%S"
DATE = "%Y-%m-%d"
# What a person may type for a time (the CLI's help; the hint when it is not one).
TYPED = "YYYY-MM-DD or 'YYYY-MM-DD HH:MM' in the district's time (GOVOPS_TIMEZONE), or ISO 8601 with its offset"
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An instant with its offset, as the records' as_dict() and the API give it.
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or ValueError saying what to give."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: give an IANA name such as Asia/Shanghai") from None


# A setting that names a time zone (GOVOPS_TIMEZONE): refused at load, with what to give.
ZoneName = Annotated[str, AfterValidator(lambda name: zone_named(name).key)]


@lru_cache(maxsize=1)
def configured_zone() -> ZoneInfo:
    """The zone of this process's settings (GOVOPS_TIMEZONE, or the .env file), read once: for the
    CLI and the domains. Only that variable is read: a bad unrelated setting is not this
    function's to refuse (`govops serve` refuses it, with its name)."""
    from pydantic_settings import BaseSettings, SettingsConfigDict

    from govops.settings import load_or_explain

    class Zone(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="GOVOPS_", env_file=".env", extra="ignore")
        timezone: ZoneName = "Asia/Shanghai"

    return zone_named(load_or_explain(Zone).timezone)


def shown(value: datetime | str | None, zone: ZoneInfo | None = None, fmt: str = MINUTE) -> str:
    """`value` (an aware datetime, or an ISO 8601 instant with its offset) as the district's
    local time in `fmt`; a naive datetime is UTC, as the records keep it. Anything else (None,
    a date, "running", free text) is given back as it is, "" for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        if not INSTANT.match(value):
            return value
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:  # shaped like an instant, but no real one (month 13)
            return value
    elif isinstance(value, datetime):
        moment = value
    else:
        return str(value)  # a date, a number: nothing to convert
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone or configured_zone()).strftime(fmt)


def day_start(day: str, zone: ZoneInfo | None = None, *, after: bool = False) -> datetime:
    """When the district's calendar day `day` (YYYY-MM-DD) begins, in UTC; with `after`, when
    the next one begins (the end of a range that includes `day`)."""
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise ValidationFailed(f"{day!r} is not a date", hint="give YYYY-MM-DD, e.g. 2026-12-01") from None
    local = datetime.combine(d + timedelta(days=1 if after else 0), time(), zone or configured_zone())
    return local.astimezone(UTC)


def assumed_local(moment: datetime | None, zone: ZoneInfo | None = None) -> datetime | None:
    """A time given to the API or a form: with an offset it is that instant; without one it is
    the district's wall clock, as a person in 金山 means it (a program gives the offset). In UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone or configured_zone())
    return moment.astimezone(UTC)


def typed(value: str, zone: ZoneInfo | None = None, *, end: bool = False, what: str = "time") -> datetime:
    """A time a person typed, in UTC. YYYY-MM-DD is the district's day: when it begins, or with
    `end` when it ends (so that "until 2026-12-07" includes the 7th). YYYY-MM-DD HH:MM[:SS] is the
    district's wall clock; an ISO 8601 time with its offset (Z, +08:00) is that instant."""
    zone = zone or configured_zone()
    text = value.strip()
    if DAY.match(text):
        return day_start(text, zone, after=end)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if len(text) >= 16 else None
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationFailed(
            f"{what} {value!r} is not a date or a time",
            hint=f"give {TYPED.replace('GOVOPS_TIMEZONE', zone.key)}",
        )
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)
