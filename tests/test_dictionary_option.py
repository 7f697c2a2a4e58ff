"""The data dictionary as an input parameter (``dictionary=``, ``--dictionary``).

A site private dictionary (DCMTK .dic) and PS3.6 extracts (JSON, DocBook XML)
change what is named and decoded; the document still rebuilds byte for byte
with only the built-in dictionary.
"""

from __future__ import annotations

import importlib.util
import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import dicom2ion
from dicom2ion import dictionary as d
from dicom2ion.dictionary import DictionaryError, load_dictionary
from dicom2ion.dictionary import sources

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SITE_DIC = DATA / "site_private.dic"
EXTRA_JSON = DATA / "attributes_extra.json"
EXTRA_XML = DATA / "part06_extra.xml"
# DCMTK's standard dictionary, beside the shared corpus (not committed: only its private.dic is)
DCMTK_DICOM = ROOT.parent / "shared" / "dictionary-sources" / "dcmtk_3.6.7_dicom.dic"


# -- a small implicit VR little endian file with private elements ---------------------

def _explicit(tag: int, vr: str, value: bytes) -> bytes:
    if vr in ("OB", "OW", "UN", "SQ", "UT", "UC", "UR", "OD", "OF", "OL", "OV", "SV", "UV"):
        return struct.pack("<HH2sHL", tag >> 16, tag & 0xFFFF, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(value)) + value


def _implicit(tag: int, value: bytes) -> bytes:
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, len(value)) + value


def _uid(text: str) -> bytes:
    data = text.encode()
    return data + b"\0" if len(data) % 2 else data


def implicit_file() -> bytes:
    meta_body = b"".join([
        _explicit(0x00020001, "OB", b"\0\1"),
        _explicit(0x00020002, "UI", _uid("1.2.840.10008.5.1.4.1.1.7")),
        _explicit(0x00020003, "UI", _uid("1.2.3.4.5")),
        _explicit(0x00020010, "UI", _uid("1.2.840.10008.1.2")),
    ])
    meta = _explicit(0x00020000, "UL", struct.pack("<L", len(meta_body))) + meta_body
    item = b"".join([_implicit(0x00290010, b"DICOM2ION SITE"),
                     _implicit(0x00291012, b"IN AN ITEM ")])
    sequence = struct.pack("<HHL", 0xFFFE, 0xE000, len(item)) + item
    body = b"".join([
        _implicit(0x00080016, _uid("1.2.840.10008.5.1.4.1.1.7")),
        _implicit(0x00080018, _uid("1.2.3.4.5")),
        _implicit(0x00100010, b"Doe^Jane"),
        _implicit(0x00189998, struct.pack("<3H", 7, 8, 9)),
        _implicit(0x00189999, struct.pack("<d", 1.25)),
        _implicit(0x00290010, b"DICOM2ION SITE"),
        _implicit(0x00290011, b"SOMEONE ELSE"),
        _implicit(0x00291010, b"2.5 "),
        _implicit(0x00291011, struct.pack("<3H", 1, 2, 3)),
        _implicit(0x00291012, b"SITE LABEL"),
        _implicit(0x00291013, struct.pack("<d", -0.5)),
        _implicit(0x00291014, struct.pack("<HH", 0x0010, 0x0020)),
        _implicit(0x00291015, b"1\\22\\333 "),
        _implicit(0x00291016, sequence),
        _implicit(0x00291020, b"\x01\x02"),          # not in the site dictionary
        _implicit(0x00291110, b"2.5 "),              # same offset, another creator
        _implicit(0x00300010, b"EXTRA LABEL "),
    ])
    return b"\0" * 128 + b"DICM" + meta + body


@pytest.fixture
def p10(tmp_path) -> Path:
    path = tmp_path / "implicit_private.dcm"
    path.write_bytes(implicit_file())
    return path


def _annotation(value):
    anns = getattr(value, "ion_annotations", ())
    return str(getattr(anns[0], "text", anns[0])) if anns else None


# -- the tables: one parser, one table builder ------------------------------------------

def test_runtime_tables_equal_the_generated_module():
    """The code that parses sources at run time builds exactly the tables the
    generator committed (the same code, not a copy)."""
    from dicom2ion.dictionary import _private, _standard

    built = sources.build_standard(sources.parse_attributes_json(
        ROOT / "dictionary" / "attributes_2024e.json"))
    assert sources.standard_tables(built) == (_standard.ENTRIES, _standard.MASKS, _standard.VR,
                                              _standard.KEYWORD, _standard.TAG)
    private = sources.private_tables(sources.build_private(sources.parse_private_dic(
        ROOT / "dictionary" / "dcmtk_3.6.7_private.dic")))
    assert private == (_private.PRIVATE, _private.PRIVATE_RANGES)


def test_generator_uses_the_package_parsers():
    spec = importlib.util.spec_from_file_location("regen", ROOT / "tools" / "regenerate_dictionary.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.parse_private_dic.__code__.co_filename.endswith(
        os.path.join("dicom2ion", "dictionary", "sources.py"))
    assert gen.build_standard.__code__.co_filename == gen.parse_private_dic.__code__.co_filename


def test_merged_dictionary_and_its_record():
    merged = load_dictionary([EXTRA_JSON, EXTRA_XML, SITE_DIC])
    assert merged.keyword_for(0x00189999) == "ExtraFloatValue"
    assert merged.tag_for_keyword("ExtraCount") == 0x00189998      # U+200B removed
    assert merged.vr_of(0x00300010) == "LO"
    assert merged.keyword_for(0x00100010) == "PatientName"          # built-in entries stay
    assert merged.lookup_private("DICOM2ION SITE", 0x0029, 0x10).vr == "DS"
    assert merged.lookup_private("GEMS_IDEN_01", 0x0009, 0x01) is not None
    assert d.keyword_for(0x00189999) is None                        # the built-in is untouched
    options = merged.options()
    assert [s["name"] for s in options["sources"]] == [
        "attributes_extra.json", "part06_extra.xml", "site_private.dic"]
    assert options["sha256"] != d.SOURCE_SHA256 and "2099a" in options["description"]
    assert d.BUILTIN.options() == {"description": d.EDITION, "sha256": d.SOURCE_SHA256}


def test_cached_by_path_and_mtime(tmp_path):
    dic = tmp_path / "site.dic"
    dic.write_text(SITE_DIC.read_text())
    first = load_dictionary([dic])
    assert load_dictionary([str(dic)]) is first
    dic.write_text(SITE_DIC.read_text().replace("SiteLabel", "SiteName"))
    os.utime(dic, ns=(1, 1_000_000_000))
    second = load_dictionary([dic])
    assert second is not first
    assert second.lookup_private("DICOM2ION SITE", 0x29, 0x12).keyword == "SiteName"


def test_dcmtk_standard_dic():
    if not DCMTK_DICOM.is_file():
        pytest.skip("DCMTK dicom.dic not available (../shared/dictionary-sources)")
    merged = load_dictionary([DCMTK_DICOM])
    assert merged.keyword_for(0x00000900) == "Status"      # command group: PS3.7, not PS3.6
    assert merged.vr_of(0x60020010) == "US"                # (6000-60FF,0010) as a mask
    renamed = [t for t, kw in merged.keywords().items() if d.keyword_for(t) not in (None, kw)]
    assert renamed                                         # DCMTK names some tags otherwise
    # (RETIRED_LengthToEnd): the new name finds the tag, and the built-in one still
    # does unless the file gives it to another tag
    assert all(merged.tag_for_keyword(merged.keyword_for(t)) == t for t in renamed)
    assert merged.tag_for_keyword("LengthToEnd") == 0x00080001
    assert sum(merged.tag_for_keyword(d.keyword_for(t)) == t for t in renamed) > len(renamed) // 2


def test_bad_dictionary_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.dic"
    bad.write_text('(0029,"X",10)\tQQ\tName\t1\tPrivateTag\n')
    with pytest.raises(DictionaryError, match=r"bad\.dic.*bad\.dic:1: unknown VR 'QQ'"):
        load_dictionary([bad])
    with pytest.raises(DictionaryError, match="missing.dic"):
        load_dictionary([tmp_path / "missing.dic"])
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(DictionaryError, match="no entries"):
        load_dictionary([empty])


# -- conversion ------------------------------------------------------------------------

def test_without_dictionary_private_values_stay_un(p10):
    doc = dicom2ion.convert(p10)
    assert _annotation(doc["dataSet"]["00291010"]) == "UN"
    assert "keywords" not in doc["options"]["dataDictionary"]


def test_site_dictionary_types_implicit_private_values(p10):
    doc = dicom2ion.convert(p10, dictionary=[SITE_DIC])
    data = doc["dataSet"]
    assert (_annotation(data["00291010"]), str(data["00291010"])) == ("DS", "2.5")
    assert _annotation(data["00291011"]) == "US" and bytes(data["00291011"]) == b"\1\0\2\0\3\0"
    assert (_annotation(data["00291012"]), str(data["00291012"])) == ("LO", "SITE LABEL")
    assert (_annotation(data["00291013"]), float(data["00291013"])) == ("FD", -0.5)
    assert (_annotation(data["00291014"]), str(data["00291014"])) == ("AT", "00100020")
    assert _annotation(data["00291016"]) == "SQ"
    item = data["00291016"][0]
    assert (_annotation(item["00291012"]), str(item["00291012"])) == ("LO", "IN AN ITEM")
    assert _annotation(data["00291020"]) == "UN"       # not in the site dictionary
    assert _annotation(data["00291110"]) == "UN"       # another creator's block
    recorded = doc["options"]["dataDictionary"]
    assert recorded["sources"][0]["name"] == "site_private.dic"
    assert recorded["sha256"] == load_dictionary([SITE_DIC]).sha256

    ds = dicom2ion.read(doc)
    assert ds[0x00291010] == 2.5 and ds[0x00291011] == [1, 2, 3]
    assert ds[0x00291015] == [1, 22, 333]
    assert ds.private("DICOM2ION SITE", 0x0029, 0x13) == -0.5


def test_site_dictionary_document_rebuilds_without_it(p10, tmp_path):
    original = p10.read_bytes()
    doc = dicom2ion.convert(p10, dictionary=[SITE_DIC, EXTRA_JSON])
    assert dicom2ion.to_dicom_bytes(doc) == original
    for binary in (True, False):
        out = io.BytesIO()
        dicom2ion.dump(doc, out, binary=binary, pretty=not binary)
        assert dicom2ion.to_dicom_bytes(dicom2ion.load(out.getvalue())) == original
    assert dicom2ion.to_dicom_bytes(doc, canonical=True)      # values alone are valid too


def test_extract_names_a_new_tag(p10):
    doc = dicom2ion.convert(p10, dictionary=[EXTRA_JSON, EXTRA_XML])
    data = doc["dataSet"]
    assert float(data["ExtraFloatValue"]) == 1.25 and _annotation(data["ExtraFloatValue"]) == "FD"
    assert str(data["ExtraLabel"]) == "EXTRA LABEL"
    assert _annotation(data["ExtraLabel"]) == "LO"            # judged against the built-in
    assert bytes(data["ExtraCount"]) == struct.pack("<3H", 7, 8, 9)
    assert dict(doc["options"]["dataDictionary"]["keywords"]) == {
        "ExtraCount": "00189998", "ExtraFloatValue": "00189999", "ExtraLabel": "00300010"}
    out = io.BytesIO()
    dicom2ion.dump(doc, out)
    loaded = dicom2ion.load(out.getvalue())
    assert dicom2ion.to_dicom_bytes(loaded) == p10.read_bytes()
    ds = dicom2ion.read(loaded)                   # the document's own names, no dictionary
    assert ds.ExtraFloatValue == 1.25 and ds["ExtraCount"] == [7, 8, 9]
    assert ds.keyword(0x00189999) == "ExtraFloatValue"


def test_read_and_dicom_json_with_a_dictionary(p10):
    ds = dicom2ion.read(p10, dictionary=[SITE_DIC, EXTRA_JSON])
    assert ds.keyword(0x00291010) == "SiteSliceThickness" and ds.ExtraLabel == "EXTRA LABEL"
    model = dicom2ion.to_dicom_json(p10, dictionary=[SITE_DIC])
    assert model["00291010"] == {"vr": "DS", "Value": [2.5]}
    assert model["00291011"] == {"vr": "US", "Value": [1, 2, 3]}
    assert dicom2ion.to_dicom_json(p10)["00291010"]["vr"] == "UN"


def test_cli_dictionary_option(p10, tmp_path):
    out = tmp_path / "x.ion"
    rebuilt = tmp_path / "rebuilt.dcm"
    cli = [sys.executable, "-m", "dicom2ion"]
    run = subprocess.run(cli + ["convert", str(p10), "-o", str(out), "--dictionary", str(SITE_DIC),
                                "--dictionary", str(EXTRA_JSON)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    doc = dicom2ion.load(out)
    assert _annotation(doc["dataSet"]["00291010"]) == "DS" and "ExtraLabel" in doc["dataSet"]
    run = subprocess.run(cli + ["to-dicom", str(out), "-o", str(rebuilt)], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert rebuilt.read_bytes() == p10.read_bytes()
    run = subprocess.run(cli + ["verify", str(p10), "--dictionary", str(SITE_DIC)],
                         capture_output=True, text=True)
    assert run.returncode == 0 and "identical" in run.stdout, run.stdout + run.stderr
    dump = subprocess.run(cli + ["dump", str(p10), "--dictionary", str(SITE_DIC)],
                          capture_output=True, text=True)
    assert dump.returncode == 0, dump.stderr
    line = next(l for l in dump.stdout.splitlines() if "SiteSliceThickness" in l)
    assert "(0029,1010) DS [2.5]" in line          # the dictionary's VR, as dcmdump shows it
    json_out = tmp_path / "x.json"
    run = subprocess.run(cli + ["convert", str(p10), "-o", str(json_out), "--format", "dicom-json",
                                "--dictionary", str(SITE_DIC)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    import json
    assert json.loads(json_out.read_text())["00291011"] == {"vr": "US", "Value": [1, 2, 3]}
    bad = tmp_path / "bad.dic"
    bad.write_text("not a dictionary line\n")
    run = subprocess.run(cli + ["convert", str(p10), "-o", str(tmp_path / "y.ion"),
                                "--dictionary", str(bad)], capture_output=True, text=True)
    assert run.returncode == 2 and "bad.dic:1" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "y.ion").exists()


# -- the corpus ----------------------------------------------------------------------------

from conftest import CORPUS, good_corpus_files  # noqa: E402

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not available")


@needs_corpus
def test_schema_example_ge_private_ss(tmp_path):
    # SCHEMA.md 3.3: a site dictionary gives the implicit file the explicit file's VR
    dic = tmp_path / "ge.dic"
    dic.write_text('(0043,"GEMS_PARM_01",12)\tSS\tGEMSParm12\t3\tPrivateTag\n')
    base = CORPUS / "dagcom" / "encoding-variants__transfer-syntax__CT1_UNC."
    implicit = base.with_name(base.name + "implicit_little_endian.dcm")
    explicit = dicom2ion.convert(base.with_name(base.name + "explicit_little_endian.dcm"))
    doc = dicom2ion.convert(implicit, dictionary=dic)
    value = doc["dataSet"]["00431012"]
    assert _annotation(value) == "SS" == _annotation(explicit["dataSet"]["00431012"])
    assert bytes(value) == bytes(explicit["dataSet"]["00431012"])
    assert dicom2ion.to_dicom_bytes(doc) == implicit.read_bytes()


@needs_corpus
def test_corpus_with_dcmtk_dictionaries_rebuilds_without_them():
    """DCMTK's private.dic as a site dictionary types many implicit private
    elements, and its dicom.dic changes standard entries: every corpus file
    still rebuilds byte for byte from the binary Ion, with no dictionary."""
    given = [ROOT / "dictionary" / "dcmtk_3.6.7_private.dic"]
    if DCMTK_DICOM.is_file():
        given.append(DCMTK_DICOM)
    changed = 0
    for path in good_corpus_files():
        doc = dicom2ion.convert(path, dictionary=given)
        out = io.BytesIO()
        dicom2ion.dump(doc, out)
        assert dicom2ion.to_dicom_bytes(dicom2ion.load(out.getvalue())) == path.read_bytes(), path
        changed += doc["dataSet"] != dicom2ion.convert(path)["dataSet"]
    assert changed >= 10          # the dictionaries did change documents


def test_shallow_read_finds_the_documents_own_names(p10, tmp_path):
    ion = tmp_path / "x.ion"
    dicom2ion.convert_to(p10, ion, dictionary=[EXTRA_JSON])
    for fields in (["ExtraFloatValue", "PatientName"], [0x00189999, "PatientName"]):
        doc = dicom2ion.load(ion, fields=fields)
        assert sorted(doc["dataSet"]) == ["ExtraFloatValue", "PatientName"]
        assert float(doc["dataSet"]["ExtraFloatValue"]) == 1.25
    text = tmp_path / "x.txt"
    dicom2ion.convert_to(p10, text, binary=False, dictionary=[EXTRA_JSON])
    assert list(dicom2ion.load(text, fields=["ExtraLabel"])["dataSet"]) == ["ExtraLabel"]
    assert dicom2ion.read(ion, fields=[0x00300010]).ExtraLabel == "EXTRA LABEL"
    with pytest.raises(ValueError, match="NoSuchKeyword"):
        dicom2ion.load(ion, fields=["NoSuchKeyword"])


def test_resume_converts_again_when_the_dictionary_changes(p10, tmp_path, capsys):
    from dicom2ion.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    p10.rename(folder / "a.dcm")
    dic = tmp_path / "site.dic"
    dic.write_text(SITE_DIC.read_text())
    out = tmp_path / "out"
    command = ["convert", str(folder), "-o", str(out), "--dictionary", str(dic), "--engine",
               "serial"]
    assert main(command) == 0
    assert main(command) == 0
    assert "1 unchanged" in capsys.readouterr().err
    dic.write_text(SITE_DIC.read_text().replace("DS\tSiteSliceThickness", "LO\tSiteSliceThickness"))
    os.utime(dic, ns=(1, 2_000_000_000))     # (the same size: the cache sees the mtime)
    assert main(command) == 0
    assert "1 converted" in capsys.readouterr().err
    doc = dicom2ion.load(out / "in" / "a.dcm.ion") if (out / "in").is_dir() else \
        dicom2ion.load(out / "a.dcm.ion")
    assert _annotation(doc["dataSet"]["00291010"]) == "LO"


# -- property: whatever a site dictionary says, the rebuild is exact ------------------------

from hypothesis import given  # noqa: E402

from strategies import p10_samples  # noqa: E402

_VRS = ("DS", "IS", "US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "AT", "LO", "SH", "PN",
        "DA", "TM", "DT", "UI", "CS", "AE", "AS", "LT", "ST", "UT", "UC", "UR", "OB", "OW",
        "OF", "OD", "OL", "OV", "SQ", "UN", "ox", "xs")


@pytest.fixture(scope="module")
def every_private_vr(tmp_path_factory) -> Path:
    """A .dic giving every offset of the test strategies' private creators a VR,
    in every odd group."""
    lines = []
    for creator in ("ACME 1.0", "SIEMENS CSA HEADER", "GEMS_IDEN_01", "X", "Odd creator",
                    "PADDED"):
        for off in range(0x100):
            vr = _VRS[(off + len(creator)) % len(_VRS)]
            lines.append(f'(0009-o-FFFF,"{creator}",{off:02X})\t{vr}\tP{off:02X}\t1-n\tPrivateTag')
    path = tmp_path_factory.mktemp("dic") / "every_vr.dic"
    path.write_text("\n".join(lines) + "\n")
    return path


@given(sample=p10_samples())
def test_any_site_dictionary_keeps_the_rebuild_exact(every_private_vr, sample):
    doc = dicom2ion.convert(sample.data, inline_all=True, dictionary=[every_private_vr])
    for binary in (True, False):
        out = io.BytesIO()
        dicom2ion.dump(doc, out, binary=binary)
        rebuilt = dicom2ion.to_dicom_bytes(dicom2ion.load(out.getvalue()))
        assert rebuilt == sample.data, sample.description


def test_a_keyword_moved_to_another_tag_names_neither_twice(tmp_path):
    """A dictionary that gives a built-in keyword (PatientID, 0010,0020) to a
    lower tag: that tag takes the name, (0010,0020) is named by 8 hex digits,
    and the document still rebuilds with the built-in dictionary."""
    moved = tmp_path / "moved.json"
    moved.write_text('[{"tag": "(0010,0001)", "name": "Moved", "keyword": "PatientID", '
                     '"valueRepresentation": "LO", "valueMultiplicity": "1", "retired": "N"}]')
    data = implicit_file()
    cut = data.index(struct.pack("<HH", 0x0018, 0x9998))      # after PatientName
    data = (data[:cut] + _implicit(0x00100001, b"MOVED ") + _implicit(0x00100020, b"PID ")
            + data[cut:])
    doc = dicom2ion.convert(data, dictionary=[moved])
    names = list(doc["dataSet"])
    assert str(doc["dataSet"]["PatientID"]) == "MOVED" and "00100020" in names
    assert dict(doc["options"]["dataDictionary"]["keywords"]) == {"PatientID": "00100001"}
    out = io.BytesIO()
    dicom2ion.dump(doc, out)
    assert dicom2ion.to_dicom_bytes(dicom2ion.load(out.getvalue())) == data
