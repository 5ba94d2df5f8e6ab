"""What onboarding learnt about a device: its facts and its stream profiles."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StreamProfile:
    token: str
    name: str
    encoding: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_kbps: int | None = None
    stream_uri: str | None = None
    snapshot_uri: str | None = None
    ptz: bool = False


@dataclass
class DeviceFacts:
    address: str
    manufacturer: str
    model: str
    firmware: str | None = None
    serial: str | None = None
    hardware_id: str | None = None
    mac: str | None = None
    clock_skew_s: float | None = None
    profiles: list[StreamProfile] = field(default_factory=list)
    capabilities: dict[str, bool] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """MAC first, serial number as the fallback (Home Assistant's rule)."""
        if self.mac:
            return f"mac:{self.mac}"
        return f"serial:{self.manufacturer}/{self.serial}"

    @property
    def main_profile(self) -> StreamProfile | None:
        streaming = [p for p in self.profiles if p.stream_uri]
        return max(streaming, key=lambda p: (p.width or 0) * (p.height or 0)) if streaming else None

    @property
    def ptz_profile(self) -> StreamProfile | None:
        return next((p for p in self.profiles if p.ptz), None)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["identity"] = self.identity
        return d
