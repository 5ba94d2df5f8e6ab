"""Screening what a device sends before an XML parser expands anything.

SOAP 1.1/1.2 forbid a DTD in a message, and WS-Discovery answers are SOAP too, so any DOCTYPE is
refused outright: that stops external entities (XXE) and entity-expansion bombs (billion laughs)
without relying on the settings of the parser behind (onvif-zeep-async turns on lxml's
`huge_tree`). Sizes are capped while reading, so a 50 MB answer costs at most the cap in memory.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from video.onvif.errors import AnswerRejected, excerpt

MAX_SOAP_BYTES = 2 * 1024 * 1024  # GetEventProperties of a busy NVR is ~300 kB
MAX_DATAGRAM_BYTES = 64 * 1024


def screen(content: bytes, *, what: str = "answer", limit: int = MAX_SOAP_BYTES) -> ET.Element:
    """Parse `content` safely or raise AnswerRejected saying why; returns the root element."""
    if len(content) > limit:
        raise AnswerRejected(f"the {what} is {len(content)} bytes, over the {limit} byte limit")
    # The cheap look first; defusedxml below catches a DOCTYPE hidden further in.
    if b"<!doctype" in content[:4096].lower():
        raise AnswerRejected(
            f"the {what} carries a DTD or entity declarations (XXE / entity-expansion attack); "
            "SOAP forbids DTDs, so it was refused unparsed")
    try:
        root: ET.Element = defused_fromstring(content, forbid_dtd=True, forbid_entities=True,
                                              forbid_external=True)
    except DefusedXmlException as exc:
        raise AnswerRejected(f"the {what} was refused: {exc.__class__.__name__}") from None
    except ET.ParseError as exc:
        from video.onvif.errors import DeviceError

        raise DeviceError("malformed", f"the {what} is not well-formed XML ({exc}): "
                          f"{excerpt(content[:200].decode('utf-8', 'replace'))}") from None
    return root


async def read_capped(stream: Any, limit: int, *, what: str = "answer") -> bytes:
    """Read an aiohttp StreamReader to the end, refusing to hold more than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise AnswerRejected(f"the {what} is over the {limit} byte limit; stopped reading")
        chunks.append(chunk)
    return b"".join(chunks)


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
