"""Typed path and query parameters, and the base of every JSON request body, shared by the API
routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict

from govops.db import MAX_ID

IntId = Annotated[int, Path(ge=1, le=MAX_ID, description="a positive integer ID")]


class RequestBody(BaseModel):
    """A JSON request body. A field it does not know is a 422 naming it, not silently dropped:
    `{"nmae": …}` changed nothing and said 200, and a thresholds body without its wrapper
    cleared the camera's overrides."""

    model_config = ConfigDict(extra="forbid")
