#!/usr/bin/env python3
"""Regenerate dicom2ion's DICOM data dictionary from the standard's tables.

Inputs (all optional; the defaults are the committed files in ``dictionary/``):

``--json PATH``
    A JSON extract of PS3.6's attribute registry: a list of objects with the
    fields ``tag`` ("(0008,0005)", "(60XX,0010)"), ``name``, ``keyword``,
    ``valueRepresentation``, ``valueMultiplicity``, ``retired`` ("Y"/"N").
    Default: ``dictionary/attributes_2024e.json``. Pass ``--json ''`` to
    generate from the XML alone.
``--xml PATH``
    NEMA's DocBook XML of PS3.6 (``part06.xml``).  Tables ``table_6-1``,
    ``table_7-1``, ``table_8-1`` and ``table_9-1`` (those present) are read.
    Default: none (the committed 2024e JSON already holds the file meta
    group (0002), the directory group (0004), (0006) and the item tags
    (FFFE,E000/E00D/E0DD)).  When both JSON and XML are given, the JSON wins
    for tags present in both and the XML adds the tags the JSON lacks; the
    edition is then the JSON's.
``--private PATH``
    A DCMTK ``private.dic``.  Default: ``dictionary/dcmtk_3.6.7_private.dic``.
    Pass ``--private ''`` to generate an empty private dictionary.

Outputs: ``dicom2ion/dictionary/_standard.py`` and ``_private.py`` (``--out-dir``
to write elsewhere).  ``--check`` writes nothing and exits 1 when the files in
the output directory differ from what the sources produce (0 when equal).

SOURCE_SHA256 (recorded in ``_standard.py``) is the SHA-256 of the UTF-8 text
made of one line ``"<role> <sha256 hex of the file's bytes>\\n"`` for each
source used, in the order json, xml, private (roles: ``json``, ``xml``,
``private``).  It does not depend on file names or paths.

The output is deterministic: entries are sorted by tag, only ``repr`` of
str/int/bool/tuple values is written, and no timestamps or paths are recorded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "dictionary" / "attributes_2024e.json"
DEFAULT_PRIVATE = ROOT / "dictionary" / "dcmtk_3.6.7_private.dic"
DEFAULT_OUT = ROOT / "dicom2ion" / "dictionary"

STANDARD_MODULE = "_standard.py"
PRIVATE_MODULE = "_private.py"

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


def _private_vrs(vr: str) -> tuple:
    if vr in DCMTK_VRS:
        return DCMTK_VRS[vr]
    got = parse_vr(vr)
    if not got:
        raise ValueError(f"unknown VR {vr!r}")
    return got


def parse_private_dic(path) -> list[PrivateRecord]:
    """Read a DCMTK private.dic (tab separated: tag, VR, name, VM, version).

    Later lines override earlier ones with the same key, as in DCMTK."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split("\t")
            fields = [x.strip() for x in fields if x.strip() != ""]
            if len(fields) < 4:
                raise ValueError(f"{path}:{lineno}: expected >= 4 fields: {line!r}")
            m = _PRIV_RE.fullmatch(fields[0])
            if not m:
                raise ValueError(f"{path}:{lineno}: malformed private tag {fields[0]!r}")
            g1 = int(m["g1"], 16)
            g2 = int(m["g2"], 16) if m["g2"] else g1
            gstep = 2 if m["gp"] else 1
            e1 = int(m["e1"], 16)
            e2 = int(m["e2"], 16) if m["e2"] else e1
            estep = 2 if m["ep"] else 1
            creator = m["creator"].rstrip(" \x00")
            try:
                vrs = _private_vrs(fields[1])
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: {exc}") from None
            name = fields[2]
            keyword = "" if name.lower().startswith("unknown") else name
            for el in range(e1, e2 + 1, estep):
                out.append(PrivateRecord(creator, g1, g2, gstep, el, keyword, vrs, fields[3], name))
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


_FORBIDDEN = ("|", "\n", "\r", "\\", '"""')


def _field(value: str) -> str:
    for bad in _FORBIDDEN:
        if bad in value:
            raise ValueError(f"field {value!r} contains {bad!r}, which the generated format cannot hold")
    return value


def _flags(retired: bool, canonical: bool) -> str:
    return ("R" if retired else "") + ("K" if canonical else "") or "-"


_STANDARD_BUILD = '''

def _build():
    # Parse the tables above (a few ms; far cheaper than compiling the same
    # data as dict displays when no .pyc can be written).
    vcache = {"": ()}
    entries, vr, keyword, tag = {}, {}, {}, {}
    for line in _EXACT.split("\\n"):
        if not line:
            continue
        t, v, vm, flags, kw, name = line.split("|")
        t = int(t, 16)
        vrs = vcache.get(v)
        if vrs is None:
            vrs = vcache[v] = tuple(v.split("/"))
        entries[t] = (kw, vrs, vm, name, "R" in flags)
        vr[t] = vrs[0] if vrs else ""
        if "K" in flags:
            keyword[t] = kw
            tag[kw] = t
    masks = []
    for line in _MASKED.split("\\n"):
        if not line:
            continue
        b, m, rep, v, vm, flags, kw, name = line.split("|")
        b = int(b, 16)
        vrs = vcache.get(v)
        if vrs is None:
            vrs = vcache[v] = tuple(v.split("/"))
        masks.append((b, int(m, 16), (kw, vrs, vm, name, "R" in flags)))
        if "K" in flags:
            rep = int(rep, 16)
            keyword[rep] = kw
            tag[kw] = rep
    return entries, tuple(masks), vr, keyword, tag


# ENTRIES: exact tag -> (keyword, vrs, vm, name, retired)
# MASKS: ((base, mask, (keyword, vrs, vm, name, retired)), ...), most specific
#        first; an (even-group) tag matches when tag & mask == base
# VR: exact tag -> VR ('' when none; the first of a multi-VR entry)
# KEYWORD: tag -> keyword, only where TAG[keyword] == tag (for masks: the
#          representative tag, normally the base (6000,0010))
# TAG: keyword -> tag
ENTRIES, MASKS, VR, KEYWORD, TAG = _build()
del _build
'''


def render_standard(built: dict, edition: str, source_sha: str, sources: list) -> str:
    exact, masks, tag_for = built["exact"], built["masks"], built["tag_for"]
    L = []
    w = L.append
    w("# Generated by tools/regenerate_dictionary.py -- DO NOT EDIT.")
    w("# Regenerate: python tools/regenerate_dictionary.py  (see dictionary/EDITION.md)")
    w('"""DICOM standard data dictionary tables (generated)."""')
    w("")
    w(f"EDITION = {edition!r}")
    w(f"SOURCE_SHA256 = {source_sha!r}")
    w("# (role, file name, sha256 of the file's bytes)")
    w("SOURCES = (")
    for s in sources:
        w(f"    {s!r},")
    w(")")
    w("")
    w("# One line per exact tag: TAG|VRS|VM|FLAGS|KEYWORD|NAME")
    w("# VRS: VRs joined by '/', FLAGS: R = retired, K = keyword maps back to this tag, - = none")
    w('_EXACT = """\\')
    for tag in sorted(exact):
        r = exact[tag]
        canon = bool(r.keyword) and tag_for.get(r.keyword) == tag
        w("|".join((f"{tag:08X}", "/".join(r.vrs), _field(r.vm), _flags(r.retired, canon),
                    _field(r.keyword), _field(r.name))))
    w('"""')
    w("")
    w("# One line per masked tag, most specific first: BASE|MASK|REP|VRS|VM|FLAGS|KEYWORD|NAME")
    w("# (BASE: mask with x digits as 0; REP: the tag KEYWORD maps to, see representative_tag)")
    w('_MASKED = """\\')
    for r in masks:
        rep = built["rep"][(r.base, r.mask)]
        canon = bool(r.keyword) and rep is not None and tag_for.get(r.keyword) == rep
        w("|".join((f"{r.base:08X}", f"{r.mask:08X}", f"{rep or 0:08X}", "/".join(r.vrs), _field(r.vm),
                    _flags(r.retired, canon), _field(r.keyword), _field(r.name))))
    w('"""')
    L.append(_STANDARD_BUILD)
    return "\n".join(L)


def build_private(precs: list[PrivateRecord]) -> dict:
    """(creator, group_lo, group_hi, step, element & 0xFF) -> record; later lines win."""
    out = {}
    for p in precs:
        out[(p.creator, p.group_lo, p.group_hi, p.group_step, p.element & 0xFF)] = p
    return out


_PRIVATE_BUILD = '''

def _build():
    vcache = {"": ()}
    private, ranges = {}, {}
    for line in _DATA.split("\\n"):
        if not line:
            continue
        creator, lo, hi, step, el, v, vm, kw, name = line.split("|")
        lo, hi, el = int(lo, 16), int(hi, 16), int(el, 16)
        vrs = vcache.get(v)
        if vrs is None:
            vrs = vcache[v] = tuple(v.split("/"))
        val = (el, kw, vrs, vm, name)
        if lo == hi:
            private[(creator, lo, el & 0xFF)] = val
        else:
            ranges.setdefault((creator, el & 0xFF), []).append((lo, hi, int(step), val))
    return private, {k: tuple(v) for k, v in ranges.items()}


# PRIVATE: (creator, group, element & 0xFF) -> (element, keyword, vrs, vm, name)
# PRIVATE_RANGES: (creator, element & 0xFF) -> ((group_lo, group_hi, step, value), ...)
PRIVATE, PRIVATE_RANGES = _build()
del _build
'''


def render_private(built: dict, private_sha: str, sources: list) -> str:
    L = []
    w = L.append
    w("# Generated by tools/regenerate_dictionary.py -- DO NOT EDIT.")
    w("# Derived from DCMTK's private.dic, (C) OFFIS e.V., BSD licence:")
    w("# see dictionary/dcmtk_3.6.7_private.LICENSE.txt")
    w('"""Private data dictionary tables (generated)."""')
    w("")
    w(f"PRIVATE_SOURCE_SHA256 = {private_sha!r}")
    w("SOURCES = (")
    for s in sources:
        w(f"    {s!r},")
    w(")")
    w("")
    w("# One line per entry: CREATOR|GROUP_LO|GROUP_HI|STEP|ELEMENT|VRS|VM|KEYWORD|NAME")
    w("# (ELEMENT: block-relative 00-FF, or a fixed element >= 1000)")
    w('_DATA = """\\')
    for key in sorted(built):
        p = built[key]
        w("|".join((_field(p.creator), f"{p.group_lo:04X}", f"{p.group_hi:04X}", str(p.group_step),
                    f"{p.element:02X}", "/".join(p.vrs), _field(p.vm), _field(p.keyword), _field(p.name))))
    w('"""')
    L.append(_PRIVATE_BUILD)
    return "\n".join(L)


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


def generate(json_path=None, xml_path=None, private_path=None, edition=None, warn=None) -> dict:
    """Return {file name: text} for the generated modules."""
    if warn is None:
        warn = lambda msg: print(f"warning: {msg}", file=sys.stderr)  # noqa: E731
    if not json_path and not xml_path:
        raise SystemExit("error: need at least one of --json / --xml")
    sources = []
    records: list[Record] = []
    json_edition = xml_edition = None
    if json_path:
        records = parse_attributes_json(json_path)
        json_edition = edition_from_text(Path(json_path).stem)
        sources.append(("json", Path(json_path).name, sha256_file(json_path)))
    if xml_path:
        xml_edition, xrecs = parse_part6_xml(xml_path)
        records, added = merge(records, xrecs)
        if json_path and added:
            warn(f"{len(added)} entries taken from the XML (absent from the JSON)")
        sources.append(("xml", Path(xml_path).name, sha256_file(xml_path)))
    ed = edition or json_edition or xml_edition
    if not ed:
        raise SystemExit("error: cannot tell the edition from the sources; pass --edition")
    if not ed.startswith("DICOM"):
        ed = f"DICOM PS3.6 {ed}"
    precs = []
    if private_path:
        precs = parse_private_dic(private_path)
        sources.append(("private", Path(private_path).name, sha256_file(private_path)))
    src_sha = combined_sha(sources)
    built = build_standard(records, warn)
    pbuilt = build_private(precs)
    psources = [s for s in sources if s[0] == "private"]
    private_sha = psources[0][2] if psources else ""
    return {
        STANDARD_MODULE: render_standard(built, ed, src_sha, sources),
        PRIVATE_MODULE: render_private(pbuilt, private_sha, psources),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="attribute JSON extract ('' for none)")
    ap.add_argument("--xml", default="", help="NEMA DocBook XML of PS3.6 (default: none)")
    ap.add_argument("--private", default=str(DEFAULT_PRIVATE), help="DCMTK private.dic ('' for none)")
    ap.add_argument("--edition", default=None, help="edition label, e.g. 2024e (default: from the sources)")
    ap.add_argument("--out-dir", default=str(DEFAULT_OUT), help="where the generated modules live")
    ap.add_argument("--check", action="store_true", help="exit 1 if the generated modules are out of date")
    args = ap.parse_args(argv)

    for opt in ("json", "xml", "private"):
        p = getattr(args, opt)
        if p and not Path(p).is_file():
            print(f"error: --{opt} {p}: no such file", file=sys.stderr)
            return 2
    files = generate(args.json or None, args.xml or None, args.private or None, args.edition)
    out = Path(args.out_dir)
    if args.check:
        stale = []
        for name, text in sorted(files.items()):
            target = out / name
            try:
                current = target.read_text(encoding="utf-8")
            except FileNotFoundError:
                current = None
            if current != text:
                stale.append(f"{target} is {'missing' if current is None else 'out of date'}")
        if stale:
            print(
                "dictionary check FAILED: the generated module(s) differ from what the sources produce:\n  "
                + "\n  ".join(stale)
                + "\nRun `python tools/regenerate_dictionary.py` (with the same options) and commit the result.",
                file=sys.stderr,
            )
            return 1
        print("dictionary check OK: generated modules match the sources")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(files.items()):
        (out / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
