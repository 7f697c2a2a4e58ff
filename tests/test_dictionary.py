"""Tests for dicom2ion.dictionary and tools/regenerate_dictionary.py."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dicom2ion import dictionary as d
from dicom2ion.dictionary import Entry

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "tools" / "regenerate_dictionary.py"
PKG_DIR = ROOT / "dicom2ion" / "dictionary"
XML_2013 = Path("/work/shared/dictionary-sources/part06_2013.xml")


def _load_generator():
    spec = importlib.util.spec_from_file_location("regenerate_dictionary", GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


gen = _load_generator()


# ---------------------------------------------------------------- metadata


def test_edition_and_source_sha():
    assert d.EDITION == "DICOM PS3.6 2024e"
    # documented recipe: sha256 over "<role> <sha256 of file>\n" for json, (xml,) private
    lines = ""
    for role, path in (
        ("json", ROOT / "dictionary" / "attributes_2024e.json"),
        ("private", ROOT / "dictionary" / "dcmtk_3.6.7_private.dic"),
    ):
        lines += f"{role} {hashlib.sha256(path.read_bytes()).hexdigest()}\n"
    assert d.SOURCE_SHA256 == hashlib.sha256(lines.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", d.SOURCE_SHA256)


# ---------------------------------------------------------------- exact lookups


@pytest.mark.parametrize(
    "tag, keyword, vr, vm",
    [
        (0x00100010, "PatientName", "PN", "1"),
        (0x00080005, "SpecificCharacterSet", "CS", "1-n"),
        (0x00080008, "ImageType", "CS", "2-n"),
        (0x00020010, "TransferSyntaxUID", "UI", "1"),  # table 7-1 (file meta)
        (0x00020000, "FileMetaInformationGroupLength", "UL", "1"),
        (0x00041130, "FileSetID", "CS", "1"),  # table 8-1 (directory)
        (0x00041220, "DirectoryRecordSequence", "SQ", "1"),
        (0x00060001, "CurrentFrameFunctionalGroupsSequence", "SQ", "1"),  # table 9-1
        (0x7FE00010, "PixelData", "OB", "1"),
        (0x00280030, "PixelSpacing", "DS", "2"),
        (0x00200032, "ImagePositionPatient", "DS", "3"),
    ],
)
def test_exact_lookup(tag, keyword, vr, vm):
    e = d.lookup(tag)
    assert isinstance(e, Entry)
    assert (e.tag, e.keyword, e.vr, e.vm) == (tag, keyword, vr, vm)
    assert e.vrs[0] == vr
    assert d.vr_of(tag) == vr
    assert d.keyword_for(tag) == keyword
    assert d.tag_for_keyword(keyword) == tag


def test_vm_forms():
    assert d.lookup(0x00280034).vm == "2"  # PixelAspectRatio
    assert d.lookup(0x00181624).vm == "3"
    # 2-2n and 1-n or 1 are kept verbatim
    assert d.lookup(0x00281200).vm == "1-n or 1"
    vms = {d.lookup(t).vm for t in d._ENTRIES}
    assert {"2-2n", "1-n or 1", "3-3n", "1-n", ""} <= vms


def test_keyword_roundtrip_everywhere():
    assert len(d._TAG) > 4500
    for kw, tag in d._TAG.items():
        assert d.keyword_for(tag) == kw
        assert d.tag_for_keyword(kw) == tag
        assert "\u200b" not in kw and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", kw), kw
    for tag, kw in d._KEYWORD.items():
        assert d.tag_for_keyword(kw) == tag


def test_unknown_tags():
    assert d.lookup(0x0008FFFE) is None
    assert d.vr_of(0x0008FFFE) == "UN"
    assert d.keyword_for(0x0008FFFE) is None
    assert d.tag_for_keyword("NoSuchKeyword") is None
    assert d.tag_for_keyword("") is None


# ---------------------------------------------------------------- masks


def test_overlay_masks():
    e = d.lookup(0x60003000)
    assert e.keyword == "OverlayData" and e.vrs == ("OB", "OW") and e.vr == "OB"
    e2 = d.lookup(0x601E3000)
    assert e2.tag == 0x60003000 and e2.keyword == "OverlayData"
    e3 = d.lookup(0x60020010)
    assert e3.tag == 0x60000010 and e3.keyword == "OverlayRows" and e3.vr == "US"
    assert d.vr_of(0x60020010) == "US"
    assert d.vr_of(0x60020010) == "US"  # memoised path gives the same
    assert d.vr_of(0x60020050) == "SS"  # OverlayOrigin
    # keyword_for only for the base tag, so it round-trips
    assert d.keyword_for(0x60000010) == "OverlayRows"
    assert d.keyword_for(0x60020010) is None
    assert d.tag_for_keyword("OverlayRows") == 0x60000010
    assert d.tag_for_keyword("OverlayData") == 0x60003000


def test_curve_and_other_masks():
    e = d.lookup(0x50020005)
    assert (e.tag, e.keyword, e.vr, e.retired) == (0x50000005, "CurveDimensions", "US", True)
    assert d.lookup(0x50003000).vrs == ("OB", "OW")
    e = d.lookup(0x00203105)
    assert (e.tag, e.keyword, e.vm) == (0x00203100, "SourceImageIDs", "1-n")
    e = d.lookup(0x002804A0)  # (0028,04x0)
    assert (e.tag, e.keyword) == (0x00280400 , "RowsForNthOrderCoefficients")
    assert d.lookup(0x002804A3).keyword == "CoefficientCodingPointers"
    assert d.vr_of(0x002804A3) == "AT"
    e = d.lookup(0x10001230)  # (1000,xxx0)
    assert (e.tag, e.keyword, e.vm) == (0x10000000, "EscapeTriplet", "3")
    assert d.lookup(0x10001235).keyword == "ShiftTableTriplet"
    assert d.lookup(0x1010ABCD).keyword == "ZonalMap"
    e = d.lookup(0x7F020010)
    assert (e.tag, e.keyword, e.vrs) == (0x7F000010, "VariablePixelData", ("OB", "OW"))


def test_masked_keywords_round_trip_where_base_is_taken():
    # (0028,0400) is Transform Label, so the (0028,04x0) keyword maps to (0028,0410)
    assert d.keyword_for(0x00280400) == "TransformLabel"
    assert d.tag_for_keyword("RowsForNthOrderCoefficients") == 0x00280410
    assert d.keyword_for(0x00280410) == "RowsForNthOrderCoefficients"
    assert d.keyword_for(0x00280420) is None
    # (1000,0000) is the group length, so (1000,xxx0) maps to (1000,0010)
    assert d.lookup(0x10000000).name == "Group Length"
    assert d.vr_of(0x10000000) == "UL"
    assert d.keyword_for(0x10000000) is None
    assert d.tag_for_keyword("EscapeTriplet") == 0x10000010
    assert d.tag_for_keyword("ZonalMap") == 0x10100001
    assert d.tag_for_keyword("RunLengthTriplet") == 0x10000001
    for kw in ("EscapeTriplet", "ZonalMap", "RowsForNthOrderCoefficients", "CurveData"):
        assert d.lookup(d.tag_for_keyword(kw)).keyword == kw


def test_exact_before_mask():
    # (0028,0400) Transform Label is an exact entry inside the (0028,04x0) mask
    e = d.lookup(0x00280400)
    assert (e.keyword, e.vr) == ("TransformLabel", "LO")
    assert d.vr_of(0x00280400) == "LO"
    assert d.lookup(0x00280410).keyword == "RowsForNthOrderCoefficients"
    # (7FE0,0010) Pixel Data, not (7Fxx,0010) Variable Pixel Data
    assert d.lookup(0x7FE00010).keyword == "PixelData"
    assert d.lookup(0x7FE00020).keyword == "CoefficientsSDVN"


def test_masks_do_not_match_private_groups():
    # (6001,3000) is private, not Overlay Data
    assert d.lookup(0x60013000) is None
    assert d.vr_of(0x60013000) == "UN"
    assert d.lookup(0x60010010).name == "Private Creator"


# ---------------------------------------------------------------- VR details


@pytest.mark.parametrize(
    "tag, vrs, vm",
    [
        (0x00280106, ("US", "SS"), "1"),  # SmallestImagePixelValue: US or SS
        (0x00281101, ("US", "SS"), "3"),  # RedPaletteColorLookupTableDescriptor
        (0x00281200, ("US", "SS", "OW"), "1-n or 1"),  # GrayLookupTableData
        (0x00283006, ("US", "OW"), "1-n or 1"),  # LUTData
        (0x7FE00010, ("OB", "OW"), "1"),
        (0x54000110, ("OB", "OW"), "1"),  # ChannelMinimumValue
    ],
)
def test_multi_vr(tag, vrs, vm):
    e = d.lookup(tag)
    assert e.vrs == vrs and e.vr == vrs[0] and e.vm == vm
    assert d.vr_of(tag) == vrs[0]


@pytest.mark.parametrize(
    "tag, vr, keyword",
    [
        (0x0008030C, "UC", "PrivateDataElementName"),
        (0x00080119, "UC", "LongCodeValue"),
        (0x0008010E, "UR", "CodingSchemeURL"),
        (0x00020026, "UR", "SourcePresentationAddress"),
        (0x003A032E, "OD", "FilterLookupTableData"),
        (0x00660040, "OL", "LongPrimitivePointIndexList"),
        (0x00720081, "OV", "SelectorOVValue"),
        (0x00720082, "SV", "SelectorSVValue"),
        (0x0008040C, "UV", "FileOffsetInContainer"),
    ],
)
def test_newer_vrs(tag, vr, keyword):
    assert d.vr_of(tag) == vr
    assert d.keyword_for(tag) == keyword


def test_all_vrs_known():
    seen = set()
    for t in d._ENTRIES:
        seen.update(d.lookup(t).vrs)
    assert {"UC", "UR", "OD", "OL", "OV", "SV", "UV"} <= seen
    assert seen <= gen.KNOWN_VRS


def test_retired():
    e = d.lookup(0x00080001)
    assert (e.keyword, e.retired) == ("LengthToEnd", True)
    assert d.lookup(0x00100010).retired is False
    assert d.lookup(0x60000010).retired is False  # OverlayRows is current
    assert d.lookup(0x60000012).retired is True  # OverlayPlanes is retired
    n_ret = sum(1 for t in d._ENTRIES if d.lookup(t).retired)
    assert 300 < n_ret < len(d._ENTRIES) // 2


def test_entries_without_vr_or_keyword():
    for tag in (0x00080202, 0x00189445, 0x00280020):
        e = d.lookup(tag)
        assert e is not None and e.retired
        assert (e.keyword, e.vr, e.vrs, e.vm, e.name) == ("", "", (), "", "")
        assert d.vr_of(tag) == ""
        assert d.keyword_for(tag) is None
    # retired with VR but without keyword
    e = d.lookup(0x00180061)
    assert (e.keyword, e.vr, e.vm) == ("", "DS", "1")
    assert d.keyword_for(0x00180061) is None


@pytest.mark.parametrize(
    "tag, keyword",
    [
        (0xFFFEE000, "Item"),
        (0xFFFEE00D, "ItemDelimitationItem"),
        (0xFFFEE0DD, "SequenceDelimitationItem"),
    ],
)
def test_item_tags(tag, keyword):
    e = d.lookup(tag)
    assert (e.keyword, e.vr, e.vrs, e.vm) == (keyword, "", (), "1")
    assert d.vr_of(tag) == ""
    assert d.keyword_for(tag) == keyword
    assert d.tag_for_keyword(keyword) == tag
    assert not d.is_private(tag)


def test_group_length_and_private_creator_rules():
    for tag in (0x00080000, 0x00100000, 0x00280000, 0x7FE00000, 0x00090000, 0x00000000):
        assert d.vr_of(tag) == "UL", hex(tag)
    assert d.lookup(0x00100000).name == "Group Length"
    assert d.lookup(0x00020000).keyword == "FileMetaInformationGroupLength"
    for tag in (0x00090010, 0x000900FF, 0x00290011, 0x7FE10010):
        assert d.vr_of(tag) == "LO", hex(tag)
        assert d.lookup(tag).vr == "LO"
    for tag in (0x00090001, 0x0009000F, 0x00090100, 0x00291010):
        assert d.vr_of(tag) == "UN", hex(tag)
    assert d.keyword_for(0x00090010) is None


def test_is_private():
    assert d.is_private(0x00090010)
    assert d.is_private(0x00291010)
    assert d.is_private(0x00010010) and d.is_private(0x00030000) and d.is_private(0x00070010)
    assert d.is_private(0xFFFF0010)
    assert not d.is_private(0x00100010)
    assert not d.is_private(0x00020010)
    assert not d.is_private(0x60000010)


# ---------------------------------------------------------------- private dictionary


def test_lookup_private_exact():
    e = d.lookup_private("1.2.840.113681", 0x0019, 0x10)
    assert (e.keyword, e.vr, e.vm, e.retired) == ("CRImageParamsCommon", "ST", "1", False)
    e = d.lookup_private("SIEMENS CSA HEADER", 0x0029, 0x10)
    assert (e.keyword, e.vr) == ("CSAImageHeaderInfo", "OB")
    assert e.tag == 0x00290010
    # the element offset is the low byte: 0x1010 == block 0x10, offset 0x10
    assert d.lookup_private("SIEMENS CSA HEADER", 0x0029, 0x1010) == e


def test_lookup_private_creator_normalisation():
    a = d.lookup_private("SIEMENS CSA HEADER", 0x0029, 0x08)
    assert a is not None and a.keyword == "CSAImageHeaderType"
    assert d.lookup_private("SIEMENS CSA HEADER ", 0x0029, 0x08) == a
    assert d.lookup_private("SIEMENS CSA HEADER\x00", 0x0029, 0x08) == a
    assert d.lookup_private("SIEMENS CSA HEADER \x00 ", 0x0029, 0x08) == a
    # case and leading spaces matter
    assert d.lookup_private("siemens csa header", 0x0029, 0x08) is None
    assert d.lookup_private(" SIEMENS CSA HEADER", 0x0029, 0x08) is None


def test_lookup_private_misses():
    assert d.lookup_private("NO SUCH CREATOR", 0x0029, 0x10) is None
    assert d.lookup_private("SIEMENS CSA HEADER", 0x0031, 0x10) is None  # other group
    assert d.lookup_private("SIEMENS CSA HEADER", 0x0029, 0xFE) is None


def test_lookup_private_group_ranges():
    # (7001-o-70ff,"DLX_ANNOT_01",04): every odd group in the range
    for group in (0x7001, 0x7003, 0x70FF):
        e = d.lookup_private("DLX_ANNOT_01", group, 0x04)
        assert e is not None and (e.keyword, e.vr) == ("TextAnnotation", "ST")
        assert e.tag == (group << 16) | 0x04
    assert d.lookup_private("DLX_ANNOT_01", 0x7002, 0x04) is None  # even group
    assert d.lookup_private("DLX_ANNOT_01", 0x7101, 0x04) is None  # outside range


def test_lookup_private_pseudo_vrs_and_unknown_names():
    e = d.lookup_private("SPI-P Release 1", 0x7FE1, 0x10)  # DCMTK 'ox'
    assert e.vrs == ("OB", "OW") and e.vr == "OB"
    e = d.lookup_private("GEMS_Ultrasound_MovieGroup_001", 0x7FE1, 0x60)  # fixed (7fe1,..,1060), 'px'
    assert e.vrs == ("OB", "OW") and e.tag == 0x7FE11060
    e = d.lookup_private("ACUSON", 0x0009, 0x00)
    assert (e.keyword, e.name, e.vr) == ("", "Unknown", "IS")


def test_private_line_with_four_fields():
    # "(0041,"PAPYRUS",b3)\tUL\tInternalOffsetToImage\t1-n" has no version column
    e = d.lookup_private("PAPYRUS", 0x0041, 0xB3)
    assert (e.keyword, e.vr, e.vm) == ("InternalOffsetToImage", "UL", "1-n")


# ---------------------------------------------------------------- generator helpers


def test_parse_helpers():
    assert gen.parse_tag("(60XX,0010)") == (0x60000010, 0xFF00FFFF)
    assert gen.parse_tag("(0028,04x0)") == (0x00280400, 0xFFFFFF0F)
    assert gen.parse_tag("(1010,XXXX)") == (0x10100000, 0xFFFF0000)
    assert gen.parse_tag("(0074,100a)") == (0x0074100A, 0xFFFFFFFF)  # lower-case hex
    with pytest.raises(ValueError):
        gen.parse_tag("(0074,10)")
    assert gen.parse_vr("US or SS or OW") == ("US", "SS", "OW")
    assert gen.parse_vr("See Note 2") == ()
    assert gen.parse_vr("See Note") == ()
    assert gen.parse_vr("") == ()
    assert gen.clean_text("Source Image I\u200bDs") == "Source Image IDs"
    assert gen.clean_text(" Length\u200bTo\u00a0End ") == "LengthTo End"


def test_parse_private_dic_ranges_and_overrides(tmp_path):
    p = tmp_path / "private.dic"
    p.write_text(
        "# comment\n"
        '(0009,"ME ",10)\tLO\tFirst\t1\tPrivateTag\n'
        '(0009,"ME",10)\tSH\tSecond\t1\tPrivateTag\n'
        '(6001-o-6003,"ME",20-22)\txs\tRanged\t1-n\tPrivateTag\n'
    )
    recs = gen.parse_private_dic(p)
    built = gen.build_private(recs)
    assert built[("ME", 0x0009, 0x0009, 1, 0x10)].keyword == "Second"  # later line wins
    ranged = [r for r in recs if r.keyword == "Ranged"]
    assert [r.element for r in ranged] == [0x20, 0x21, 0x22]
    assert ranged[0].vrs == ("US", "SS") and ranged[0].group_step == 2


@pytest.mark.skipif(not XML_2013.exists(), reason=f"{XML_2013} (NEMA PS3.6 2013 DocBook XML) not available")
def test_parse_part6_xml_2013():
    edition, recs = gen.parse_part6_xml(XML_2013)
    assert edition == "2013"
    by = {(r.base, r.mask): r for r in recs}
    assert len(recs) > 3700
    for r in recs:
        assert "\u200b" not in r.keyword and "\u200b" not in r.name, r
        assert r.keyword == "" or re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", r.keyword), r
    full = gen.FULL_MASK
    r = by[(0x00080005, full)]
    assert (r.keyword, r.name, r.vrs, r.vm, r.retired) == (
        "SpecificCharacterSet", "Specific Character Set", ("CS",), "1-n", False)
    r = by[(0x00080001, full)]
    assert (r.keyword, r.retired) == ("LengthToEnd", True)
    r = by[(0x00203100, 0xFFFFFF00)]  # (0020,31xx); name has a ZWSP inside "IDs"
    assert (r.keyword, r.name) == ("SourceImageIDs", "Source Image IDs")
    r = by[(0x60003000, 0xFF00FFFF)]
    assert (r.keyword, r.vrs) == ("OverlayData", ("OB", "OW"))
    assert by[(0x0074100A, full)].keyword == "ContactURI"  # lower-case hex in the XML
    assert by[(0x00281200, full)].vrs == ("US", "SS", "OW")
    assert by[(0x00281200, full)].vm == "1-n or 1"
    item = by[(0xFFFEE000, full)]  # VR "See Note"
    assert (item.keyword, item.vrs) == ("Item", ())
    nothing = by[(0x00280020, full)]  # "RET - See Note", no VR / keyword
    assert (nothing.keyword, nothing.vrs, nothing.vm, nothing.retired) == ("", (), "", True)
    assert by[(0x00020010, full)].keyword == "TransferSyntaxUID"  # table 7-1
    assert by[(0x00041130, full)].keyword == "FileSetID"  # table 8-1
    # DICONDE / DICOS rows are not retired
    assert any(not r.retired for r in recs if r.base >> 16 == 0x0014)
    # everything the 2013 edition lists is still in the 2024e dictionary (never deleted)
    for (base, mask), r in by.items():
        if mask == full:
            assert base in d._ENTRIES, hex(base)


# ---------------------------------------------------------------- regeneration


def test_generation_is_deterministic_and_matches_committed():
    a = gen.generate(gen.DEFAULT_JSON, None, gen.DEFAULT_PRIVATE, warn=lambda m: None)
    b = gen.generate(gen.DEFAULT_JSON, None, gen.DEFAULT_PRIVATE, warn=lambda m: None)
    assert a == b
    for name, text in a.items():
        assert (PKG_DIR / name).read_text(encoding="utf-8") == text, name


def _run_check(*args):
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--check", *args],
        capture_output=True, text=True, cwd=ROOT,
    )


def test_check_passes_on_committed_module():
    res = _run_check()
    assert res.returncode == 0, res.stderr
    assert "OK" in res.stdout


def test_check_fails_on_altered_module(tmp_path):
    out = tmp_path / "dictionary"
    out.mkdir()
    for name in ("_standard.py", "_private.py"):
        shutil.copy(PKG_DIR / name, out / name)
    assert _run_check("--out-dir", str(out)).returncode == 0  # the copy is still good
    std = out / "_standard.py"
    text = std.read_text(encoding="utf-8")
    altered = text.replace("00100010|PN|1|K|PatientName|", "00100010|LO|1|K|PatientName|", 1)
    assert altered != text
    std.write_text(altered, encoding="utf-8")
    res = _run_check("--out-dir", str(out))
    assert res.returncode == 1
    assert "out of date" in res.stderr and "_standard.py" in res.stderr
    std.unlink()
    res = _run_check("--out-dir", str(out))
    assert res.returncode == 1 and "missing" in res.stderr


def test_check_fails_when_source_changes(tmp_path):
    src = tmp_path / "attributes_2024e.json"
    text = gen.DEFAULT_JSON.read_text(encoding="utf-8")
    src.write_text(text.replace('"name":"Patient\'s Name"', '"name":"Patients Name"', 1), encoding="utf-8")
    assert src.read_text(encoding="utf-8") != text
    res = _run_check("--json", str(src))
    assert res.returncode == 1


# ---------------------------------------------------------------- cross-checks


def test_agrees_with_pydicom():
    pytest.importorskip("pydicom")
    from pydicom.datadict import DicomDictionary, RepeatersDictionary

    compared = 0
    newer = []  # pydicom 3.0.x follows a later edition than 2024e
    for tag, (vr, vm, _name, _ret, kw) in DicomDictionary.items():
        if tag >> 16 == 0:  # command group: PS3.7, not in PS3.6
            continue
        e = d.lookup(tag)
        if e is None:
            newer.append(tag)
            continue
        if not e.vrs:  # pydicom invents OB for the VR-less retired entries
            continue
        assert e.vrs == tuple(v.strip() for v in vr.split(" or ")) or vr == "NONE" and e.vrs == (), hex(tag)
        assert e.keyword == kw, hex(tag)
        compared += 1
    assert compared > 4500
    assert len(newer) < 50, [hex(t) for t in newer]
    for mask_str, (vr, _vm, _name, _ret, kw) in RepeatersDictionary.items():
        base = int(mask_str.lower().replace("x", "0"), 16)
        tag = d.tag_for_keyword(kw)
        assert tag is not None, mask_str
        e = d.lookup(tag)
        assert e is not None and e.keyword == kw and e.tag == base, mask_str
        assert e.vrs == tuple(v.strip() for v in vr.split(" or ")), mask_str


def test_package_does_not_import_pydicom():
    code = "import sys, dicom2ion.dictionary as d; d.lookup_private('ACUSON', 9, 0); assert 'pydicom' not in sys.modules"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
