"""The typed dependencies of every route, and the role matrix, in one file.

Routes take what they need from here: the runtime's parts (`RuntimeDep`, `SessionDep`,
`SettingsDep`, `BoxDep`, `VideoSettingsDep`, `ThresholdsDep`) and who may call them (`Ops`,
`SecAdmin`, …). MLPS 2.0 three-role separation reads off the role aliases below: the system
admin (ops-engineer), the security admin (sec-admin) and the auditor each have their own, and
no alias mixes two of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gateway.auth import Allow
from gateway.runtime import Runtime
from govops.localtime import zone_named
from govops.principal import AUDITOR, CONTRACTOR, DEPT_ADMIN, OPS_ENGINEER, SEC_ADMIN, SECURITY_STAFF, Principal
from govops.secretbox import SecretBox
from govops.settings import Settings
from video.catalogue.settings import VideoSettings
from video.diagnosis.thresholds import Thresholds


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_db(request: Request) -> Iterator[Session]:
    """A session per request: committed if the handler returns, rolled back if it raises."""
    with get_runtime(request).transaction() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return get_runtime(request).settings


def get_box(request: Request) -> SecretBox:
    return get_runtime(request).box


def get_video_settings(request: Request) -> VideoSettings:
    return get_runtime(request).video


def get_thresholds(request: Request) -> Thresholds:
    return get_runtime(request).thresholds


def get_zone(request: Request) -> ZoneInfo:
    """The district's time zone (GOVOPS_TIMEZONE): its days and months, the times people read."""
    return zone_named(get_runtime(request).settings.timezone)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# Committed before the response leaves (FastAPI's default ends a yield dependency only after the
# response is sent): a secret shown "once" must be marked shown before anyone sees it, and the
# next request of the same client must see this one's writes.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BoxDep = Annotated[SecretBox, Depends(get_box)]
VideoSettingsDep = Annotated[VideoSettings, Depends(get_video_settings)]
ThresholdsDep = Annotated[Thresholds, Depends(get_thresholds)]
ZoneDep = Annotated[ZoneInfo, Depends(get_zone)]
# The description of a time the API is given: a program gives the offset, a person may not.
LOCAL_TIME = "ISO 8601 with its offset; without one, the district's local time (GOVOPS_TIMEZONE)"

# -- the role matrix --------------------------------------------------------------------------
# One role each: the three MLPS administrators and the two business roles.
Ops = Annotated[Principal, Depends(Allow(OPS_ENGINEER))]  # system admin: cloud, cluster, catalogue
SecAdmin = Annotated[Principal, Depends(Allow(SEC_ADMIN))]  # security admin: CA, realm security
Auditor = Annotated[Principal, Depends(Allow(AUDITOR))]  # the audit log only
DeptAdmin = Annotated[Principal, Depends(Allow(DEPT_ADMIN))]  # own department's apps and quota
SecurityStaff = Annotated[Principal, Depends(Allow(SECURITY_STAFF))]  # cameras shared to own platform
# Any signed-in user (what they then see is scoped by their roles in the domain query).
SignedIn = Annotated[Principal, Depends(Allow())]
# Combined: the business roles next to ops, never an MLPS administrator next to another.
OpsOrDeptAdmin = Annotated[Principal, Depends(Allow(OPS_ENGINEER, DEPT_ADMIN))]
OpsOrSecAdmin = Annotated[Principal, Depends(Allow(OPS_ENGINEER, SEC_ADMIN))]  # the status board
CameraViewer = Annotated[Principal, Depends(Allow(OPS_ENGINEER, DEPT_ADMIN, SECURITY_STAFF))]
CameraOperator = Annotated[Principal, Depends(Allow(OPS_ENGINEER, SECURITY_STAFF))]  # snapshots, PTZ, diagnose
# Work orders: ops all, a contractor its own, the business roles their cameras' (scoped in the query).
WorkOrderViewer = Annotated[Principal, Depends(Allow(OPS_ENGINEER, CONTRACTOR, DEPT_ADMIN, SECURITY_STAFF))]
OpsOrContractor = Annotated[Principal, Depends(Allow(OPS_ENGINEER, CONTRACTOR))]  # repairs, the contractor report
