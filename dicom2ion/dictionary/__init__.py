"""DICOM data dictionary: tag <-> keyword, VR, VM, name, retired flag.

The tables are generated from the standard (PS3.6) and DCMTK's private
dictionary by ``tools/regenerate_dictionary.py``; see ``dictionary/EDITION.md``.

Hot path: :func:`vr_of` and :func:`keyword_for` are single dict look-ups for
every tag the standard lists exactly; repeating-group masks ((60xx,0010),
(0028,04x0), (1000,xxx0), ...) are tried only on a miss.

Generic rules applied on top of the tables:

* (gggg,0000) of any group is a Group Length, VR ``UL``.
* (gggg,0010)-(gggg,00FF) of an odd group is a Private Creator, VR ``LO``.
* Masks are never matched against odd (private) groups.
"""

from __future__ import annotations

from typing import NamedTuple

from . import _standard

__all__ = [
    "Entry",
    "EDITION",
    "SOURCE_SHA256",
    "lookup",
    "vr_of",
    "keyword_for",
    "tag_for_keyword",
    "lookup_private",
    "is_private",
]


class Entry(NamedTuple):
    tag: int  # exact tag; for a masked entry the mask with x digits as 0 (0x50000005)
    keyword: str  # '' when none
    vr: str  # the single VR, or the first of a multi-VR entry; '' when none
    vrs: tuple  # all VRs, e.g. ('US', 'SS'); () when none
    vm: str  # '1', '1-n', '2-2n', ...; '' when none
    name: str
    retired: bool


EDITION: str = _standard.EDITION
SOURCE_SHA256: str = _standard.SOURCE_SHA256

_ENTRIES = _standard.ENTRIES
_MASKS = _standard.MASKS
_VR = _standard.VR
_KEYWORD = _standard.KEYWORD
_TAG = _standard.TAG

# VRs of tags resolved through a mask, memoised (bounded by the mask space).
_MASK_VR: dict[int, str] = {}

_GROUP_LENGTH = ("", ("UL",), "1", "Group Length", False)
_PRIVATE_CREATOR = ("", ("LO",), "1", "Private Creator", False)


def _make(tag: int, t: tuple) -> Entry:
    kw, vrs, vm, name, retired = t
    return Entry(tag, kw, vrs[0] if vrs else "", vrs, vm, name, retired)


def _match_mask(tag: int):
    """(base, value-tuple) of the first mask matching an even-group tag, or None."""
    if tag & 0x10000:
        return None
    for base, mask, t in _MASKS:
        if tag & mask == base:
            return base, t
    return None


def lookup(tag: int) -> Entry | None:
    """The dictionary entry of ``tag``: exact match first, then the generic
    group-length / private-creator rules, then repeating-group masks (whose
    Entry.tag is the mask with x digits as 0).  None when unknown."""
    t = _ENTRIES.get(tag)
    if t is not None:
        return _make(tag, t)
    if not tag & 0xFFFF:
        return _make(tag, _GROUP_LENGTH)
    if tag & 0x10000:
        if 0x10 <= (tag & 0xFFFF) <= 0xFF:
            return _make(tag, _PRIVATE_CREATOR)
        return None
    m = _match_mask(tag)
    if m is not None:
        return _make(m[0], m[1])
    return None


def vr_of(tag: int) -> str:
    """VR of ``tag``: the dictionary's (first) VR, '' for entries without one
    (items, delimiters, some retired tags), 'UL' for group lengths, 'LO' for
    private creators, 'UN' when unknown (including other private elements)."""
    vr = _VR.get(tag)
    if vr is not None:
        return vr
    vr = _MASK_VR.get(tag)
    if vr is not None:
        return vr
    return _vr_slow(tag)


def _vr_slow(tag: int) -> str:
    element = tag & 0xFFFF
    if not element:
        return "UL"
    if tag & 0x10000:
        return "LO" if 0x10 <= element <= 0xFF else "UN"
    m = _match_mask(tag)
    if m is None:
        return "UN"
    vrs = m[1][1]
    vr = vrs[0] if vrs else ""
    _MASK_VR[tag] = vr
    return vr


def keyword_for(tag: int) -> str | None:
    """Keyword of ``tag`` if ``tag_for_keyword(keyword) == tag``; for masked
    entries only one tag has it: the base tag (0x60000010 -> 'OverlayRows',
    0x60020010 -> None), or, where the base tag means something else, the
    smallest matching tag that resolves to the entry ((0028,0400) is Transform
    Label, so 'RowsForNthOrderCoefficients' is (0028,0410); (1000,0000) is a
    group length, so 'EscapeTriplet' is (1000,0010)).  None for entries without
    keyword and unknown tags."""
    return _KEYWORD.get(tag)


def tag_for_keyword(keyword: str) -> int | None:
    """Tag of a standard keyword, or None.  For masked entries: the base tag
    (the representative tag described in :func:`keyword_for`)."""
    return _TAG.get(keyword)


_private_tables = None


def _load_private():
    global _private_tables
    if _private_tables is None:
        from . import _private

        _private_tables = (_private.PRIVATE, _private.PRIVATE_RANGES)
    return _private_tables


def lookup_private(creator: str, group: int, element_offset: int) -> Entry | None:
    """Private dictionary entry for the element at ``element_offset`` (low byte,
    0x00-0xFF; a full element number is reduced to its low byte) in a block
    reserved by ``creator`` in ``group``.  The creator is compared after
    stripping trailing spaces and NULs; the group must match the dictionary's
    (exactly, or within a DCMTK "gggg-o-gggg" range).  Entry.tag is
    ``group << 16 | element`` with the element as the dictionary gives it: the
    low byte only for block-relative entries, the full element for the few
    fixed ones.  The private tables are loaded on first use."""
    private, ranges = _private_tables or _load_private()
    creator = creator.rstrip(" \x00")
    off = element_offset & 0xFF
    v = private.get((creator, group, off))
    if v is None:
        for lo, hi, step, val in ranges.get((creator, off), ()):
            if lo <= group <= hi and (group - lo) % step == 0:
                v = val
                break
        else:
            return None
    element, kw, vrs, vm, name = v
    return Entry((group << 16) | element, kw, vrs[0] if vrs else "", vrs, vm, name, False)


_GROUPS: frozenset = frozenset()


def is_standard_group(group: int) -> bool:
    """True when the dictionary defines a tag in this (even) group, exactly
    or through a repeating-group mask such as (60xx,0010)."""
    global _GROUPS
    if not _GROUPS:
        _GROUPS = frozenset(t >> 16 for t in _ENTRIES)
    if group in _GROUPS:
        return True
    return not group & 1 and any(((group << 16) & mask) >> 16 == base >> 16
                                 for base, mask, _ in _MASKS)


def is_private(tag: int) -> bool:
    """True for tags in odd groups (including the illegal groups 1, 3, 5, 7)."""
    return bool(tag & 0x10000)
