"""The encodings people's CSV exports come in, and one pass over a file's bytes to tell
them apart. Both importers (the register, ``institutions.gias``; published figures,
``analytics.published_import``) decide from the same scan, each by its own rules.
"""

import codecs
from dataclasses import dataclass
from typing import BinaryIO

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"
CP1252 = "cp1252"
# How each encoding is named to people.
ENCODING_LABELS = {UTF8: "UTF-8", UTF8_BOM: "UTF-8 (with byte-order mark)", CP1252: "cp1252"}
CHUNK = 1 << 20  # bytes read at a time
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


@dataclass(frozen=True)
class ByteScan:
    has_bom: bool  # starts with UTF-8's byte-order mark
    valid_utf8: bool  # every byte decodes as UTF-8 (a sequence cut off at the end does not)
    non_ascii_utf8: bool  # holds at least one valid non-ASCII UTF-8 sequence
    has_nul: bool
    cp1252_undefined: bool  # holds a byte cp1252 leaves undefined


def scan_bytes(start: bytes, stream: BinaryIO) -> ByteScan:
    """``start`` (already read) and the rest of ``stream``, read once to its end."""
    strict = codecs.getincrementaldecoder(UTF8)("strict")
    lenient = codecs.getincrementaldecoder(UTF8)("ignore")
    valid_utf8 = True
    non_ascii_utf8 = has_nul = cp1252_undefined = False
    chunk = start
    while chunk:
        if valid_utf8:
            try:
                strict.decode(chunk)
            except UnicodeDecodeError:
                valid_utf8 = False
        if not non_ascii_utf8:
            # Undecodable bytes are dropped: anything non-ASCII left is a valid sequence.
            non_ascii_utf8 = not lenient.decode(chunk).isascii()
        has_nul = has_nul or b"\x00" in chunk
        cp1252_undefined = cp1252_undefined or any(b in chunk for b in _CP1252_UNDEFINED)
        chunk = stream.read(CHUNK)
    if valid_utf8:
        try:
            strict.decode(b"", final=True)  # a sequence cut off by the end of the file
        except UnicodeDecodeError:
            valid_utf8 = False
    return ByteScan(
        has_bom=start.startswith(codecs.BOM_UTF8),
        valid_utf8=valid_utf8,
        non_ascii_utf8=non_ascii_utf8,
        has_nul=has_nul,
        cp1252_undefined=cp1252_undefined,
    )
