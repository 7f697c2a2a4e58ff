"""Reading the data dictionary's sources into tables.

One home for the parsers and the table building used both by
``tools/regenerate_dictionary.py`` (which writes the generated modules) and
by :func:`dicom2ion.dictionary.load_dictionary` (``--dictionary PATH`` at run
time): PS3.6's attribute JSON extract, NEMA's DocBook XML of PS3.6, and
DCMTK ``.dic`` files (standard and private entries).

Only the standard library is used, so the generator can load this file on
its own even when the generated modules are missing or stale.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

KNOWN_VRS = frozenset(
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST "
    "SV TM UC UI UL UN UR US UT UV".split()
)

# DCMTK's pseudo VRs (dcmdata/include/dcmtk/dcmdata/dcvr.h) -> real VRs.
DCMTK_VRS = {
    "ox": ("OB", "OW"),  # OB or OW
    "px": ("OB", "OW"),  # pixel data: OB or OW
    "xs": ("US", "SS"),  # US or SS
    "lt": ("US", "SS", "OW"),  # LUT data: US or SS or OW
    "up": ("UL",),  # unsigned pointer
    "na": (),  # no VR (items, delimiters)
}

XML_TABLE_IDS = ("table_6-1", "table_7-1", "table_8-1", "table_9-1")
DOCBOOK_NS = "http://docbook.org/ns/docbook"
XLINK_NS = "http://www.w3.org/1999/xlink"

FULL_MASK = 0xFFFFFFFF


class Record(NamedTuple):
    """One row of a registry table, normalised."""

    base: int  # tag with mask digits as 0
    mask: int  # 0xFFFFFFFF for an exact tag; 0 nibbles where the table has 'x'
    keyword: str
    vrs: tuple
    vm: str
    name: str
    retired: bool


class PrivateRecord(NamedTuple):
    creator: str
    group_lo: int
    group_hi: int
    group_step: int  # 2 for "-o-" ranges, 1 otherwise
    element: int  # as written: 0x00-0xFF (block-relative) or 0x1000-0xFFFF (fixed)
    keyword: str
    vrs: tuple
    vm: str
    name: str


# --------------------------------------------------------------------------
# normalisation helpers


def clean_text(text: str) -> str:
    """Drop zero-width spaces (U+200B, which NEMA inserts as line-break hints,
    also inside words: "Source Image I\u200bDs"), turn NBSP into a space,
    collapse whitespace."""
    text = text.replace("\u200b", "").replace("\ufeff", "").replace("\u00a0", " ")
    return " ".join(text.split())


def parse_tag(text: str) -> tuple[int, int]:
    """'(0028,04x0)' -> (0x00280400, 0xFFFFFF0F). Lower-case a-f are hex
    digits ((0074,100a) in the 2013 XML); only 'x'/'X' is a mask digit."""
    t = clean_text(text).strip("()").replace(" ", "")
    m = re.fullmatch(r"([0-9A-Fa-fxX]{4}),([0-9A-Fa-fxX]{4})", t)
    if not m:
        raise ValueError(f"malformed tag {text!r}")
    digits = m.group(1) + m.group(2)
    base = mask = 0
    for ch in digits:
        base <<= 4
        mask <<= 4
        if ch in "xX":
            continue
        base |= int(ch, 16)
        mask |= 0xF
    return base, mask


def parse_vr(text: str) -> tuple:
    """'US or SS' -> ('US', 'SS'); 'See Note 2', '' -> ()."""
    t = clean_text(text)
    if not t:
        return ()
    parts = tuple(p for p in re.split(r"\s+or\s+|\s*,\s*|\s*/\s*", t) if p)
    if parts and all(p in KNOWN_VRS for p in parts):
        return parts
    return ()


def parse_vm(text: str) -> str:
    return clean_text(text)


def edition_from_text(text: str) -> str | None:
    m = re.search(r"(?<!\d)((?:19|20)\d\d[a-z]?)(?![\d])", text)
    return m.group(1) if m else None


# --------------------------------------------------------------------------
# readers


def parse_attributes_json(path) -> list[Record]:
    """Read the JSON extract of the attribute registry."""
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)
    out = []
    for row in rows:
        base, mask = parse_tag(row["tag"])
        out.append(
            Record(
                base,
                mask,
                clean_text(row.get("keyword", "")).replace(" ", ""),
                parse_vr(row.get("valueRepresentation", "")),
                parse_vm(row.get("valueMultiplicity", "")),
                clean_text(row.get("name", "")),
                clean_text(row.get("retired", "")).upper() in ("Y", "YES", "RET", "TRUE"),
            )
        )
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _cell_text(el) -> str:
    return clean_text("".join(el.itertext()))


def parse_part6_xml(path, table_ids=XML_TABLE_IDS) -> tuple[str | None, list[Record]]:
    """Read the registry tables of NEMA's DocBook XML of PS3.6.

    Returns (edition, records); edition is e.g. '2013' or '2024e', taken from
    the book's subtitle ("DICOM PS3.6 2024e - Data Dictionary").

    Each wanted ``<table xml:id=...>`` is cut out of the text and parsed on
    its own, so that defects elsewhere in the book do not matter (the 2013
    file has a literal, ill-formed ``<200b>`` in table A-1).
    """
    text = Path(path).read_text(encoding="utf-8")
    sub = re.search(r"<subtitle>(.*?)</subtitle>", text, re.S)
    edition = edition_from_text(clean_text(re.sub(r"<[^>]+>", "", sub.group(1)))) if sub else None
    records: list[Record] = []
    found = []
    for tid in table_ids:
        m = re.search(
            r'<table\b[^>]*\bxml:id="' + re.escape(tid) + r'"[^>]*>.*?</table>', text, re.S
        )
        if not m:
            continue
        found.append(tid)
        frag = re.sub(r"<(200[bB])>", "\u200b", m.group(0))
        table = ET.fromstring(
            f'<wrap xmlns="{DOCBOOK_NS}" xmlns:xl="{XLINK_NS}">{frag}</wrap>'
        )[0]
        header = None
        for tr in table.iter(f"{{{DOCBOOK_NS}}}tr"):
            cells = [c for c in tr if _local(c.tag) in ("td", "th")]
            texts = [_cell_text(c) for c in cells]
            if header is None:
                header = [t.lower() for t in texts]
                if header[:5] != ["tag", "name", "keyword", "vr", "vm"]:
                    raise ValueError(f"{tid}: unexpected header {texts!r}")
                continue
            if len(texts) < 5 or not texts[0]:
                continue
            base, mask = parse_tag(texts[0])
            note = texts[5] if len(texts) > 5 else ""
            records.append(
                Record(
                    base,
                    mask,
                    texts[2].replace(" ", ""),
                    parse_vr(texts[3]),
                    parse_vm(texts[4]),
                    texts[1],
                    note.upper().startswith("RET"),
                )
            )
    if "table_6-1" not in found:
        raise ValueError(f"{path}: no table_6-1 (Registry of DICOM Data Elements) found")
    return edition, records


_PRIV_RE = re.compile(
    r"\((?P<g1>[0-9A-Fa-f]{4})(?:-(?:(?P<gp>[oe])-)?(?P<g2>[0-9A-Fa-f]{4}))?,"
    r'"(?P<creator>[^"]*)",'
    r"(?P<e1>[0-9A-Fa-f]{2,4})(?:-(?:(?P<ep>[oe])-)?(?P<e2>[0-9A-Fa-f]{2,4}))?\)"
)
_STD_RE = re.compile(
    r"\((?P<g1>[0-9A-Fa-f]{4})(?:-(?:(?P<gp>[oeu])-)?(?P<g2>[0-9A-Fa-f]{4}))?,"
    r"(?P<e1>[0-9A-Fa-f]{4})(?:-(?:(?P<ep>[oeu])-)?(?P<e2>[0-9A-Fa-f]{4}))?\)"
)


def _private_vrs(vr: str) -> tuple:
    if vr in DCMTK_VRS:
        return DCMTK_VRS[vr]
    got = parse_vr(vr)
    if not got:
        raise ValueError(f"unknown VR {vr!r}")
    return got


def _range_mask(lo: int, hi: int) -> tuple[int, int] | None:
    """A DCMTK range of 4 hex digits as (base, mask): the range must cover
    whole low nibbles (6000-60FF -> 60xx); None otherwise."""
    if lo == hi:
        return lo, 0xFFFF
    free = 0
    while free < 4 and (lo >> (4 * free)) & 0xF == 0 and (hi >> (4 * free)) & 0xF == 0xF:
        free += 1
    mask = (0xFFFF << (4 * free)) & 0xFFFF
    if free == 0 or lo & mask != hi & mask:
        return None
    return lo, mask


def parse_dic(path) -> tuple[list[Record], list[PrivateRecord]]:
    """Read a DCMTK data dictionary (``dicom.dic``, ``private.dic`` or a site's
    own): tab separated tag, VR, name, VM, version. A tag with a creator,
    ``(0009,"GEMS_IDEN_01",01)``, is a private entry; one without,
    ``(0019,1000)`` or ``(6000-60FF,0010)``, a standard entry (its name is
    the keyword; version ``.../retired`` marks it retired).

    Later lines override earlier ones with the same key, as in DCMTK."""
    records: list[Record] = []
    out: list[PrivateRecord] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split("\t")
            fields = [x.strip() for x in fields if x.strip() != ""]
            if len(fields) < 4:
                raise ValueError(f"{path}:{lineno}: expected >= 4 fields: {line!r}")
            try:
                vrs = _private_vrs(fields[1])
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: {exc}") from None
            name = fields[2]
            m = _PRIV_RE.fullmatch(fields[0])
            if m is None:
                s = _STD_RE.fullmatch(fields[0])
                if s is None:
                    raise ValueError(f"{path}:{lineno}: malformed tag {fields[0]!r}")
                if s["gp"] in ("o", "u"):
                    # generic rules over odd or all groups (group lengths, private
                    # creators): the dictionary applies those by itself
                    continue
                g = _range_mask(int(s["g1"], 16), int(s["g2"] or s["g1"], 16))
                e = _range_mask(int(s["e1"], 16), int(s["e2"] or s["e1"], 16))
                if g is None or e is None:
                    raise ValueError(f"{path}:{lineno}: tag range {fields[0]!r} is not "
                                     "whole hex digits (like 6000-60FF)")
                version = fields[4] if len(fields) > 4 else ""
                records.append(Record((g[0] << 16) | e[0], (g[1] << 16) | e[1],
                                      name if name.isidentifier() else "", vrs, fields[3], name,
                                      version.lower().endswith("retired")))
                continue
            g1 = int(m["g1"], 16)
            g2 = int(m["g2"], 16) if m["g2"] else g1
            gstep = 2 if m["gp"] else 1
            e1 = int(m["e1"], 16)
            e2 = int(m["e2"], 16) if m["e2"] else e1
            estep = 2 if m["ep"] else 1
            creator = m["creator"].rstrip(" \x00")
            keyword = "" if name.lower().startswith("unknown") else name
            for el in range(e1, e2 + 1, estep):
                out.append(PrivateRecord(creator, g1, g2, gstep, el, keyword, vrs, fields[3], name))
    return records, out


def parse_private_dic(path) -> list[PrivateRecord]:
    """Read a DCMTK private.dic (every tag with a creator)."""
    records, out = parse_dic(path)
    if records:
        raise ValueError(f"{path}: {len(records)} entries without a private creator "
                         "(a private dictionary holds private tags only)")
    return out


# --------------------------------------------------------------------------
# building


def merge(primary: list[Record], secondary: list[Record]) -> tuple[list[Record], list[Record]]:
    """Primary wins; secondary adds missing (base, mask) keys. Returns
    (merged, added-from-secondary)."""
    seen = {(r.base, r.mask): r for r in primary}
    added = []
    for r in secondary:
        if (r.base, r.mask) not in seen:
            seen[(r.base, r.mask)] = r
            added.append(r)
    return list(seen.values()), added


def _bits(x: int) -> int:
    return bin(x).count("1")


def build_standard(records: list[Record], warn=lambda msg: None) -> dict:
    exact = {}
    masks = {}
    for r in records:
        if r.mask == FULL_MASK:
            exact[r.base] = r  # later duplicate wins
        else:
            masks[(r.base, r.mask)] = r
    # keywords: unique and round-tripping
    by_kw: dict[str, list[Record]] = {}
    for r in list(exact.values()) + list(masks.values()):
        if r.keyword:
            by_kw.setdefault(r.keyword, []).append(r)
    mask_list = sorted(masks.values(), key=lambda r: (-_bits(r.mask), r.base, r.mask))
    rep = {(r.base, r.mask): representative_tag(r, exact, mask_list) for r in mask_list}
    tag_for = {}
    for kw, rs in by_kw.items():
        rs.sort(key=lambda r: (r.retired, r.mask != FULL_MASK, r.base))
        if len(rs) > 1:
            warn(
                f"keyword {kw!r} used by {len(rs)} tags; keeping "
                f"{rs[0].base:08X} for keyword lookups"
            )
        r = rs[0]
        t = r.base if r.mask == FULL_MASK else rep[(r.base, r.mask)]
        if t is None:
            warn(f"masked keyword {kw!r} has no tag of its own; no keyword lookups for it")
            continue
        tag_for[kw] = t
    return {"exact": exact, "masks": mask_list, "tag_for": tag_for, "rep": rep}


def representative_tag(r: Record, exact: dict, mask_list: list) -> int | None:
    """The tag a masked entry's keyword maps to: the smallest tag matching the
    mask that really resolves to this entry (its element is not 0000, which is
    the group length; it is not an exact entry; no more specific mask takes it).
    For (60xx,0010) that is the base (6000,0010); for (0028,04x0) it is
    (0028,0410) as (0028,0400) is Transform Label; for (1000,xxx0) it is
    (1000,0010)."""
    free = [i for i in range(8) if not (r.mask >> (4 * i)) & 0xF]  # free nibbles, low first
    for n in range(16 ** len(free)):
        t = r.base
        for k, i in enumerate(free):
            t |= ((n >> (4 * k)) & 0xF) << (4 * i)
        if not t & 0xFFFF or t & 0x10000 or t in exact:
            continue
        first = next(m for m in mask_list if t & m.mask == m.base)
        if first is r:
            return t
    return None



def build_private(precs: list[PrivateRecord]) -> dict:
    """(creator, group_lo, group_hi, step, element & 0xFF) -> record; later lines win."""
    out = {}
    for p in precs:
        out[(p.creator, p.group_lo, p.group_hi, p.group_step, p.element & 0xFF)] = p
    return out


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def combined_sha(sources: list) -> str:
    """sha256 over "<role> <file sha256>\\n" lines, in json, xml, private order."""
    text = "".join(f"{role} {digest}\n" for role, _name, digest in sources)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()




# --------------------------------------------------------------------------
# tables, in the shapes the generated modules give at import


def standard_tables(built: dict) -> tuple:
    """(ENTRIES, MASKS, VR, KEYWORD, TAG) of a ``build_standard`` result,
    equal to what the generated ``_standard`` module builds from its text."""
    exact, masks, tag_for, rep = built["exact"], built["masks"], built["tag_for"], built["rep"]
    entries, vr, keyword, tag = {}, {}, {}, {}
    for t in sorted(exact):
        r = exact[t]
        entries[t] = (r.keyword, r.vrs, r.vm, r.name, r.retired)
        vr[t] = r.vrs[0] if r.vrs else ""
        if r.keyword and tag_for.get(r.keyword) == t:
            keyword[t] = r.keyword
            tag[r.keyword] = t
    mask_list = []
    for r in masks:
        mask_list.append((r.base, r.mask, (r.keyword, r.vrs, r.vm, r.name, r.retired)))
        t = rep[(r.base, r.mask)]
        if r.keyword and t is not None and tag_for.get(r.keyword) == t:
            keyword[t] = r.keyword
            tag[r.keyword] = t
    return entries, tuple(mask_list), vr, keyword, tag


def private_tables(built: dict) -> tuple:
    """(PRIVATE, PRIVATE_RANGES) of a ``build_private`` result, as the
    generated ``_private`` module builds them."""
    private, ranges = {}, {}
    for key in sorted(built):
        p = built[key]
        val = (p.element, p.keyword, p.vrs, p.vm, p.name)
        if p.group_lo == p.group_hi:
            private[(p.creator, p.group_lo, p.element & 0xFF)] = val
        else:
            ranges.setdefault((p.creator, p.element & 0xFF), []).append(
                (p.group_lo, p.group_hi, p.group_step, val))
    return private, {k: tuple(v) for k, v in ranges.items()}


def records_of_tables(entries: dict, masks: tuple) -> list[Record]:
    """Records back from generated tables (to merge a dictionary given at run
    time over the built-in one)."""
    out = [Record(t, FULL_MASK, kw, vrs, vm, name, retired)
           for t, (kw, vrs, vm, name, retired) in entries.items()]
    out += [Record(base, mask, kw, vrs, vm, name, retired)
            for base, mask, (kw, vrs, vm, name, retired) in masks]
    return out


def kind_of(path) -> str:
    """Which parser a dictionary file needs: ``json``, ``xml`` or ``dic``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix == ".xml":
        return "xml"
    with open(path, "rb") as f:
        head = f.read(512).lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if head[:1] == b"[":
        return "json"
    if head[:1] == b"<":
        return "xml"
    return "dic"
