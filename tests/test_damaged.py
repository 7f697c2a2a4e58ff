"""Damaged files (issue 12): the hand-made damaged_*.dcm fixtures, the salvage
read that converts them losslessly, ``--strict`` that refuses them with the
strict reader's errors, and the regressions tools/fuzz.py found.

A salvage read keeps what the strict grammar refuses as raw bytes in place
(``wire.unparsed``) and lists each problem in the document's ``damage``; the
rebuild is byte for byte, and a salvage re-read of the rebuilt file gives
the same events as a read of the original.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicom2ion import Dicom2IonError, DicomParseError, convert, dump, load, to_dicom_bytes
from dicom2ion.cli import main
from dicom2ion.events import DAMAGE_KINDS, Damage, Unparsed
from dicom2ion.p10.source import iter_events

from test_fixtures import ENTRIES, path_of, read

DAMAGED = sorted(name for name in ENTRIES if name.startswith("damaged_"))
# the other broken fixtures that are DICOM (a preamble or a first element read)
SALVAGED = DAMAGED + ["truncated_value.dcm", "truncated_in_sequence.dcm",
                      "length_past_end.dcm", "deep_nesting.dcm"]


def round_trip(path, **options) -> str:
    """"refused", "exact" or "DIFFERENT": convert, binary Ion, load, to-dicom
    (the property tools/fuzz.py checks; any other exception propagates)."""
    try:
        doc = convert(path, **options)
    except Dicom2IonError:
        return "refused"
    buffer = io.BytesIO()
    dump(doc, buffer, binary=True)
    try:
        rebuilt = to_dicom_bytes(load(buffer.getvalue()), source=str(path), check=False,
                                 bulk_dir=options.get("bulk_dir"))
    except Dicom2IonError:
        return "DIFFERENT"
    with open(path, "rb") as fp:
        return "exact" if rebuilt == fp.read() else "DIFFERENT"


def refusal(data: bytes, **options) -> DicomParseError:
    """The strict error converting ``data`` raises, streamed whole and in 7-byte
    chunks (the two must agree)."""
    with pytest.raises(DicomParseError) as whole:
        convert(data, strict=True, **options)
    chunks = (data[i:i + 7] for i in range(0, len(data), 7))
    with pytest.raises(DicomParseError) as streamed:
        for _ in iter_events(chunks, strict=True):
            pass
    assert streamed.value.offset == whole.value.offset
    return whole.value


def salvage_events(data: bytes, **options) -> list:
    return list(iter_events(data, strict=False, **options))


# The damage classes of issue 12 and those tools/fuzz.py found.
CLASSES = {
    "lost-sequence-header", "stray-item", "delimiter-after-data-set", "truncated-in-item",
    "truncated-in-fragments", "cut-in-header", "meta-length-lies", "meta-element-missing",
    "garbage-in-data-set", "length-past-end",
    "meta-sequence", "meta-element-in-data-set", "deflate-truncated",
}


def test_every_damage_class_has_a_fixture():
    assert {ENTRIES[name]["damage"]["class"] for name in DAMAGED} == CLASSES
    assert len(DAMAGED) == 17 and not any(ENTRIES[name]["valid"] for name in DAMAGED)


@pytest.mark.parametrize("name", DAMAGED)
def test_strict_refuses_each_damaged_fixture_at_its_offset(name):
    """``strict=True`` (``--strict``): a DicomParseError at the manifest's
    offset, whole and streamed."""
    entry = ENTRIES[name]
    error = refusal(read(name))
    assert error.offset == entry["error"]["offset"], str(error)
    assert entry["error"]["message"] in str(error)


@pytest.mark.parametrize("name", SALVAGED)
@pytest.mark.parametrize("options", [{}, {"inline_all": True}, {"bulk_dir": "BULK"},
                                     {"standard_limit": 0, "private_limit": 0}])
def test_damaged_fixture_converts_reports_and_rebuilds(name, options, tmp_path):
    if options.get("bulk_dir"):
        options = {"bulk_dir": str(tmp_path / "bulk")}
    doc = convert(path_of(name), **options)
    damage = doc["damage"]
    assert damage, "reported damaged"
    for record in damage:
        assert set(record) == {"offset", "path", "kind", "message"}
        assert record["kind"] in DAMAGE_KINDS and record["message"]
    error = ENTRIES[name]["error"]
    assert error["offset"] in [r["offset"] for r in damage], damage
    assert round_trip(path_of(name), **options) == "exact"


@pytest.mark.parametrize("name", SALVAGED)
def test_salvage_events_do_not_depend_on_chunking_and_reread_equal(name):
    data = read(name)
    whole = salvage_events(data)
    for size in (1, 7, 100):
        pieces = [data[i:i + size] for i in range(0, len(data), size)]
        assert list(iter_events(pieces, strict=False, total_size=len(data))) == whole, size
    assert list(iter_events(data, strict=False, chunk_threshold=4, chunk_size=3)) != whole
    doc = convert(data)
    rebuilt = to_dicom_bytes(doc, source=str(path_of(name)))
    assert salvage_events(rebuilt) == whole


def test_raw_bytes_are_kept_in_place_and_elements_after_them_read():
    """Garbage in the data set used to hide every element after it (kept as
    trailing bytes): now the garbage alone is raw, and PatientName is read."""
    name = "damaged_garbage_in_data_set.dcm"
    at = ENTRIES[name]["damage"]["offset"]
    doc = convert(path_of(name))
    assert doc["dataSet"]["Modality"] == "OT" and "PatientName" in doc["dataSet"]
    assert "trailing" not in doc["wire"]
    (record,) = doc["wire"]["unparsed"]
    assert record == {"at": "", "index": record["index"], "dataOffset": at,
                      "data": read(name)[at:at + 16]}
    assert doc["damage"][0]["kind"] == "unparsed"


def test_stray_item_tags_are_raw_and_the_item_content_is_read():
    name = "damaged_lost_sequence_header.dcm"
    at = ENTRIES[name]["damage"]["offset"]
    doc = convert(path_of(name))
    assert doc["damage"][0] == {"offset": at, "path": "(FFFE,E000)", "kind": "stray-delimiter",
                                "message": "item tag outside a sequence"}
    assert "ReferencedSOPClassUID" in doc["dataSet"]      # the lost item's elements
    assert [bytes(r["data"])[:4] for r in doc["wire"]["unparsed"]] == [b"\xfe\xff\x00\xe0"]


def test_a_value_cut_by_the_end_keeps_its_length_and_bytes():
    name = "damaged_length_past_end.dcm"
    data = read(name)
    doc = convert(data, inline_all=True)
    events = salvage_events(data)
    cut = next(e for e in events if getattr(e, "length", 0) == 4096)
    assert len(cut.value) == 4096 - 4064 and data.endswith(cut.value)
    key = "%08X" % cut.tag
    assert doc["wire"]["elements"][key]["length"] == 4096
    assert doc["damage"][0]["kind"] == "truncated"


def test_containers_open_at_the_end_close_truncated_without_delimiters():
    data = read("damaged_truncated_in_item.dcm")
    events = salvage_events(data)
    ends = [e for e in events if type(e).__name__ in ("ItemEnd", "SequenceEnd")]
    assert ends and all(e.truncated and not e.delimited for e in ends)
    assert to_dicom_bytes(convert(data), source=str(path_of("damaged_truncated_in_item.dcm"))) \
        == data


def test_not_dicom_at_all_stays_refused():
    for name in ("empty.dcm", "garbage_1k.dcm"):
        with pytest.raises(DicomParseError, match="not a DICOM file|past the end|truncated"):
            convert(path_of(name))
    assert round_trip(path_of("preamble_only.dcm")) == "exact"   # DICM, then nothing
    assert convert(path_of("preamble_only.dcm"))["damage"][0]["kind"] == "truncated"


def test_too_many_problems_keep_the_rest_raw():
    data = read("damaged_lost_sequence_header.dcm")
    at = ENTRIES["damaged_lost_sequence_header.dcm"]["damage"]["offset"]
    stray = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    many = data[:at] + stray * 50 + data[at:]
    events = salvage_events(many, max_problems=5)
    damage = [e for e in events if type(e) is Damage]
    assert len(damage) == 6 and damage[-1].kind == "too-many-problems"
    raw = b"".join(e.value for e in events if type(e) is Unparsed)
    assert raw == many[at:at + len(raw)] and at + len(raw) == len(many)


# -- the command line -------------------------------------------------------------------
def test_convert_prints_damaged_and_strict_refuses(tmp_path, capsys):
    src = path_of("damaged_truncated_in_item.dcm")
    out = tmp_path / "x.ion"
    assert main(["convert", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"damaged  {src}: 1 problem (first: offset 492, tag " in err, err
    assert main(["convert", str(src), "-o", str(tmp_path / "y.ion"), "--strict"]) == 1
    err = capsys.readouterr().err
    assert "offset 492" in err and "truncated" in err
    assert not (tmp_path / "y.ion").exists()


def test_verify_says_identical_and_damaged(capsys):
    src = path_of("damaged_garbage_in_data_set.dcm")
    assert main(["verify", str(src)]) == 0
    out = capsys.readouterr().out
    assert f"identical  {src} (damaged: 1 problem)" in out, out
    assert main(["verify", str(src), "--strict"]) != 0


def test_dump_lists_a_damaged_file_with_its_problems_where_they_are(capsys):
    src = path_of("damaged_truncated_in_item.dcm")
    assert main(["dump", str(src)]) == 0
    lines = capsys.readouterr().out.splitlines()
    damage = next(i for i, line in enumerate(lines) if "# damage (truncated)" in line)
    assert lines[damage].split()[0] == "492" and "(0008,1140)/(0008,1155)" in lines[damage]
    assert "ReferencedSOPInstanceUID" in lines[damage + 1]     # the cut value is still listed
    assert [line.split("#", 1)[1].strip() for line in lines[damage + 2:]] == [
        "item cut off here (no delimiter)", "sequence cut off here (no delimiter)", "end"]
    assert main(["dump", "--strict", str(src)]) == 1
    assert "offset 492" in capsys.readouterr().err


def test_dump_shows_the_raw_bytes_kept_between_elements(capsys):
    src = path_of("damaged_garbage_in_data_set.dcm")
    assert main(["dump", str(src)]) == 0
    out = capsys.readouterr().out
    unparsed = [line for line in out.splitlines() if "# unparsed:" in line]
    assert len(unparsed) == 1 and unparsed[0].split()[0] == "438", out
    assert "16 bytes kept as they are" in unparsed[0]
    assert "PatientName" in out.split("# unparsed:")[1]        # read on after them


# -- any bytes after a preamble ------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tail=st.one_of(st.binary(max_size=300),
                      st.builds(lambda a, b, c: read("example_ct.dcm")[132:][a:a + b] + c,
                                st.integers(0, 2000), st.integers(0, 600),
                                st.binary(max_size=40))))
def test_any_bytes_after_a_preamble_convert_and_rebuild_exactly_or_are_refused(tail):
    data = bytes(128) + b"DICM" + tail
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "x.dcm")
        with open(path, "wb") as fp:
            fp.write(data)
        try:
            doc = convert(path)
        except Dicom2IonError:
            with pytest.raises(Dicom2IonError):   # refused by any route, not by chance
                convert(data, inline_all=True)
            return
        buffer = io.BytesIO()
        dump(doc, buffer, binary=True)
        assert to_dicom_bytes(load(buffer.getvalue()), source=path) == data
    assert to_dicom_bytes(convert(data, inline_all=True)) == data


# -- regressions: what tools/fuzz.py found ------------------------------------------------
def test_sequence_in_the_meta_group_is_refused_strictly_and_kept_raw(tmp_path):
    """A meta element of undefined length used to leave its sequence open when
    the first item tag ended the meta group; the visitor then crashed with an
    AttributeError at End (fuzz seed 7, input 466)."""
    data = read("damaged_meta_sequence.dcm")
    error = refusal(data)
    assert error.offset == ENTRIES["damaged_meta_sequence.dcm"]["damage"]["offset"]
    assert error.path == (0x00020009,)
    assert "meta group cannot hold a sequence" in str(error)
    # the input ends right after the sequence header: this was the crash
    cut = error.offset + 12
    assert "meta group cannot hold a sequence" in str(refusal(data[:cut]))
    (tmp_path / "cut.dcm").write_bytes(data[:cut])
    assert round_trip(tmp_path / "cut.dcm") == "exact"
    # implicit VR: an undefined length in group 0002 is refused too
    head = data[:132] + bytes.fromhex("02000000 ffffffff") + bytes.fromhex("feff00e0 00000000")
    assert "meta group" in str(refusal(head))
    (tmp_path / "head.dcm").write_bytes(head)
    assert round_trip(tmp_path / "head.dcm") == "exact"


@pytest.mark.parametrize("name, tag", [("damaged_meta_in_data_set.dcm", 0x00020013),
                                       ("damaged_meta_group_number.dcm", 0x00020001)])
def test_meta_element_in_the_data_set_is_raw_not_moved(name, tag):
    """Group 0002 after the meta group ended used to be accepted and rebuilt
    inside the meta group (the document keeps no section boundary): the 1 %
    of mutants "accepted but different" at offsets 132-350 in issue 12. Strict
    refuses it; a salvage read keeps it raw where it stands."""
    error = refusal(read(name))
    assert error.path == (tag,)
    assert "file meta element in the data set" in str(error)
    doc = convert(path_of(name))
    assert doc["damage"][0]["kind"] == "meta-group"
    assert round_trip(path_of(name)) == "exact"


def test_meta_elements_in_items_are_not_damage(tmp_path):
    """Only the top level of the data set is the meta group's business: the
    same stray element inside a sequence item converts and rebuilds exactly."""
    data = read("damaged_meta_in_data_set.dcm")
    at = ENTRIES["damaged_meta_in_data_set.dcm"]["damage"]["offset"]
    stray = data[at:at + 22]
    assert stray[:4] == b"\x02\x00\x13\x00"
    nested = (struct.pack("<HH2sHL", 0x0008, 0x1140, b"SQ", 0, 8 + len(stray))
              + struct.pack("<HHL", 0xFFFE, 0xE000, len(stray)) + stray)
    path = tmp_path / "nested.dcm"
    path.write_bytes(data[:at] + nested + data[at + 22:])
    assert round_trip(path, strict=True) == "exact"


@pytest.mark.parametrize("name, tag", [("damaged_cut_in_pixel_header.dcm", 0x7FE00010),
                                       ("damaged_cut_in_meta_header.dcm", 0x00020013)])
def test_cut_inside_a_header_is_not_trailing_bytes(name, tag, tmp_path):
    """``head -c 6292 CT_small.dcm`` cuts 4 bytes into the PixelData header; those
    bytes used to be kept as trailing bytes and verify said identical. Every cut
    leaving 2 to 7 bytes of the next header is damage: refused strictly (4
    bytes and more name the tag), raw bytes of a truncation otherwise."""
    data = read(name)
    at = ENTRIES[name]["damage"]["offset"]
    error = refusal(data)
    assert error.offset == at and error.path == (tag,)
    for keep in range(2, 8):
        cut = data[:at] + _next_header(tag)[:keep]
        error = refusal(cut)
        assert error.offset == at
        assert f"{keep} bytes into an element header" in str(error)
        damage = [e for e in salvage_events(cut) if type(e) is Damage]
        assert (damage[0].offset, damage[0].kind) == (at, "truncated")
        (tmp_path / "cut.dcm").write_bytes(cut)
        assert round_trip(tmp_path / "cut.dcm") == "exact"


def _next_header(tag: int) -> bytes:
    vr = b"OW" if tag == 0x7FE00010 else b"SH"
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, 0)


@pytest.mark.parametrize("name", ["trailing_short.dcm", "trailing_garbage.dcm",
                                  "trailing_padding.dcm"])
def test_trailing_bytes_that_cannot_start_a_header_are_still_kept(name):
    assert round_trip(path_of(name), strict=True) == "exact"
    assert "damage" not in convert(path_of(name))


def test_cut_header_on_a_corpus_file(tmp_path):
    """The command from issue 12, when the corpus is there."""
    from conftest import CORPUS
    ct = CORPUS / "pydicom" / "test_files__CT_small.dcm"
    if not ct.is_file():
        pytest.skip("corpus absent")
    error = refusal(ct.read_bytes()[:6292])
    assert error.offset == 6288 and error.path == (0x7FE00010,)
    (tmp_path / "cut.dcm").write_bytes(ct.read_bytes()[:6292])
    doc = convert(tmp_path / "cut.dcm")
    assert doc["damage"][0]["offset"] == 6288 and "PixelData" not in doc["dataSet"]
    assert round_trip(tmp_path / "cut.dcm") == "exact"


def test_deflated_data_set_cut_between_elements_is_damage():
    """A deflated file cut where the inflated bytes happen to end between two
    elements used to convert, with a DeflateInfo of no level, and rebuild
    'identical' from the source bytes: the rest of the data set was gone and
    nothing said so. Now it is refused strictly, and reported damaged."""
    name = "damaged_deflate_truncated.dcm"
    error = refusal(read(name))
    assert error.offset == ENTRIES[name]["size"]
    assert "ends before its compressed stream does" in str(error)
    doc = convert(path_of(name))
    assert doc["damage"][0]["kind"] == "deflate"
    assert "level" not in doc["wire"]["deflate"]
    for whole in ("deflated_l6.dcm", "deflated_l1.dcm"):
        assert round_trip(path_of(whole), strict=True) == "exact"


def test_a_short_tail_after_the_meta_group_belongs_to_the_data_set(tmp_path):
    """4-7 bytes in group 0002 after the meta group that cannot start a meta
    header used to be trailing bytes of the meta group, with no data set;
    IonSource always writes the data set -- deflated here -- and put them inside
    it (fuzz seed 7, input 3962: rebuilt 355 bytes for 353). Now they are the
    data set's: deflated, the stream does not end (damage); not deflated,
    they are its trailing bytes and rebuild exactly."""
    name = "damaged_deflate_meta_tail.dcm"
    data = read(name)
    assert "ends before its compressed stream does" in str(refusal(data))
    assert round_trip(path_of(name)) == "exact"
    start = ENTRIES[name]["damage"]["offset"]
    plain = data[:start].replace(b"1.2.840.10008.1.2.1.99", b"1.2.840.10008.1.2.1\0\0\0")
    path = tmp_path / "plain.dcm"
    path.write_bytes(plain + data[start:])
    kinds = [type(e).__name__ for e in iter_events(path)]
    assert kinds[-3:] == ["DataSetStart", "Trailing", "End"]
    assert round_trip(path, strict=True) == "exact"


def test_a_lying_meta_group_length_is_damage_not_a_misreading():
    for name in ("damaged_meta_length_too_long.dcm", "damaged_meta_length_too_short.dcm",
                 "damaged_meta_element_missing.dcm"):
        doc = convert(path_of(name))
        (record,) = doc["damage"]
        assert record["kind"] == "meta-group" and record["path"] == "(0002,0000)"
        assert doc["dataSet"]["Modality"] == "OT"      # the data set is read as usual
        assert "unparsed" not in doc.get("wire", {})
