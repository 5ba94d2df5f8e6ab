"""GB/T 28181 20-digit device and platform codes (编码规则).

  digits 1-8   centre code: GB/T 2260 division (6) + grassroots unit (2)
  digits 9-10  industry code (行业编码)
  digits 11-13 type code (类型编码): 111-130 front-end devices, 131 camera, 132 IPC,
               200 centre server, 215 business group (业务分组), 216 virtual org (虚拟组织) ...
  digit  14    network code (网络标识): 0-4 video private network, 5 public-security network,
               6 government network, 7 Internet, 8 social resources network
  digits 15-20 serial number
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from govops.errors import ValidationFailed

TYPE_NAMES = {
    "111": "DVR", "112": "video server", "113": "encoder", "114": "decoder",
    "115": "video switch matrix", "116": "audio switch matrix", "117": "alarm controller",
    "118": "NVR", "130": "hybrid NVR", "131": "camera", "132": "IPC", "133": "display",
    "134": "alarm input", "135": "alarm output", "136": "audio input", "137": "audio output",
    "138": "mobile transmitter", "139": "other peripheral",
    "200": "centre signalling server", "201": "web application server", "202": "media server",
    "203": "proxy server", "204": "security server", "205": "alarm server",
    "206": "database server", "207": "GIS server", "208": "management server",
    "209": "access gateway", "210": "media storage server", "211": "signalling security gateway",
    "212": "business group server", "215": "business group", "216": "virtual organisation",
    "300": "centre user", "400": "terminal user",
}
CAMERA_TYPES = ("131", "132")
NETWORKS = {str(n): name for n, name in enumerate(
    ["监控报警专网", "监控报警专网", "监控报警专网", "监控报警专网", "监控报警专网",
     "公安信息网", "政务网", "Internet", "社会资源接入网", "预留"])}
_DIGITS = re.compile(r"^\d{20}$")
# GB/T 2260 province-level prefixes in use (11 北京 ... 82 澳门).
PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
}


@dataclass(frozen=True)
class GbCode:
    centre: str
    industry: str
    type: str
    network: str
    serial: str

    @property
    def division(self) -> str:
        return self.centre[:6]

    def __str__(self) -> str:
        return f"{self.centre}{self.industry}{self.type}{self.network}{self.serial}"

    @property
    def is_camera(self) -> bool:
        return self.type in CAMERA_TYPES


def parse(code: str) -> GbCode:
    """Validate and split a code; the error says which part is wrong."""
    code = str(code).strip()
    if not _DIGITS.match(code):
        raise ValidationFailed(f"GB/T 28181 code {code!r} must be exactly 20 digits (got {len(code)} characters)")
    gb = GbCode(code[:8], code[8:10], code[10:13], code[13], code[14:])
    if gb.centre[:2] not in PROVINCES:
        raise ValidationFailed(f"GB/T 28181 code {code}: {gb.centre[:2]} is not a GB/T 2260 province code")
    if gb.centre[2:4] == "00" and gb.centre[4:6] != "00":
        raise ValidationFailed(f"GB/T 28181 code {code}: division {gb.division} has a county without a city")
    if gb.type not in TYPE_NAMES:
        raise ValidationFailed(f"GB/T 28181 code {code}: type code {gb.type} is not defined")
    return gb


def parse_camera(code: str) -> GbCode:
    gb = parse(code)
    if not gb.is_camera:
        raise ValidationFailed(
            f"GB/T 28181 code {code}: type {gb.type} ({TYPE_NAMES[gb.type]}) is not a camera (131 or 132)"
        )
    return gb


def make(division: str, serial: int, *, type_code: str = "132", industry: str = "00",
         network: str = "6", unit: str = "00") -> str:
    if not re.fullmatch(r"\d{6}", division):
        raise ValidationFailed(f"division code {division!r} must be 6 digits (GB/T 2260)")
    if not 0 <= serial <= 999_999:
        raise ValidationFailed(f"serial {serial} must be between 0 and 999999")
    code = f"{division}{unit}{industry}{type_code}{network}{serial:06d}"
    parse(code)
    return code
