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

A :class:`Dictionary` holds one set of merged tables; the module-level
functions are the built-in dictionary's (``BUILTIN``). ``load_dictionary``
merges newer PS3.6 tables (JSON extract or DocBook XML) and DCMTK ``.dic``
files over the built-in ones, parsed by the same code as the generator
(:mod:`.sources`), once per set of files (cached by path, size and mtime).
"""

from __future__ import annotations

import os
import threading
from typing import NamedTuple, Sequence

from ..errors import DictionaryError
from . import _standard

__all__ = [
    "Entry",
    "Dictionary",
    "DictionaryError",
    "BUILTIN",
    "EDITION",
    "SOURCE_SHA256",
    "load_dictionary",
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

_GROUP_LENGTH = ("", ("UL",), "1", "Group Length", False)
_PRIVATE_CREATOR = ("", ("LO",), "1", "Private Creator", False)


def _make(tag: int, t: tuple) -> Entry:
    kw, vrs, vm, name, retired = t
    return Entry(tag, kw, vrs[0] if vrs else "", vrs, vm, name, retired)


def _builtin_private():
    from . import _private

    return _private.PRIVATE, _private.PRIVATE_RANGES


class Dictionary:
    """One data dictionary: standard tables (exact tags and repeating-group
    masks), private tables, and what describes it in ``options.dataDictionary``.

    ``added`` lists the files merged over the built-in tables, as
    ``(kind, name, sha256)``; ``site_private`` holds the private entries of
    those files alone and ``changed`` the exact standard tags whose entry
    they add or change (what a converter must carry in the document, since
    the document's reader may have only the built-in dictionary)."""

    def __init__(self, entries, masks, vr, keyword, tag, private=None, *,
                 description: str, sha256: str, added: tuple = (),
                 site_private=None, changed=frozenset()):
        self._entries = entries
        self._masks = masks
        self._vr = vr
        self._keyword = keyword
        self._tag = tag
        self._private = private          # (PRIVATE, PRIVATE_RANGES) or None: load on first use
        self._mask_vr: dict = {}         # VRs of tags resolved through a mask, memoised
        self._groups: frozenset = frozenset()
        self.description = description
        self.sha256 = sha256
        self.added = added
        self.site_private = site_private
        self.changed = changed
        self.cache: dict = {}            # per-dictionary tables other modules derive

    @property
    def builtin(self) -> bool:
        return not self.added

    def options(self) -> dict:
        """The document's ``options.dataDictionary`` (SCHEMA.md)."""
        out = {"description": self.description, "sha256": self.sha256}
        if self.added:
            out["sources"] = [{"kind": kind, "name": name, "sha256": digest}
                              for kind, name, digest in self.added]
        return out

    # -- standard tags ----------------------------------------------------------
    def _match_mask(self, tag: int):
        """(base, value-tuple) of the first mask matching an even-group tag, or None."""
        if tag & 0x10000:
            return None
        for base, mask, t in self._masks:
            if tag & mask == base:
                return base, t
        return None

    def lookup(self, tag: int) -> Entry | None:
        """The dictionary entry of ``tag``: exact match first, then the generic
        group-length / private-creator rules, then repeating-group masks (whose
        Entry.tag is the mask with x digits as 0).  None when unknown."""
        t = self._entries.get(tag)
        if t is not None:
            return _make(tag, t)
        if not tag & 0xFFFF:
            return _make(tag, _GROUP_LENGTH)
        if tag & 0x10000:
            if 0x10 <= (tag & 0xFFFF) <= 0xFF:
                return _make(tag, _PRIVATE_CREATOR)
            return None
        m = self._match_mask(tag)
        if m is not None:
            return _make(m[0], m[1])
        return None

    def vr_of(self, tag: int) -> str:
        """VR of ``tag``: the dictionary's (first) VR, '' for entries without one
        (items, delimiters, some retired tags), 'UL' for group lengths, 'LO' for
        private creators, 'UN' when unknown (including other private elements)."""
        vr = self._vr.get(tag)
        if vr is not None:
            return vr
        vr = self._mask_vr.get(tag)
        if vr is not None:
            return vr
        return self._vr_slow(tag)

    def _vr_slow(self, tag: int) -> str:
        element = tag & 0xFFFF
        if not element:
            return "UL"
        if tag & 0x10000:
            return "LO" if 0x10 <= element <= 0xFF else "UN"
        m = self._match_mask(tag)
        if m is None:
            return "UN"
        vrs = m[1][1]
        vr = vrs[0] if vrs else ""
        self._mask_vr[tag] = vr
        return vr

    def keyword_for(self, tag: int) -> str | None:
        """Keyword of ``tag`` if ``tag_for_keyword(keyword) == tag``; for masked
        entries only one tag has it: the base tag (0x60000010 -> 'OverlayRows',
        0x60020010 -> None), or, where the base tag means something else, the
        smallest matching tag that resolves to the entry ((0028,0400) is Transform
        Label, so 'RowsForNthOrderCoefficients' is (0028,0410); (1000,0000) is a
        group length, so 'EscapeTriplet' is (1000,0010)).  None for entries without
        keyword and unknown tags."""
        return self._keyword.get(tag)

    def tag_for_keyword(self, keyword: str) -> int | None:
        """Tag of a standard keyword, or None.  For masked entries: the base tag
        (the representative tag described in :meth:`keyword_for`)."""
        return self._tag.get(keyword)

    def keywords(self) -> dict:
        """tag -> keyword, every tag that has one (read only)."""
        return self._keyword

    # -- private tags --------------------------------------------------------------
    def lookup_private(self, creator: str, group: int, element_offset: int) -> Entry | None:
        """Private dictionary entry for the element at ``element_offset`` (low byte,
        0x00-0xFF; a full element number is reduced to its low byte) in a block
        reserved by ``creator`` in ``group``.  The creator is compared after
        stripping trailing spaces and NULs; the group must match the dictionary's
        (exactly, or within a DCMTK "gggg-o-gggg" range).  Entry.tag is
        ``group << 16 | element`` with the element as the dictionary gives it: the
        low byte only for block-relative entries, the full element for the few
        fixed ones.  The private tables are loaded on first use."""
        if self._private is None:
            self._private = _builtin_private()
        return _find_private(self._private, creator, group, element_offset)

    def site_private_vrs(self, creator: str, group: int, element_offset: int) -> tuple:
        """The VRs the added files (not the built-in tables) give a private
        element; () when they do not list it."""
        if self.site_private is None:
            return ()
        entry = _find_private(self.site_private, creator, group, element_offset)
        return entry.vrs if entry is not None else ()

    def is_standard_group(self, group: int) -> bool:
        """True when the dictionary defines a tag in this (even) group, exactly
        or through a repeating-group mask such as (60xx,0010)."""
        if not self._groups:
            self._groups = frozenset(t >> 16 for t in self._entries)
        if group in self._groups:
            return True
        return not group & 1 and any(((group << 16) & mask) >> 16 == base >> 16
                                     for base, mask, _ in self._masks)


def _find_private(tables, creator: str, group: int, element_offset: int) -> Entry | None:
    private, ranges = tables
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


BUILTIN = Dictionary(_standard.ENTRIES, _standard.MASKS, _standard.VR, _standard.KEYWORD,
                     _standard.TAG, description=EDITION, sha256=SOURCE_SHA256)

# The built-in dictionary's look-ups. The hot ones are plain functions over the
# tables (one dict access, no attribute look-up); the rest are BUILTIN's methods.
lookup = BUILTIN.lookup
lookup_private = BUILTIN.lookup_private
is_standard_group = BUILTIN.is_standard_group


def vr_of(tag: int) -> str:
    """VR of ``tag`` in the built-in dictionary (see :meth:`Dictionary.vr_of`)."""
    vr = _VR.get(tag)
    if vr is not None:
        return vr
    return BUILTIN.vr_of(tag)


def keyword_for(tag: int) -> str | None:
    """Keyword of ``tag`` in the built-in dictionary (see :meth:`Dictionary.keyword_for`)."""
    return _KEYWORD.get(tag)


def tag_for_keyword(keyword: str) -> int | None:
    """Tag of a keyword in the built-in dictionary (see :meth:`Dictionary.tag_for_keyword`)."""
    return _TAG.get(keyword)


def is_private(tag: int) -> bool:
    """True for tags in odd groups (including the illegal groups 1, 3, 5, 7)."""
    return bool(tag & 0x10000)


# -- dictionaries given at run time -----------------------------------------------------

_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()


def load_dictionary(paths: Sequence) -> Dictionary:
    """The built-in dictionary with each file of ``paths`` merged over it, in
    order (a later file wins): a PS3.6 attribute JSON extract (``.json``),
    NEMA's DocBook XML of PS3.6 (``.xml``), or a DCMTK ``.dic`` data
    dictionary (standard and/or private entries). ``paths`` may also be a
    Dictionary (returned as is) or empty (``BUILTIN``). Built once per set
    of files, cached by path, size and modification time."""
    if isinstance(paths, Dictionary):
        return paths
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.path.abspath(os.fspath(p)) for p in paths or ()]
    if not paths:
        return BUILTIN
    key = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise DictionaryError(f"dictionary {path}: {exc.strerror or exc}") from None
        key.append((path, st.st_size, st.st_mtime_ns))
    key = tuple(key)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None:
            found = _CACHE[key] = _build(paths)
    return found


def _build(paths: list) -> Dictionary:
    from . import sources as src

    records = src.records_of_tables(_standard.ENTRIES, _standard.MASKS)
    new_exact: dict = {}
    precs: list = []
    added = []
    editions = []
    for path in paths:
        kind = "dic"
        try:
            kind = src.kind_of(path)
            if kind == "json":
                std = src.parse_attributes_json(path)
                edition = src.edition_from_text(os.path.basename(path).rsplit(".", 1)[0])
                private = []
            elif kind == "xml":
                edition, std = src.parse_part6_xml(path)
                private = []
            else:
                std, private = src.parse_dic(path)
                edition = None
            digest = src.sha256_file(path)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, SyntaxError) as exc:
            raise DictionaryError(f"dictionary {path}: cannot read it as a "
                                  f"{_KIND_NAMES[kind]}: {exc}") from None
        if not std and not private:
            raise DictionaryError(f"dictionary {path}: no entries found")
        records = src.merge(std, records)[0]
        for r in std:
            if r.mask == src.FULL_MASK:
                new_exact[r.base] = r
        precs.extend(private)
        name = os.path.basename(path)
        added.append((kind, name, digest))
        editions.append(f"{name} ({edition})" if edition else name)
    built = src.build_standard(records)
    entries, masks, vr, keyword, tag = src.standard_tables(built)
    # the built-in keywords stay usable for look-ups (a file that renames an
    # attribute adds its name); a keyword a file gives another tag follows it
    tag = {**_standard.TAG, **tag}
    site = src.private_tables(src.build_private(precs)) if precs else None
    if site is not None:
        base_private, base_ranges = _builtin_private()
        private = dict(base_private)
        private.update(site[0])
        ranges = dict(base_ranges)
        for k, v in site[1].items():
            ranges[k] = v + base_ranges.get(k, ())
        private_tables = (private, ranges)
    else:
        private_tables = None
    changed = frozenset(t for t in new_exact
                        if _standard.ENTRIES.get(t, (None, None))[1] != entries[t][1])
    sources = list(_standard.SOURCES) + added
    return Dictionary(entries, masks, vr, keyword, tag, private_tables,
                      description=EDITION + " + " + " + ".join(editions),
                      sha256=src.combined_sha(sources), added=tuple(added),
                      site_private=site, changed=changed)


_KIND_NAMES = {"json": "PS3.6 JSON extract", "xml": "PS3.6 DocBook XML",
               "dic": "DCMTK .dic dictionary"}
