"""Screening what a device sends before an XML parser sees it, and parsing it with defusedxml.

SOAP 1.1/1.2 forbid a DTD in a message, and WS-Discovery answers are SOAP too, so any DOCTYPE or
ENTITY declaration is refused outright: that stops external entities (XXE) and entity-expansion
bombs (billion laughs) without relying on the settings of the parser behind it (onvif-zeep-async
turns on lxml's `huge_tree`). Every answer is read by defusedxml with `forbid_dtd` first; the
XML the video room reads itself (WS-Discovery answers, the few PTZ answers read leniently) is
the tree defusedxml built.

Well-formedness is deliberately *not* demanded: cheap cameras send unbound prefixes and the
like, which expat (behind defusedxml) cannot read. zeep copes with those in recover mode, and
`parse` reads them with an lxml parser that resolves and loads nothing. For such answers a byte
scan for DOCTYPE/ENTITY is the backstop; it is only sound for ASCII-compatible encodings, so
UTF-16/32 and UTF-7 answers are refused (ONVIF mandates UTF-8; GB18030 and friends pass). Sizes
are capped while reading, so a 50 MB answer costs at most the cap in memory.
"""

from __future__ import annotations

import re
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as defused_fromstring
from lxml import etree

from video.onvif.errors import AnswerRejected, DeviceError, excerpt

MAX_SOAP_BYTES = 2 * 1024 * 1024  # GetEventProperties of a busy NVR is ~300 kB
MAX_DATAGRAM_BYTES = 64 * 1024
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
ASCII_COMPATIBLE = {
    "utf-8",
    "utf8",
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "latin1",
    "latin-1",
    "gb2312",
    "gbk",
    "gb18030",
    "big5",
    "windows-1252",
}
_DTD = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)


def _refused(what: str) -> AnswerRejected:
    return AnswerRejected(
        f"the {what} carries a DTD or entity declarations (XXE / entity-expansion attack); "
        "SOAP forbids DTDs, so it was refused unparsed"
    )


def screen(content: bytes, *, what: str = "answer", limit: int = MAX_SOAP_BYTES) -> Any:
    """Raise AnswerRejected (or a malformed DeviceError) unless `content` is safe to parse.

    Returns defusedxml's tree of the answer, or None when expat cannot read it (see above)."""
    if len(content) > limit:
        raise AnswerRejected(f"the {what} is {len(content)} bytes, over the {limit} byte limit")
    head = content[:200]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or head[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        raise AnswerRejected(
            f"the {what} is UTF-16/32 encoded; only UTF-8 (or another ASCII-compatible encoding) is accepted"
        )
    if b"\x00" in head:
        raise DeviceError("malformed", f"the {what} is binary data, not XML")
    declared = _DECLARED.match(head)
    if declared and declared.group(1).decode().lower() not in ASCII_COMPATIBLE:
        raise AnswerRejected(
            f"the {what} declares encoding {declared.group(1).decode()!r}; only "
            "UTF-8 or another ASCII-compatible encoding is accepted"
        )
    try:
        root = defused_fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise _refused(what) from None
    except (ParseError, ValueError):
        root = None
    if _DTD.search(content):
        raise _refused(what)
    return root


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    recover=True,
    remove_comments=True,
    remove_pis=True,
)


def parse(content: bytes, *, what: str = "answer", limit: int = MAX_SOAP_BYTES) -> Any:
    """Screen and parse with defusedxml; an answer expat cannot read (unbound prefixes) is read
    with a recovering lxml parser that resolves nothing and loads nothing."""
    root = screen(content, what=what, limit=limit)
    if root is not None:
        return root
    try:
        root = etree.fromstring(content, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        root, why = None, str(exc)
    else:
        why = "no root element"
    if root is None:
        raise DeviceError(
            "malformed", f"the {what} is not XML ({why}): {excerpt(content[:200].decode('utf-8', 'replace'))}"
        )
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


def local(tag: Any) -> str:
    if not isinstance(tag, str):  # comments / processing instructions
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
