"""The DICOM wire rules, each written once.

The reader, the writer, the listing and the Ion mapping all ask this module:
how long an element header is, which encoding holds inside a container,
what an undefined length opens, which VR an implicit-VR tag has, where the
Specific Character Set applies, and which bytes can be trailing bytes.
"""

from __future__ import annotations

import struct
from typing import NamedTuple, Optional, Tuple

from ..dictionary import is_standard_group, lookup, vr_of
from .syntax import Encoding
from .vr import CHARSET_VRS, LONG_VRS, VR_FROM_BYTES

__all__ = [
    "ITEM", "ITEM_END", "SEQUENCE_END", "ITEM_GROUP", "META_GROUP", "SPECIFIC_CHARACTER_SET",
    "TRANSFER_SYNTAX", "PIXEL_DATA", "CHARSET_VRS", "Context", "IMPLICIT_LITTLE",
    "header_size", "item_header", "implicit_vr", "implicit_vr_of", "ImplicitVRs", "creator_tag", "read_vr", "undefined_length_opens",
    "implicit_value_is_sequence", "charsets_for", "CharsetScope", "is_upper_vr",
]

# -- tags ---------------------------------------------------------------------
ITEM_GROUP = 0xFFFE
ITEM = 0xFFFEE000
ITEM_END = 0xFFFEE00D
SEQUENCE_END = 0xFFFEE0DD
META_GROUP = 0x0002
META_GROUP_LENGTH = 0x00020000
TRANSFER_SYNTAX = 0x00020010
SPECIFIC_CHARACTER_SET = 0x00080005
PIXEL_DATA = 0x7FE00010

ITEM_TAG_LE = b"\xfe\xff\x00\xe0"
_ITEM_LE = struct.Struct("<HHL")
_ITEM_BE = struct.Struct(">HHL")


# -- encodings of a data set and of what a container holds ------------------
class Context(NamedTuple):
    """The encoding in force at a point of the stream."""

    explicit: bool
    little: bool

    def inside(self, vr: str, length: Optional[int]) -> "Context":
        """The encoding of the items of a sequence element: a UN of undefined
        length in explicit VR holds implicit VR little endian items (PS3.5
        6.2.2); every other sequence keeps its data set's encoding."""
        if self.explicit and vr == "UN" and length == 0xFFFFFFFF:
            return IMPLICIT_LITTLE
        return self


IMPLICIT_LITTLE = Context(False, True)


# -- element headers -----------------------------------------------------------
def header_size(explicit: bool, vr: str, raw_vr: Optional[bytes] = None) -> int:
    """Bytes in an element header: 8 in implicit VR and for short explicit
    VRs, 12 for long explicit VRs and for invalid VR bytes (read as UN)."""
    if not explicit:
        return 8
    return 12 if raw_vr is not None or vr in LONG_VRS else 8


def item_header(tag: int, length: int, little: bool) -> bytes:
    """An item, item delimiter or sequence delimiter header."""
    return (_ITEM_LE if little else _ITEM_BE).pack(tag >> 16, tag & 0xFFFF, length)


def is_upper_vr(vr_bytes: bytes) -> bool:
    """Two capital letters: VR bytes that are read (as UN) even when not a VR."""
    return len(vr_bytes) == 2 and 65 <= vr_bytes[0] <= 90 and 65 <= vr_bytes[1] <= 90


# the answers of ``read_vr`` for the valid VRs (a hot path may look here first)
VR_TABLE = {raw: (vr, long_form, None) for raw, (vr, long_form) in VR_FROM_BYTES.items()}


def read_vr(vr_bytes: bytes) -> Optional[Tuple[str, bool, Optional[bytes]]]:
    """(vr, long header, raw VR bytes or None) of two explicit VR bytes; an
    unknown pair of capital letters is UN with a long header and its bytes
    kept; anything else is None (not an element)."""
    known = VR_TABLE.get(vr_bytes)
    if known is not None:
        return known
    if is_upper_vr(vr_bytes):
        return "UN", True, bytes(vr_bytes)
    return None


_OB_OR_OW: dict = {}


_IMPLICIT: dict = {}             # tag -> implicit_vr(tag), worked out once
_IMPLICIT_LIMIT = 1 << 16       # (private tags are many across files: bounded)


def implicit_vr(tag: int) -> str:
    """The VR a reader gives a tag in implicit VR: the dictionary's (UN when
    unknown); OW when the dictionary allows "OB or OW" (PS3.5 A.1)."""
    vr = _IMPLICIT.get(tag)
    if vr is None:
        vr = _implicit_vr(tag)
        if len(_IMPLICIT) >= _IMPLICIT_LIMIT:
            _IMPLICIT.clear()
        _IMPLICIT[tag] = vr
    return vr


def _implicit_vr(tag: int) -> str:
    vr = vr_of(tag) or "UN"
    if vr != "OB":
        return vr
    cached = _OB_OR_OW.get(tag)
    if cached is None:
        entry = lookup(tag)
        cached = implicit_vr_of(entry.vrs if entry is not None else ("OB",))
        if not tag & 0x10000:
            _OB_OR_OW[tag] = cached
    return cached


def implicit_vr_of(vrs: tuple) -> str:
    """The VR an implicit-VR value gets from a dictionary entry's VRs: the
    first, OW when "OB or OW" (PS3.5 A.1), UN when there is none."""
    if not vrs:
        return "UN"
    if vrs[0] == "OB" and "OW" in vrs:
        return "OW"
    return vrs[0]


class ImplicitVRs:
    """The VRs that a dictionary given at run time (``--dictionary``) gives
    implicit-VR elements beyond what the reader's built-in dictionary
    gives: standard tags whose entry it adds or changes (not SQ, and not
    tags the reader opens as sequences), and private elements its files
    list under their block's private creator. Built once per dictionary."""

    def __init__(self, dictionary):
        self.dictionary = dictionary
        self.standard: dict = {}
        for tag in dictionary.changed:
            entry = dictionary.lookup(tag)
            vr = implicit_vr_of(entry.vrs if entry is not None else ())
            old = implicit_vr(tag)
            if vr not in ("UN", "SQ", "") and old != "SQ" and vr != old:
                self.standard[tag] = vr
        self.private = dictionary.site_private is not None

    @classmethod
    def of(cls, dictionary) -> "ImplicitVRs":
        found = dictionary.cache.get("implicit")
        if found is None:
            found = dictionary.cache["implicit"] = cls(dictionary)
        return found

    def private_vr(self, creator: Optional[str], tag: int) -> Optional[str]:
        """The VR of private element ``tag`` in the block of ``creator``
        when the given files list one that holds values; else None."""
        if creator is None or tag & 0xFFFF < 0x1000:
            return None
        vr = implicit_vr_of(self.dictionary.site_private_vrs(creator, tag >> 16, tag & 0xFF))
        return vr if vr not in ("UN", "SQ", "") else None


def creator_tag(tag: int) -> int:
    """The tag of the Private Creator element that reserves ``tag``'s block."""
    return (tag & 0xFFFF0000) | ((tag >> 8) & 0xFF)


def undefined_length_opens(tag: int, vr: str, raw_vr: Optional[bytes],
                           explicit: bool) -> Tuple[Optional[str], str]:
    """What an undefined length opens: ("sequence" | "fragments" | None, VR
    reported). In explicit VR: SQ and UN (a valid UN) open sequences, OB, OW
    and invalid VR bytes open encapsulated data, other VRs are an error
    (None). In implicit VR (``vr`` as ``implicit_vr`` gives it): Pixel Data
    and OB/OW open encapsulated data (reported OB), everything else a
    sequence (reported SQ for SQ and UN)."""
    if explicit:
        if vr == "SQ" or (vr == "UN" and raw_vr is None):
            return "sequence", vr
        if vr in ("OB", "OW") or raw_vr is not None:
            return "fragments", vr
        return None, vr
    if tag == PIXEL_DATA or vr in ("OB", "OW"):
        return "fragments", "OB"
    return "sequence", "SQ" if vr in ("SQ", "UN") else vr


def implicit_value_is_sequence(vr: str, length: int, head: bytes) -> bool:
    """In implicit VR a defined-length value of an unknown (UN) tag is a
    sequence when it starts with a little endian item tag."""
    return vr == "UN" and length >= 8 and head[:4] == ITEM_TAG_LE


# -- Specific Character Set ------------------------------------------------------
def charsets_for(tag: int, current: tuple, inherited: tuple) -> tuple:
    """The character sets a value is decoded with: the data set's own
    Specific Character Set applies to tags above (0008,0005); lower tags
    (and every tag before one is given) use the set inherited from the
    enclosing data set."""
    return current if tag > SPECIFIC_CHARACTER_SET else inherited


class CharsetScope:
    """The character sets of one data set or item (see ``charsets_for``).
    ``item`` gives the scope of an item of a sequence with tag ``tag``: it
    inherits the set in force at the sequence."""

    __slots__ = ("current", "inherited")

    def __init__(self, inherited: tuple = ()):
        self.current = inherited
        self.inherited = inherited

    def for_tag(self, tag: int) -> tuple:
        return self.current if tag > SPECIFIC_CHARACTER_SET else self.inherited

    def item(self, tag: int) -> "CharsetScope":
        return CharsetScope(self.for_tag(tag))


# -- trailing bytes ----------------------------------------------------------------
def can_be_trailing(head: bytes, explicit: bool, after_element: bool = True) -> bool:
    """Bytes after the last top-level element are trailing bytes (kept, not
    parsed) when they cannot begin an element: fewer than 8 bytes, or in
    explicit VR bytes 4-5 that are not two capital letters; never when they
    start with an item tag (group FFFE). After a meta group and no data set
    element only fewer than 8 bytes are (whatever their group: a tail too
    short for a meta header starts the data set)."""
    if not after_element:
        return len(head) < 8
    if len(head) < 8:
        return True
    if head[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return False
    return explicit and not is_upper_vr(head[4:6])


def cut_header(tail: bytes, little: bool, explicit: bool, last_tag: int) -> bool:
    """Whether the last 2-7 bytes of the input start the header of a next
    top-level element (the file was cut inside it) rather than being
    trailing bytes: an item tag, or a standard group (or the group of the
    latest top-level element, ``last_tag``) no lower than the latest, a tag
    above it and, when there, valid VR bytes. A single byte is trailing."""
    if len(tail) < 2:
        return False
    group = (_LE_H if little else _BE_H).unpack_from(tail, 0)[0]
    if group == ITEM_GROUP:
        return True
    if group < last_tag >> 16 or not (group == last_tag >> 16 or is_standard_group(group)):
        return False
    if len(tail) >= 4:
        elem = (_LE_H if little else _BE_H).unpack_from(tail, 2)[0]
        if (group << 16) | elem <= last_tag:
            return False
    return not (len(tail) >= 6 and explicit and tail[4:6] not in VR_FROM_BYTES)


# -- which encoding the bytes use ------------------------------------------------
_LE_H = struct.Struct("<H")
_BE_H = struct.Struct(">H")


def starts_meta_group(head: bytes) -> bool:
    """The file meta group begins here: a little endian group 0002 tag."""
    return len(head) >= 4 and _LE_H.unpack_from(head, 0)[0] == META_GROUP


def meta_is_explicit(head: bytes) -> bool:
    """The meta group is explicit VR when its first element's bytes 4-5 are a VR."""
    return head[4:6] in VR_FROM_BYTES


def detect_encoding(head: bytes, declared: Optional[Encoding]) -> Encoding:
    """The encoding a data set really uses, from its first 8 bytes and the
    declared ``syntax.Encoding`` (None when not declared). The declared byte
    order is trusted and explicit vs implicit VR checked (bytes 4-5 are a VR);
    without a declaration the byte order comes from the first group (0002 or
    0008), else from the first length; big endian implies explicit VR."""
    deflated = declared.deflated if declared else False
    if len(head) < 8:
        return declared or Encoding(False, True)
    explicit = head[4:6] in VR_FROM_BYTES
    if declared is not None:
        little = declared.little_endian
        explicit = explicit if declared.explicit_vr else explicit and little
        return Encoding(explicit, little, deflated)
    if _LE_H.unpack_from(head, 0)[0] in (0x0002, 0x0008):
        little = True
    elif _BE_H.unpack_from(head, 0)[0] in (0x0002, 0x0008):
        little = False
    elif explicit:
        little = _LE_H.unpack_from(head, 6)[0] <= _BE_H.unpack_from(head, 6)[0]
    else:
        little = True
    return Encoding(explicit or not little, little, deflated)


def is_null_tag_start(head: bytes) -> bool:
    """Input without preamble or meta group whose first tag is (0000,0000):
    not DICOM at all."""
    return head[:4] == b"\0\0\0\0"


# -- where a salvage read goes on ---------------------------------------------------
_CANDIDATES: dict = {}


def _group_bytes(group: int, little: bool) -> bytes:
    import re
    return re.escape((_LE_H if little else _BE_H).pack(group))


def _candidates(explicit: bool, little: bool, group: int):
    """A compiled pattern that finds where a header may start (then checked
    by ``plausible_header``): an item or delimiter tag, or in explicit VR
    valid VR bytes at bytes 4-5, in implicit VR a standard group (or
    ``group``)."""
    key = (explicit, little, group if not explicit else None)
    pattern = _CANDIDATES.get(key)
    if pattern is None:
        import re
        from ..dictionary import _ENTRIES  # the standard groups
        items = b"|".join(re.escape(item_header(t, 0, little)[:4])
                          for t in (ITEM, ITEM_END, SEQUENCE_END))
        if explicit:
            vrs = b"|".join(re.escape(v) for v in VR_FROM_BYTES)
            body = b"....(?:" + vrs + b")"
        else:
            groups = sorted({t >> 16 for t in _ENTRIES if t >> 16 != ITEM_GROUP} | {group})
            body = b"(?:" + b"|".join(_group_bytes(g, little) for g in groups if g >= 0) + b")"
        pattern = re.compile(b"(?=" + items + b"|" + body + b")", re.DOTALL)
        _CANDIDATES[key] = pattern
    return pattern


def plausible_header(buf, p: int, stop: int, ctx: Context, container: str,
                     last_tag: int, undefined_item: bool) -> bool:
    """Whether the bytes at ``p`` read as a header that makes sense here,
    with ``stop`` the end of the bytes the header's value may use (the end
    of its item or sequence, or of the input). ``container`` is "data set"
    (a data set or an item), "sequence" or "fragments". In a sequence: an
    item or the sequence delimiter; in fragments: a fragment item or the
    delimiter; in a data set: the item delimiter of an undefined-length item,
    or an element whose tag is above ``last_tag``, whose group is a standard
    one (or the latest tag's group), whose VR is valid (explicit VR) or tag
    known (implicit VR), and whose length fits (or is an undefined length
    that opens a sequence or encapsulated data)."""
    if stop - p < 8 or len(buf) - p < 8:
        return False
    little = ctx.little
    group, elem, length = (_ITEM_LE if little else _ITEM_BE).unpack_from(buf, p)
    tag = (group << 16) | elem
    room = stop - p - 8
    if group == ITEM_GROUP:
        if tag == SEQUENCE_END:
            return container != "data set" and length == 0
        if tag == ITEM_END:
            return container == "data set" and undefined_item and length == 0
        if tag == ITEM:
            return container == "fragments" and length <= room or \
                container == "sequence" and (length == 0xFFFFFFFF or length <= room)
        return False
    if container != "data set" or tag <= last_tag or group == 0:
        return False
    if not (is_standard_group(group) or group == last_tag >> 16):
        return False
    if ctx.explicit:
        known = VR_FROM_BYTES.get(bytes(buf[p + 4:p + 6]))
        if known is None:
            return False
        vr, long_form = known
        if long_form:
            if stop - p < 12 or len(buf) - p < 12:
                return False
            reserved, length = (_LE_HL if little else _BE_HL).unpack_from(buf, p + 6)
            room -= 4
            if reserved:
                return False
            if length == 0xFFFFFFFF:
                return undefined_length_opens(tag, vr, None, True)[0] is not None
        else:
            length = (_LE_H if little else _BE_H).unpack_from(buf, p + 6)[0]
        return length <= room
    if lookup(tag) is None and group != last_tag >> 16:
        return False
    if length == 0xFFFFFFFF:
        return True
    return length <= room


def _resync_points(buf, start: int, end: int, stop: int, ctx: Context, container: str,
                   last_tag: int, undefined_item: bool):
    pattern = _candidates(ctx.explicit, ctx.little, last_tag >> 16 if last_tag > 0 else -1)
    for match in pattern.finditer(buf, start, min(len(buf), end + 8)):
        q = match.start()
        if q >= end:
            return
        if plausible_header(buf, q, stop, ctx, container, last_tag, undefined_item):
            yield q


def find_resync(buf, start: int, end: int, stop: int, ctx: Context, container: str,
                last_tag: int, undefined_item: bool) -> Optional[int]:
    """The first position in ``buf[start:end]`` where ``plausible_header``
    holds (``stop`` as there), or None."""
    return next(_resync_points(buf, start, end, stop, ctx, container, last_tag,
                               undefined_item), None)


def elements_follow(buf, start: int, end: int, stop: int, ctx: Context,
                    last_tag: int) -> Optional[int]:
    """Where top-level elements resume after bytes that cannot start one (so
    that those bytes are damage, not trailing bytes): the first plausible
    header in ``buf[start:end]`` whose element ends exactly at ``stop`` (the
    end of the input) or is followed by another plausible header, or None."""
    little = ctx.little
    for q in _resync_points(buf, start, end, stop, ctx, "data set", last_tag, False):
        group, elem, length = (_ITEM_LE if little else _ITEM_BE).unpack_from(buf, q)
        header = 8
        if ctx.explicit:
            vr, long_form = VR_FROM_BYTES[bytes(buf[q + 4:q + 6])]
            if long_form:
                length = (_LE_HL if little else _BE_HL).unpack_from(buf, q + 6)[1]
                header = 12
            else:
                length = (_LE_H if little else _BE_H).unpack_from(buf, q + 6)[0]
        if length == 0xFFFFFFFF:
            return q
        after = q + header + length
        if after == stop or plausible_header(buf, after, stop, ctx, "data set",
                                             (group << 16) | elem, False):
            return q
    return None


_LE_HL = struct.Struct("<HL")
_BE_HL = struct.Struct(">HL")
