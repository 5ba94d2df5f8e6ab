"""One way to page every API list: `?cursor=&limit=` in, `{"items": [...], "next_cursor": ...}` out.

The cursor is opaque to clients (base64url of the last item's key): pass `next_cursor` back
unchanged; `null` means the last page. Keyset paging, never offsets, so a page does not shift
when rows are added in front of it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from govops.db import MAX_ID
from govops.errors import ValidationFailed

MAX_LIMIT = 500
Key = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Page:
    cursor: str | None = None
    limit: int = 50

    @property
    def after(self) -> Any | None:
        """The key of the last item the client saw, or None for the first page."""
        return decode_cursor(self.cursor) if self.cursor else None

    @property
    def after_id(self) -> int | None:
        """`after` for lists keyed by an integer id."""
        after = self.after
        if after is not None and (not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_ID):
            raise ValidationFailed(
                "the cursor does not belong to this list", hint="start again without a cursor"
            ) from None
        return after


def page_params(
    cursor: Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+={0,2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Page:
    return Page(cursor, limit)


PageDep = Annotated[Page, Depends(page_params)]


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([key], separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], int | str)):
        raise ValidationFailed(
            "the cursor is not valid", hint="pass next_cursor from the previous page unchanged, or no cursor"
        )
    return value[0]


def _key_fn(key: str | Key) -> Key:
    return (lambda item: item[key]) if isinstance(key, str) else key


def paged(items: Sequence[dict[str, Any]], next_key: Any | None) -> dict[str, Any]:
    return {"items": list(items), "next_cursor": encode_cursor(next_key) if next_key is not None else None}


def page_of(
    items: Sequence[dict[str, Any]],
    page: Page,
    *,
    key: str | Key = "id",
    descending: bool = False,
    sort: bool = False,
    by_position: bool = False,
) -> dict[str, Any]:
    """Page a list a domain function returned whole, ordered by `key` (sorted first if `sort`).
    `by_position` keeps the domain's own order (e.g. longest-standing first) and goes on after
    the item whose key the cursor names (from the start if it is gone)."""
    get = _key_fn(key)
    rows = sorted(items, key=get, reverse=descending) if sort else list(items)
    after = page.after
    if after is not None and by_position:
        keys = [get(r) for r in rows]
        rows = rows[keys.index(after) + 1 :] if after in keys else rows
    elif after is not None:
        try:
            rows = [r for r in rows if (get(r) < after if descending else get(r) > after)]
        except TypeError:
            raise ValidationFailed(
                "the cursor does not belong to this list", hint="start again without a cursor"
            ) from None
    chunk = rows[: page.limit]
    return paged(chunk, get(chunk[-1]) if len(rows) > page.limit else None)


def fetched(rows: Sequence[dict[str, Any]], page: Page, *, key: str | Key = "id") -> dict[str, Any]:
    """Page rows a query fetched with `limit + 1` (the extra row only says there is more)."""
    chunk = list(rows[: page.limit])
    return paged(chunk, _key_fn(key)(chunk[-1]) if len(rows) > page.limit else None)
