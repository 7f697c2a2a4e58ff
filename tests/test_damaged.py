"""Damaged files (issue 12): the hand-made damaged_*.dcm fixtures and the
regression tests of the silent differences and crashes that tools/fuzz.py
found.

Today's reader has no salvage mode, so each damaged fixture must be refused
with a DicomParseError that names the offset of the damage -- never a
traceback, and never accepted and rebuilt differently.
"""

from __future__ import annotations

import io
import struct

import pytest

from dicom2ion import Dicom2IonError, DicomParseError, convert, dump, load, to_dicom_bytes
from dicom2ion.p10.source import iter_events

from test_fixtures import ENTRIES, path_of, read

DAMAGED = sorted(name for name in ENTRIES if name.startswith("damaged_"))


def round_trip(path) -> str:
    """"refused", "exact" or "DIFFERENT": convert, binary Ion, load, to-dicom
    (the property tools/fuzz.py checks; any other exception propagates)."""
    try:
        doc = convert(path)
    except Dicom2IonError:
        return "refused"
    buffer = io.BytesIO()
    dump(doc, buffer, binary=True)
    try:
        rebuilt = to_dicom_bytes(load(buffer.getvalue()), source=str(path), check=False)
    except Dicom2IonError:
        return "DIFFERENT"
    with open(path, "rb") as fp:
        return "exact" if rebuilt == fp.read() else "DIFFERENT"


def refusal(data: bytes, **options) -> DicomParseError:
    """The error converting ``data`` raises, streamed whole and in 7-byte chunks
    (the two must agree)."""
    with pytest.raises(DicomParseError) as whole:
        convert(data, **options)
    chunks = (data[i:i + 7] for i in range(0, len(data), 7))
    with pytest.raises(DicomParseError) as streamed:
        for _ in iter_events(chunks):
            pass
    assert streamed.value.offset == whole.value.offset
    return whole.value


def test_every_damage_class_has_a_fixture():
    classes = {ENTRIES[name]["damage"]["class"] for name in DAMAGED}
    assert {"meta-sequence", "meta-element-in-data-set", "cut-in-header",
            "deflate-truncated"} <= classes


@pytest.mark.parametrize("name", DAMAGED)
def test_damaged_fixture_names_its_damage(name):
    entry = ENTRIES[name]
    damage = entry["damage"]
    assert isinstance(damage["offset"], int) and 0 <= damage["offset"] <= entry["size"]
    assert damage["class"]
    error = refusal(read(name))
    assert error.offset == entry["error"]["offset"], str(error)
    assert entry["error"]["message"] in str(error)


@pytest.mark.parametrize("name", DAMAGED)
def test_damaged_fixture_is_never_silently_different(name):
    assert round_trip(path_of(name)) in ("refused", "exact")


# -- regressions: what tools/fuzz.py found ------------------------------------------------
def test_sequence_in_the_meta_group_is_refused_not_a_crash(tmp_path):
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
    assert round_trip(tmp_path / "cut.dcm") == "refused"
    # implicit VR: an undefined length in group 0002 is refused too
    head = data[:132] + bytes.fromhex("02000000 ffffffff") + bytes.fromhex("feff00e0 00000000")
    assert "meta group" in str(refusal(head))


@pytest.mark.parametrize("name, tag", [("damaged_meta_in_data_set.dcm", 0x00020013),
                                       ("damaged_meta_group_number.dcm", 0x00020001)])
def test_meta_element_in_the_data_set_is_refused(name, tag):
    """Group 0002 after the meta group ended used to be accepted and rebuilt
    inside the meta group (the document keeps no section boundary): the 1 %
    of mutants "accepted but different" at offsets 132-350 in issue 12."""
    error = refusal(read(name))
    assert error.path == (tag,)
    assert "file meta element in the data set" in str(error)
    assert round_trip(path_of(name)) == "refused"


def test_meta_elements_in_items_are_not_refused(tmp_path):
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
    assert round_trip(path) == "exact"


@pytest.mark.parametrize("name, tag", [("damaged_cut_in_pixel_header.dcm", 0x7FE00010),
                                       ("damaged_cut_in_meta_header.dcm", 0x00020013)])
def test_cut_inside_a_header_is_not_trailing_bytes(name, tag):
    """``head -c 6292 CT_small.dcm`` cuts 4 bytes into the PixelData header; those
    bytes used to be kept as trailing bytes and verify said identical. Every cut
    leaving 2 to 7 bytes of the next header is refused (4 bytes and more name
    the tag)."""
    data = read(name)
    at = ENTRIES[name]["damage"]["offset"]
    error = refusal(data)
    assert error.offset == at and error.path == (tag,)
    for keep in range(2, 8):
        error = refusal(data[:at] + _next_header(tag)[:keep])
        assert error.offset == at
        assert f"{keep} bytes into an element header" in str(error)


def _next_header(tag: int) -> bytes:
    vr = b"OW" if tag == 0x7FE00010 else b"SH"
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, 0)


@pytest.mark.parametrize("name", ["trailing_short.dcm", "trailing_garbage.dcm",
                                  "trailing_padding.dcm"])
def test_trailing_bytes_that_cannot_start_a_header_are_still_kept(name):
    assert round_trip(path_of(name)) == "exact"


def test_cut_header_on_a_corpus_file(tmp_path):
    """The command from issue 12, when the corpus is there."""
    from conftest import CORPUS
    ct = CORPUS / "pydicom" / "test_files__CT_small.dcm"
    if not ct.is_file():
        pytest.skip("corpus absent")
    error = refusal(ct.read_bytes()[:6292])
    assert error.offset == 6288 and error.path == (0x7FE00010,)


def test_deflated_data_set_cut_between_elements_is_refused():
    """A deflated file cut where the inflated bytes happen to end between two
    elements used to convert, with a DeflateInfo of no level, and rebuild
    'identical' from the source bytes: the rest of the data set was gone and
    nothing said so."""
    name = "damaged_deflate_truncated.dcm"
    error = refusal(read(name))
    assert error.offset == ENTRIES[name]["size"]
    assert "ends before its compressed stream does" in str(error)
    for whole in ("deflated_l6.dcm", "deflated_l1.dcm"):
        assert round_trip(path_of(whole)) == "exact"


def test_a_short_tail_after_the_meta_group_belongs_to_the_data_set(tmp_path):
    """4-7 bytes in group 0002 after the meta group that cannot start a meta
    header used to be trailing bytes of the meta group, with no data set;
    IonSource always writes the data set -- deflated here -- and put them inside
    it (fuzz seed 7, input 3962: rebuilt 355 bytes for 353). Now they are the
    data set's: deflated, the stream does not end (refused); not deflated,
    they are its trailing bytes and rebuild exactly."""
    name = "damaged_deflate_meta_tail.dcm"
    data = read(name)
    assert "ends before its compressed stream does" in str(refusal(data))
    start = ENTRIES[name]["damage"]["offset"]
    plain = data[:start].replace(b"1.2.840.10008.1.2.1.99", b"1.2.840.10008.1.2.1\0\0\0")
    path = tmp_path / "plain.dcm"
    path.write_bytes(plain + data[start:])
    kinds = [type(e).__name__ for e in iter_events(path)]
    assert kinds[-3:] == ["DataSetStart", "Trailing", "End"]
    assert round_trip(path) == "exact"
