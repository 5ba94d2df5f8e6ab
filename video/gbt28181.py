"""GB/T 28181 20-digit device and platform codes (编码规则).

  digits 1-8   centre code: GB/T 2260 division (6) + grassroots unit (2)
  digits 9-10  industry code (行业编码)
  digits 11-13 type code (类型编码): 111-130 front-end devices, 131 camera, 132 IPC,
               200 centre server, 215 business group (业务分组), 216 virtual org (虚拟组织) ...
  digit  14    network code (网络标识): 0-4 video private network, 5 public-security network,
               6 government network, 7 Internet, 8 social resources network
  digits 15-20 serial number

Also here: the rules of the catalogue tree (215 business groups on top, 216 virtual organisations
under them) and the Catalog answer (`<Response><CmdType>Catalog</CmdType>…`) an upper platform
asks for, built with ElementTree so names can never inject markup.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

from govops.errors import ValidationFailed

TYPE_NAMES = {
    "111": "DVR",
    "112": "video server",
    "113": "encoder",
    "114": "decoder",
    "115": "video switch matrix",
    "116": "audio switch matrix",
    "117": "alarm controller",
    "118": "NVR",
    "130": "hybrid NVR",
    "131": "camera",
    "132": "IPC",
    "133": "display",
    "134": "alarm input",
    "135": "alarm output",
    "136": "audio input",
    "137": "audio output",
    "138": "mobile transmitter",
    "139": "other peripheral",
    "200": "centre signalling server",
    "201": "web application server",
    "202": "media server",
    "203": "proxy server",
    "204": "security server",
    "205": "alarm server",
    "206": "database server",
    "207": "GIS server",
    "208": "management server",
    "209": "access gateway",
    "210": "media storage server",
    "211": "signalling security gateway",
    "212": "business group server",
    "215": "business group",
    "216": "virtual organisation",
    "300": "centre user",
    "400": "terminal user",
}
CAMERA_TYPES = ("131", "132")
BUSINESS_GROUP = "215"  # 业务分组
VIRTUAL_ORG = "216"  # 虚拟组织
GROUP_TYPES = (BUSINESS_GROUP, VIRTUAL_ORG)
PLATFORM_TYPE = "200"
# Industry codes (行业编码, GB/T 28181-2016 appendix D). 12-39 and 56-99 are reserved.
INDUSTRIES = {
    "00": "社会治安路面接入",
    "01": "社会治安社区接入",
    "02": "社会治安内部接入",
    "03": "社会治安其他接入",
    "04": "交通路面接入",
    "05": "交通卡口接入",
    "06": "交通内部接入",
    "07": "交通其他接入",
    "08": "城市管理接入",
    "09": "卫生环保接入",
    "10": "商检海关接入",
    "11": "教育部门接入",
    "40": "农林牧渔业接入",
    "41": "采矿企业接入",
    "42": "制造企业接入",
    "43": "冶金企业接入",
    "44": "电力企业接入",
    "45": "燃气企业接入",
    "46": "建筑企业接入",
    "47": "物流企业接入",
    "48": "邮政企业接入",
    "49": "信息企业接入",
    "50": "住宿和餐饮业接入",
    "51": "金融企业接入",
    "52": "房地产业接入",
    "53": "商务服务业接入",
    "54": "水利企业接入",
    "55": "娱乐企业接入",
}
NETWORKS = {
    str(n): name
    for n, name in enumerate(
        [
            "监控报警专网",
            "监控报警专网",
            "监控报警专网",
            "监控报警专网",
            "监控报警专网",
            "公安信息网",
            "政务网",
            "Internet",
            "社会资源接入网",
            "预留",
        ]
    )
}
_DIGITS = re.compile(r"^[0-9]{20}$")  # ASCII only: `\d` also matches full-width and Arabic-Indic digits
# GB/T 2260 province-level prefixes in use (11 北京 ... 82 澳门).
PROVINCES = {
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
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
    if gb.centre[4:6] == "00" and gb.centre[6:8] != "00":
        raise ValidationFailed(
            f"GB/T 28181 code {code}: grassroots unit {gb.centre[6:8]} needs a county-level division"
        )
    if gb.industry not in INDUSTRIES:
        raise ValidationFailed(
            f"GB/T 28181 code {code}: industry code {gb.industry} is reserved or undefined (use 00-11 or 40-55)"
        )
    if gb.type not in TYPE_NAMES:
        raise ValidationFailed(f"GB/T 28181 code {code}: type code {gb.type} is not defined")
    if gb.network == "9":
        raise ValidationFailed(f"GB/T 28181 code {code}: network digit 9 is reserved")
    return gb


def parse_camera(code: str) -> GbCode:
    gb = parse(code)
    if not gb.is_camera:
        raise ValidationFailed(
            f"GB/T 28181 code {code}: type {gb.type} ({TYPE_NAMES[gb.type]}) is not a camera (131 or 132)"
        )
    return gb


def parse_group(code: str) -> GbCode:
    gb = parse(code)
    if gb.type not in GROUP_TYPES:
        raise ValidationFailed(
            f"GB/T 28181 code {code}: type {gb.type} ({TYPE_NAMES[gb.type]}) is not a business group "
            f"(215) or virtual organisation (216)"
        )
    return gb


def check_tree_edge(child_type: str, parent_type: str | None) -> None:
    """The catalogue tree rules: 215 on top; 216 under a 215 or a 216; nothing contains a 215."""
    if child_type == BUSINESS_GROUP and parent_type is not None:
        raise ValidationFailed(
            "a business group (215) is always at the top of the catalogue tree; it cannot have a parent"
        )
    if child_type == VIRTUAL_ORG and parent_type not in GROUP_TYPES:
        raise ValidationFailed("a virtual organisation (216) must sit under a business group (215) or another 216")


def make(
    division: str, serial: int, *, type_code: str = "132", industry: str = "00", network: str = "6", unit: str = "00"
) -> str:
    if not re.fullmatch(r"[0-9]{6}", division):
        raise ValidationFailed(f"division code {division!r} must be 6 digits (GB/T 2260)")
    if not 0 <= serial <= 999_999:
        raise ValidationFailed(f"serial {serial} must be between 0 and 999999")
    code = f"{division}{unit}{industry}{type_code}{network}{serial:06d}"
    parse(code)
    return code


# --- Catalog answer (目录查询应答) ---------------------------------------------------------


@dataclass
class CatalogItem:
    device_id: str
    name: str
    # Devices only (groups and civil codes carry just ID, name and parents).
    manufacturer: str | None = None
    model: str | None = None
    owner: str | None = None
    civil_code: str | None = None
    address: str | None = None
    parent_id: str | None = None
    business_group_id: str | None = None
    status: str | None = None  # ON | OFF
    longitude: float | None = None
    latitude: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_device(self) -> bool:
        return len(self.device_id) == 20 and self.device_id[10:13] not in GROUP_TYPES


def _sub(parent: ET.Element, tag: str, text: object) -> None:
    ET.SubElement(parent, tag).text = str(text)


def catalog_xml(platform_id: str, items: Iterable[CatalogItem], *, sn: int = 1, encoding: str = "GB2312") -> bytes:
    """One Catalog answer body listing every item; GB2312 as GB/T 28181 expects, or GB18030
    when a name has a character GB2312 cannot carry."""
    items = list(items)
    root = ET.Element("Response")
    _sub(root, "CmdType", "Catalog")
    _sub(root, "SN", sn)
    _sub(root, "DeviceID", platform_id)
    _sub(root, "SumNum", len(items))
    device_list = ET.SubElement(root, "DeviceList", Num=str(len(items)))
    for it in items:
        el = ET.SubElement(device_list, "Item")
        _sub(el, "DeviceID", it.device_id)
        _sub(el, "Name", it.name)
        if it.is_device:
            _sub(el, "Manufacturer", it.manufacturer or "")
            _sub(el, "Model", it.model or "")
            _sub(el, "Owner", it.owner or "")
            _sub(el, "CivilCode", it.civil_code or it.device_id[:6])
            _sub(el, "Address", it.address or "")
            _sub(el, "Parental", 0)
            _sub(el, "ParentID", it.parent_id or platform_id)
            _sub(el, "SafetyWay", 0)
            _sub(el, "RegisterWay", 1)
            _sub(el, "Secrecy", 0)
            _sub(el, "Status", it.status or "OFF")
            if it.longitude is not None and it.latitude is not None:
                _sub(el, "Longitude", f"{it.longitude:.6f}")
                _sub(el, "Latitude", f"{it.latitude:.6f}")
        else:
            if it.parent_id:
                _sub(el, "ParentID", it.parent_id)
            if it.business_group_id:
                _sub(el, "BusinessGroupID", it.business_group_id)
        for k, v in it.extra.items():
            _sub(el, k, v)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    for enc in (encoding, "GB18030", "UTF-8"):
        try:
            return f'<?xml version="1.0" encoding="{enc}"?>\n'.encode() + body.encode(enc)
        except (UnicodeEncodeError, LookupError):
            continue
    raise AssertionError("UTF-8 encodes everything")
