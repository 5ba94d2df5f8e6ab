"""Departments (委办局): the organisation every domain refers to.

Tenants, apps and cameras all belong to a department by its code; the kernel holds the list so
that no domain needs to import another to resolve one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from govops.db import Base


class Department(Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The SSO group path that carries membership, e.g. /310116/gaj (district/department).
    sso_group: Mapped[str] = mapped_column(String(300))
    zone: Mapped[str] = mapped_column(String(50), default="政务外网")

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "sso_group": self.sso_group, "zone": self.zone}
