"""Element values <-> Ion values, one VR at a time.

``decode`` gives the Ion value of a value's bytes and, when the canonical
encoding of that Ion value would not give the same bytes back, the wire
facts needed to restore them (``{"pad": ...}`` or ``{"raw": ...}``).
``encode`` is the canonical encoder. Blobs hold little endian bytes; the
caller swaps for big endian files.
"""

from __future__ import annotations

import struct
from typing import Optional, Tuple

from .. import charset
from ..p10.vr import CHARSET_VRS, NUMBER_FORMATS, SWAP_SIZE, TEXT_VRS, swap_bytes

_LE = {vr: struct.Struct("<" + fmt) for vr, (fmt, _) in NUMBER_FORMATS.items()}
_BE = {vr: struct.Struct(">" + fmt) for vr, (fmt, _) in NUMBER_FORMATS.items()}
_AT_LE = struct.Struct("<HH")
_AT_BE = struct.Struct(">HH")
_PAD_CHARS = b" \x00"
_NAN = float("nan")
_LONG_TEXT = frozenset(("UC", "UR", "UT"))  # text VRs with a 4-byte length


def _decode_text(data: bytes, vr: str, charsets: tuple) -> str:
    if vr in CHARSET_VRS and charsets:
        return charset.decode(data, charsets, vr)
    if data.isascii():
        return data.decode("ascii")
    return charset.decode(data, (), vr)


def _encode_text(text: str, vr: str, charsets: tuple) -> bytes:
    if vr in CHARSET_VRS:
        return charset.encode(text, charsets, vr)
    return text.encode("ascii")


def _padded_text(text: str, vr: str, charsets: tuple) -> bytes:
    """Canonical bytes of a text value: encoded, padded to even length."""
    data = _encode_text(text, vr, charsets)
    if len(data) % 2 and (len(data) < 0xFFFF or vr in _LONG_TEXT):
        return data + pad_byte(vr)
    return data   # (an odd 65535-byte value cannot be padded in a short header)


def pad_byte(vr: str) -> bytes:
    return b"\x00" if vr == "UI" else b" "


# For callers that inline encode's common cases: text VR -> its pad byte;
# little endian (True or False) -> numeric VR -> its struct.
TEXT_PAD = {vr: pad_byte(vr) for vr in TEXT_VRS}
NUMBERS = {True: _LE, False: _BE}


def _text_value(vr: str, data: bytes, charsets: tuple) -> Tuple[object, Optional[dict]]:
    """(text, wire facts) of a text VR's bytes: the general rule."""
    text = _decode_text(data, vr, charsets).rstrip(" \x00")
    try:
        core = _encode_text(text, vr, charsets)
    except ValueError:
        return text, {"raw": data}
    canonical = core + pad_byte(vr) if len(core) % 2 else core
    if canonical == data:
        return text, None
    if data.startswith(core) and not data[len(core):].strip(_PAD_CHARS):
        # a value of padding only is empty: null, with its padding recorded
        return (text or None), {"pad": data[len(core):].decode("ascii")}
    return text, {"raw": data}


def decode(vr: str, data: bytes, little: bool, charsets: tuple) -> Tuple[object, Optional[dict]]:
    """(Ion value, wire facts or None) for the value bytes of a primitive element."""
    if not data:
        return None, None
    if vr in TEXT_VRS:
        if data.isascii() and (27 not in data or vr not in CHARSET_VRS):
            # ASCII without escapes decodes and re-encodes as itself in every
            # character set: canonical when unpadded and even, or padded once
            stripped = data.rstrip(_PAD_CHARS)
            n = len(stripped)
            if (n == len(data) and not n % 2) or (
                    n + 1 == len(data) and n % 2 and data[-1] == (0 if vr == "UI" else 32)):
                return stripped.decode("ascii"), None
        return _text_value(vr, data, charsets)
    fmt = _LE.get(vr)
    if fmt is not None:
        if len(data) == fmt.size:
            codec = fmt if little else _BE[vr]
            value = codec.unpack(data)[0]
            if vr in ("FL", "FD") and (codec.pack(value) != data
                                       or (value != value and data != codec.pack(_NAN))):
                # Ion has one NaN: a NaN's payload bits (and any float that does
                # not survive the trip) are kept as raw bytes
                return value, {"raw": data}
            return value, None
        return (data if little else swap_bytes(data, fmt.size)), None
    if vr == "AT":
        if len(data) % 4:
            return (data if little else swap_bytes(data, 2)), None
        at = _AT_LE if little else _AT_BE
        return "\\".join("%04X%04X" % at.unpack_from(data, i) for i in range(0, len(data), 4)), None
    unit = SWAP_SIZE.get(vr)
    if unit and not little:
        return swap_bytes(data, unit), None
    return data, None


def encode(vr: str, value, little: bool, charsets: tuple) -> bytes:
    """Canonical bytes of an Ion value (padded to even length for text).

    Raises ValueError or TypeError when the value does not fit the VR.
    """
    if type(value) is str and vr in TEXT_VRS:      # (the common case first)
        return _padded_text(value, vr, charsets)
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value)
        unit = SWAP_SIZE.get(vr)
        return value if little or not unit else swap_bytes(value, unit)
    if vr in TEXT_VRS:
        if not isinstance(value, str):
            raise TypeError(f"VR {vr} needs a string, got {type(value).__name__}")
        return _padded_text(value, vr, charsets)
    fmt = _LE.get(vr)
    if fmt is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"VR {vr} needs a number, got {type(value).__name__}")
        if vr not in ("FL", "FD"):
            if isinstance(value, float):
                if not value.is_integer():
                    raise TypeError(f"VR {vr} needs an integer, got {value!r}")
                value = int(value)
        if value != value:
            value = _NAN   # Ion has one NaN; other NaN bit patterns travel as raw bytes
        try:
            return (fmt if little else _BE[vr]).pack(value)
        except (struct.error, OverflowError) as exc:
            raise ValueError(f"{value!r} does not fit VR {vr}: {exc}") from None
    if vr == "AT":
        if not isinstance(value, str):
            raise TypeError(f"VR AT needs a string of GGGGEEEE tags, got {type(value).__name__}")
        at = _AT_LE if little else _AT_BE
        out = []
        for part in value.split("\\"):
            if len(part) != 8:
                raise ValueError(f"AT value {part!r} is not 8 hex digits")
            tag = int(part, 16)
            out.append(at.pack(tag >> 16, tag & 0xFFFF))
        return b"".join(out)
    raise TypeError(f"VR {vr} needs bytes (a blob), got {type(value).__name__}")


def apply_wire(vr: str, value, facts: Optional[dict], little: bool, charsets: tuple) -> bytes:
    """Bytes of a value, honouring recorded wire facts (raw bytes or padding)."""
    if facts:
        raw = facts.get("raw")
        if raw is not None:
            return bytes(raw)
        pad = facts.get("pad")
        if pad is not None:
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise TypeError("padding is recorded for a value that is not a string")
            return _encode_text(value, vr, charsets) + str(pad).encode("ascii")
    return encode(vr, value, little, charsets)
