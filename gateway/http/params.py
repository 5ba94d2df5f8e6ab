"""Typed path and query parameters shared by the API routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MAX_ID = 2**63 - 1  # the largest BIGINT: bigger IDs are a 422, not an OverflowError in the driver

IntId = Annotated[int, Path(ge=1, le=MAX_ID, description="a positive integer ID")]
