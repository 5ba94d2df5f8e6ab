"""GB/T 28181 codes: validation tables, the 215/216 tree rules, the Catalog answer."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from govops.errors import ValidationFailed
from video import gbt28181 as gb

# code, the words the error must contain (None = valid)
CODES = [
    ("31011600001320000001", None),  # 上海金山, industry 00, IPC, network 0
    ("31011600001316000123", None),  # camera 131 on the government network
    ("44030500051326000001", None),  # 深圳南山, industry 05 (交通卡口)
    ("11000000002000000001", None),  # a province-level centre server (200)
    ("31011600002150000001", None),  # a business group
    ("31011600002160000001", None),  # a virtual organisation
    ("3101160000132000001", "exactly 20 digits"),  # 19 digits
    ("310116000013200000011", "exactly 20 digits"),  # 21 digits
    ("3101160000132000000A", "exactly 20 digits"),
    ("31011600 01320000001", "exactly 20 digits"),
    ("", "exactly 20 digits"),
    ("99011600001320000001", "not a GB/T 2260 province"),
    ("00011600001320000001", "not a GB/T 2260 province"),
    ("31001600001320000001", "county without a city"),
    ("31010005001320000001", "grassroots unit"),
    ("31011600201320000001", "industry code 20 is reserved"),
    ("31011600991320000001", "industry code 99"),
    ("31011600001990000001", "type code 199 is not defined"),
    ("31011600000000000001", "type code 000"),
    ("31011600001329000001", "network digit 9 is reserved"),
]


@pytest.mark.parametrize(("code", "error"), CODES)
def test_code_validation_table(code, error):
    if error is None:
        assert str(gb.parse(code)) == code
    else:
        with pytest.raises(ValidationFailed, match=error):
            gb.parse(code)


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("31011600001310000001", True),
        ("31011600001320000001", True),
        ("31011600001110000001", False),  # a DVR is a device, not a camera
        ("31011600002150000001", False),
        ("31011600002000000001", False),
    ],
)
def test_camera_types_are_131_or_132(code, ok):
    if ok:
        assert gb.parse_camera(code).is_camera
    else:
        with pytest.raises(ValidationFailed, match="is not a camera"):
            gb.parse_camera(code)


def test_parts_of_a_code():
    code = gb.parse("31011600051326000042")
    assert (code.centre, code.division, code.industry, code.type, code.network, code.serial) == (
        "31011600",
        "310116",
        "05",
        "132",
        "6",
        "000042",
    )
    assert gb.NETWORKS[code.network] == "政务网"


def test_make_generates_valid_codes():
    assert gb.make("310116", 5) == "31011600001326000005"
    assert gb.make("310116", 7, type_code="131", industry="08", network="5") == "31011600081315000007"
    with pytest.raises(ValidationFailed, match="6 digits"):
        gb.make("31011", 1)
    with pytest.raises(ValidationFailed, match="999999"):
        gb.make("310116", 1_000_000)


@pytest.mark.parametrize(
    ("child", "parent", "error"),
    [
        ("215", None, None),  # a business group on top
        ("216", "215", None),  # a virtual organisation under a business group
        ("216", "216", None),  # virtual organisations nest
        ("215", "215", "always at the top"),  # 215 never has a parent ...
        ("215", "216", "always at the top"),  # ... so nothing contains a 215
        ("216", None, "must sit under"),  # a 216 never stands alone
        ("216", "132", "must sit under"),
    ],
)
def test_tree_rules(child, parent, error):
    if error is None:
        gb.check_tree_edge(child, parent)
    else:
        with pytest.raises(ValidationFailed, match=error):
            gb.check_tree_edge(child, parent)


def test_group_codes_need_215_or_216():
    assert gb.parse_group("31011600002160000001").type == "216"
    with pytest.raises(ValidationFailed, match="business group"):
        gb.parse_group("31011600001320000001")


def test_catalog_xml_is_gb2312_and_escapes_names():
    items = [
        gb.CatalogItem("310116", "上海市金山区"),
        gb.CatalogItem("31011600002150000001", "治安防控"),
        gb.CatalogItem(
            "31011600002160000001",
            "石化街道",
            parent_id="31011600002150000001",
            business_group_id="31011600002150000001",
        ),
        gb.CatalogItem(
            "31011600001326000001",
            "卫零路<script>&",
            manufacturer="Hik",
            model="DS-2",
            owner="gaj",
            parent_id="31011600002160000001",
            status="ON",
            longitude=121.34,
            latitude=30.72,
        ),
    ]
    body = gb.catalog_xml("31011600002006000001", items, sn=7)
    assert body.startswith(b'<?xml version="1.0" encoding="GB2312"?>')
    root = ET.fromstring(body.decode("gb2312").split("?>", 1)[1])
    assert root.findtext("CmdType") == "Catalog" and root.findtext("SN") == "7"
    assert root.findtext("SumNum") == "4" and root.find("DeviceList").get("Num") == "4"
    cam = root.findall("DeviceList/Item")[3]
    assert cam.findtext("Name") == "卫零路<script>&"  # escaped in the XML, intact after parsing
    assert cam.findtext("Status") == "ON" and cam.findtext("CivilCode") == "310116"
    assert cam.findtext("ParentID") == "31011600002160000001"
    org = root.findall("DeviceList/Item")[2]
    assert org.findtext("BusinessGroupID") == "31011600002150000001"
    assert org.find("Manufacturer") is None  # groups carry no device fields


def test_catalog_xml_falls_back_when_gb2312_cannot_carry_a_name():
    body = gb.catalog_xml("31011600002006000001", [gb.CatalogItem("31011600001326000001", "𠀀 camera")])
    assert body.startswith(b'<?xml version="1.0" encoding="GB18030"?>')
    assert "𠀀" in body.decode("gb18030")
