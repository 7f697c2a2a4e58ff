"""Typed Python values of Ion element values, as pydicom users expect them.

One function, :func:`typed`, maps (VR, Ion value) to a Python value:

* empty -> None; a multi-valued string or number -> a list, empty
  components None;
* DS -> float (``Decimal`` with ``decimal=True``), IS -> int; a component
  that does not parse stays a str;
* AE, CS -> str without leading spaces (not significant, PS3.5 6.2);
* PN -> :class:`PersonName` (a str with its component groups), DA/TM/DT ->
  :class:`DA`/:class:`TM`/:class:`DT` (str with ``.date()``, ``.time()``,
  ``.datetime()``), AT -> :class:`Tag` (an int shown as ``(gggg,eeee)``);
* US SS UL SL FL FD SV UV: one value an int or float, several a list of
  numbers (a zero-copy ``memoryview`` with ``arrays=True`` on little endian
  hosts);
* OB OW OF OD OL OV UN: bytes (little endian, as the Ion holds them).

Sequences, bulk references and encapsulated pixel data are handled by
:mod:`dicom2ion.dataset`.
"""

from __future__ import annotations

import datetime
import re
import struct
import sys
from decimal import Decimal, InvalidOperation
from typing import Optional

from amazon.ion.simple_types import IonPyNull

from .p10.vr import NUMBER_FORMATS

# VRs whose value is one string even when it holds a backslash
SINGLE_TEXT_VRS = frozenset(("LT", "ST", "UT", "UR"))
_FORMATS = {vr: fmt for vr, (fmt, _) in NUMBER_FORMATS.items()}
_SIZES = {vr: size for vr, (_, size) in NUMBER_FORMATS.items()}
_LITTLE_HOST = sys.byteorder == "little"


class Tag(int):
    """A DICOM tag: an int shown as ``(gggg,eeee)``."""

    __slots__ = ()

    @property
    def group(self) -> int:
        return self >> 16

    @property
    def element(self) -> int:
        return self & 0xFFFF

    def __repr__(self) -> str:
        return "(%04X,%04X)" % (self >> 16, self & 0xFFFF)

    __str__ = __repr__


class PersonName(str):
    """A PN value: the str as written, with its component groups
    (``alphabetic``, ``ideographic``, ``phonetic``) and the five components
    of the alphabetic group (``family_name``, ``given_name``, ...)."""

    __slots__ = ()

    @property
    def groups(self) -> list:
        """The three component groups ('' for a missing one)."""
        parts = self.split("=")
        return (parts + ["", "", ""])[:3]

    alphabetic = property(lambda self: self.groups[0])
    ideographic = property(lambda self: self.groups[1])
    phonetic = property(lambda self: self.groups[2])

    def components(self, group: int = 0) -> list:
        """The five components (family, given, middle, prefix, suffix) of a group."""
        parts = self.groups[group].split("^")
        return (parts + [""] * 5)[:5]

    family_name = property(lambda self: self.components()[0])
    given_name = property(lambda self: self.components()[1])
    middle_name = property(lambda self: self.components()[2])
    name_prefix = property(lambda self: self.components()[3])
    name_suffix = property(lambda self: self.components()[4])


_TM = re.compile(r"^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?$")
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")


class DA(str):
    """A DA value (``YYYYMMDD``; ``YYYY.MM.DD`` of old files accepted)."""

    __slots__ = ()

    def date(self) -> datetime.date:
        text = self.strip().replace(".", "")
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


class TM(str):
    """A TM value (``HH[MM[SS[.FFFFFF]]]``; colons of old files accepted)."""

    __slots__ = ()

    def time(self) -> datetime.time:
        match = _TM.match(self.strip())
        if not match:
            raise ValueError(f"not a DICOM time: {str(self)!r}")
        hh, mm, ss, frac = match.groups()
        second = int(ss or 0)
        return datetime.time(int(hh), int(mm or 0), min(second, 59),
                             int((frac or "0").ljust(6, "0")))


class DT(str):
    """A DT value (``YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]``)."""

    __slots__ = ()

    def datetime(self) -> datetime.datetime:
        match = _DT.match(self.strip())
        if not match:
            raise ValueError(f"not a DICOM date time: {str(self)!r}")
        y, mo, d, h, mi, s, frac, zone = match.groups()
        tz = None
        if zone:
            minutes = int(zone[1:3]) * 60 + int(zone[3:5])
            tz = datetime.timezone(datetime.timedelta(minutes=minutes if zone[0] == "+"
                                                      else -minutes))
        return datetime.datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0),
                                 min(int(s or 0), 59), int((frac or "0").ljust(6, "0")), tz)

    def date(self) -> datetime.date:
        return self.datetime().date()


def _ds(text: str, decimal: bool):
    text = text.strip(" ")
    if not text:
        return None
    try:
        return Decimal(text) if decimal else float(text)
    except (ValueError, InvalidOperation):
        return text


def _is(text: str, decimal: bool):
    text = text.strip(" ")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else text


def _stripped(text: str, _decimal):
    text = text.strip(" ")
    return text if text else None


def _at(text: str):
    return Tag(int(text, 16)) if text else None


_TEXT = {
    "DS": _ds, "IS": _is,
    "PN": lambda text, _: PersonName(text) if text else None,
    "DA": lambda text, _: DA(text) if text else None,
    "TM": lambda text, _: TM(text) if text else None,
    "DT": lambda text, _: DT(text) if text else None,
    "AT": lambda text, _: _at(text),
    # PS3.5 6.2: leading and trailing spaces are not significant in AE and CS
    "AE": _stripped, "CS": _stripped,
}


def _plain_text(text: str, _decimal):
    return text if text else None


def is_null(value) -> bool:
    return value is None or isinstance(value, IonPyNull)


def typed(vr: str, value, *, decimal: bool = False, arrays: bool = False):
    """The Python value of an inline Ion value of VR ``vr`` (see the module doc)."""
    if is_null(value):
        return None
    if isinstance(value, str):
        value = str(value)
        convert = _TEXT.get(vr, _plain_text)
        if vr in SINGLE_TEXT_VRS or "\\" not in value:
            return convert(value, decimal)
        return [convert(part, decimal) for part in value.split("\\")]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return Tag(value) if vr == "AT" else int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return numbers(vr, bytes(value), arrays=arrays)
    return value


def numbers(vr: str, data: bytes, *, arrays: bool = False):
    """Binary numbers (little endian) of VR ``vr`` as a list, or a zero-copy
    memoryview with ``arrays``; bytes for other VRs or a partial last value."""
    fmt = _FORMATS.get(vr)
    if fmt is None:
        return data
    size = _SIZES[vr]
    if len(data) % size:
        return data
    if arrays and _LITTLE_HOST:
        return memoryview(data).cast(fmt)
    return list(struct.unpack("<%d%s" % (len(data) // size, fmt), data))


def vm(vr: str, value) -> int:
    """Value multiplicity of an inline Ion value (0 for empty)."""
    if is_null(value):
        return 0
    if isinstance(value, str):
        return 1 if vr in SINGLE_TEXT_VRS else value.count("\\") + 1
    if isinstance(value, (bytes, bytearray)):
        size = _SIZES.get(vr)
        if size and not len(value) % size:
            return len(value) // size
        if vr == "AT" and not len(value) % 4:
            return len(value) // 4
        return 1
    if isinstance(value, list):
        return len(value)
    return 1


def tag_text(tag: int) -> str:
    return "%08X" % tag


def parse_tag(key) -> Optional[int]:
    """A tag from an int, ``(group, element)``, ``"GGGGEEEE"`` or
    ``"(gggg,eeee)"``; None for anything else (a keyword, say)."""
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return int(key)
    if isinstance(key, tuple) and len(key) == 2:
        return (int(key[0]) << 16) | int(key[1])
    if isinstance(key, str):
        text = key.strip()
        if text.startswith("(") and text.endswith(")") and "," in text:
            group, element = text[1:-1].split(",", 1)
            try:
                return (int(group, 16) << 16) | int(element, 16)
            except ValueError:
                return None
        if len(text) == 8:
            try:
                return int(text, 16)
            except ValueError:
                return None
    return None
