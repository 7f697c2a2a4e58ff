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
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "dictionary" / "attributes_2024e.json"
DEFAULT_PRIVATE = ROOT / "dictionary" / "dcmtk_3.6.7_private.dic"
DEFAULT_OUT = ROOT / "dicom2ion" / "dictionary"

STANDARD_MODULE = "_standard.py"
PRIVATE_MODULE = "_private.py"

# The parsers and the table building live in the package (one home, also used
# at run time by ``--dictionary``); the file is loaded on its own, so the
# generator runs even when the generated modules are missing or broken.
_spec = importlib.util.spec_from_file_location(
    "dicom2ion_dictionary_sources", ROOT / "dicom2ion" / "dictionary" / "sources.py")
sources = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = sources
_spec.loader.exec_module(sources)
KNOWN_VRS, DCMTK_VRS, FULL_MASK = sources.KNOWN_VRS, sources.DCMTK_VRS, sources.FULL_MASK
Record, PrivateRecord = sources.Record, sources.PrivateRecord
clean_text, parse_tag, parse_vr, parse_vm = (sources.clean_text, sources.parse_tag,
                                             sources.parse_vr, sources.parse_vm)
edition_from_text = sources.edition_from_text
parse_attributes_json, parse_part6_xml = sources.parse_attributes_json, sources.parse_part6_xml
parse_private_dic, parse_dic = sources.parse_private_dic, sources.parse_dic
merge, build_standard, build_private = sources.merge, sources.build_standard, sources.build_private
representative_tag = sources.representative_tag
sha256_file, combined_sha = sources.sha256_file, sources.combined_sha


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
