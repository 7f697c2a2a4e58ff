"""Value representation facts needed to read and write P10 bytes."""

from __future__ import annotations

# VRs whose explicit header has 2 reserved bytes and a 4-byte length.
LONG_VRS = frozenset(
    ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV")
)
SHORT_VRS = frozenset(
    ("AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
     "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US")
)
ALL_VRS = LONG_VRS | SHORT_VRS

# Wire bytes of a VR -> (vr, long_form). Unknown two-letter codes are absent.
VR_FROM_BYTES = {vr.encode("ascii"): (vr, vr in LONG_VRS) for vr in ALL_VRS}

# Size of one value unit for VRs whose bytes are swapped in big endian.
SWAP_SIZE = {
    "US": 2, "SS": 2, "OW": 2, "AT": 2,
    "UL": 4, "SL": 4, "FL": 4, "OF": 4, "OL": 4,
    "FD": 8, "OD": 8, "SV": 8, "UV": 8, "OV": 8,
}

# VRs holding text (padded with a space, UI with NUL).
TEXT_VRS = frozenset(
    ("AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
     "TM", "UC", "UI", "UR", "UT")
)
# Text VRs that Specific Character Set applies to.
CHARSET_VRS = frozenset(("SH", "LO", "ST", "LT", "UC", "UT", "PN"))

# Binary numeric VRs: struct format character and size.
NUMBER_FORMATS = {
    "US": ("H", 2), "SS": ("h", 2), "UL": ("I", 4), "SL": ("i", 4),
    "FL": ("f", 4), "FD": ("d", 8), "SV": ("q", 8), "UV": ("Q", 8),
}

# VRs kept as bytes (bulk-capable).
BINARY_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))


def swap_bytes(data: bytes, unit: int) -> bytes:
    """Reverse the byte order of each ``unit``-byte word (a trailing partial
    word is left as it is)."""
    if unit <= 1 or len(data) < unit:
        return data
    whole = len(data) - len(data) % unit
    out = bytearray(data)
    for i in range(unit):
        out[i:whole:unit] = data[unit - 1 - i:whole:unit]
    return bytes(out)
